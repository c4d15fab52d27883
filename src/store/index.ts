/** auditx/store: the PostgreSQL store of audit entries, its schema and the shipper that fills it from the trail. */
export type { ShipBacklog, ShipFolderStats, ShipLag, ShipState, ShipStats } from "../api/shipping.js";
export { COPY_COLUMNS, FIELD_COLUMNS } from "./columns.js";
export type { PostgresTarget } from "./connect.js";
export { type CopyRow, copyRowOf, type RowDefaults } from "./copyRow.js";
export { type PrunedPartition, type PruneOptions, pruneStore } from "./retention.js";
export { type ShipEvent, type ShipFolder, Shipper, type ShipperOptions } from "./Shipper.js";
export { DEFAULT_SCHEMA, type InitStoreOptions, initStore, readStoreInfo, SCHEMA_VERSION, type StoreInfo, StoreNames } from "./schema.js";
