/** auditx: ERP-grade audit logging on the OpenTelemetry Logs SDK. */
export { AuditLogger } from "./api/AuditLogger.js";
export type { AuditStats } from "./api/AuditPipeline.js";
export { audit, configure, createLogger } from "./api/configure.js";
export { type AuditProcessors, createAuditProcessors } from "./api/createAuditProcessors.js";
export type {
  AuditingEntryOptions,
  AuditingOptions,
  AuditLoggerOptions,
  ChangeOptions,
  CustomLogOptions,
  EntryOptions,
  InventoryOptions,
  LevelInput,
  OtlpOptions,
  RateLimitOptions,
  RedactCensor,
  RedactOption,
  RedactOptions,
  RedactRule,
  ServiceOptions,
  TransactionOptions,
} from "./api/options.js";
export { RequestContext, type RequestContextFields, type RequestContextSnapshot } from "./api/RequestContext.js";
export type {
  PostgresClientSettings,
  ShipBacklog,
  ShipFolderStats,
  ShipLag,
  ShipOptions,
  ShipState,
  ShipStats,
} from "./api/shipping.js";
export { AuditEntry, type AuditEntryDict, type AuditEntryFields } from "./entry/AuditEntry.js";
export * as attributes from "./entry/attributes.js";
export { entryFromDict } from "./entry/entryFromDict.js";
export { entryIdOf } from "./entry/entryId.js";
export { AuditAction, BusinessModule, LogLevel, SEVERITY_NUMBER } from "./entry/enums.js";
export { AuditConfigError, AuditInputError, AuditWriteError } from "./entry/errors.js";
export { TRAIL_FIELDS } from "./entry/fields.js";
export type { ImportOptions } from "./entry/importedEntry.js";
export type { JsonObject, JsonValue } from "./entry/json.js";
export { entryToDict, entryToJsonLine } from "./entry/jsonl.js";
export { entryFromLogRecord, entryToAttributes } from "./entry/otel.js";
export { AppLogExporter } from "./exporters/AppLogExporter.js";
export { JsonlFileExporter } from "./exporters/JsonlFileExporter.js";
export { ChangeAuditError } from "./integrations/changes/ChangeAuditError.js";
export type { ChangeCaptureOptions, EntityCaptureOptions, FailurePolicy } from "./integrations/changes/options.js";
export { createOutboxTableSql, type OutboxDialect } from "./integrations/changes/outbox.js";
export {
  type ChainSummary,
  type IntegrityProblem,
  type IntegrityProblemKind,
  type VerifyOptions,
  type VerifyReport,
  verifyTrail,
} from "./integrity/verifyTrail.js";
export type { OtlpExportStats } from "./otlp/OtlpExportProcessor.js";
export {
  AuditHub,
  type AuditHubOptions,
  defaultHub,
  type HubEvent,
  type HubListener,
  type HubSource,
  hubFor,
} from "./processors/AuditHub.js";
export { CallbackProcessor } from "./processors/CallbackProcessor.js";
export { ConsoleProcessor } from "./processors/ConsoleProcessor.js";
export { HubProcessor } from "./processors/HubProcessor.js";
export {
  type OutboxConnection,
  OutboxRelay,
  type OutboxRelayOptions,
  type OutboxRelayStats,
  pgOutbox,
  sqliteOutbox,
} from "./store/OutboxRelay.js";

// The `ship` option's PostgreSQL shipper (loaded only when a logger ships).
import "./store/register.js";
