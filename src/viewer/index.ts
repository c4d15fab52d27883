/** auditx/web: the read-only audit trail viewer (Express app, REST API, live streams). */
export { AuditViewer, type AuditViewerOptions, type HubConnectable } from "./AuditViewer.js";
export { type AuditViewerApp, createApp } from "./createApp.js";
export type { EntryFilter, EntryQuery } from "./EntryQuery.js";
export type { LiveEvent } from "./LiveFeed.js";
export { mountAuditViewer } from "./mountAuditViewer.js";
export { connectLogger, enableRealtime } from "./realtime.js";
export { type RunningViewer, type StartViewerOptions, startViewer } from "./startViewer.js";
export { type QueryResult, type TrailEntry, TrailIndex, type TrailIndexOptions, type TrailStats } from "./TrailIndex.js";
export { ViewerRequestError } from "./ViewerRequestError.js";
