/** auditx/web: the read-only audit trail viewer (Express app, REST API, live streams). */
export { AuditViewer, type AuditViewerOptions, type HubConnectable } from "./AuditViewer.js";
export { type AuditViewerApp, createApp } from "./createApp.js";
export { DEFAULT_PAGE_LIMIT, type EntryFilter, type EntryQuery, MAX_PAGE_LIMIT } from "./EntryQuery.js";
export { ipMatcher, type TextMatch, valueMatcher } from "./FieldMatch.js";
export { IpRange, ipv4Number } from "./IpRange.js";
export { defaultIndexDir, type IndexProgress, JsonlTrailSource, type JsonlTrailSourceOptions } from "./jsonl/JsonlTrailSource.js";
export type { LiveEvent } from "./LiveFeed.js";
export { mountAuditViewer } from "./mountAuditViewer.js";
export { PostgresTrailSource, type PostgresTrailSourceOptions } from "./PostgresTrailSource.js";
export { connectLogger, type EnableRealtimeOptions, enableRealtime } from "./realtime.js";
export { type RunningViewer, type StartViewerOptions, startViewer } from "./startViewer.js";
export {
  BUCKET_WIDTHS,
  type HistogramLayout,
  type HistogramRequest,
  histogramLayout,
  MAX_HISTOGRAM_BUCKETS,
  type TimeHistogram,
} from "./TimeHistogram.js";
export { inScope, type TrailScope } from "./TrailScope.js";
export type {
  AppendedEntries,
  EntityRef,
  EntriesSince,
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
