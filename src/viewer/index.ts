/** auditx/web: the read-only audit trail viewer (Express app, REST API, live streams). */
export { AuditViewer, type AuditViewerOptions, type HubConnectable } from "./AuditViewer.js";
export { type AuditViewerApp, createApp } from "./createApp.js";
export type { EntryFilter, EntryQuery } from "./EntryQuery.js";
export { JsonlTrailSource, type JsonlTrailSourceOptions } from "./JsonlTrailSource.js";
export type { LiveEvent } from "./LiveFeed.js";
export { mountAuditViewer } from "./mountAuditViewer.js";
export { connectLogger, enableRealtime } from "./realtime.js";
export { type RunningViewer, type StartViewerOptions, startViewer } from "./startViewer.js";
export type {
  AppendedEntries,
  EntityRef,
  EntryCount,
  EntryPage,
  PageRequest,
  StreamOptions,
  TrailEntry,
  TrailName,
  TrailSource,
  TrailStats,
} from "./TrailSource.js";
export { ViewerRequestError } from "./ViewerRequestError.js";
