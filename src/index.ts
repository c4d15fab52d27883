/** auditx: ERP-grade audit logging on the OpenTelemetry Logs SDK. */
export { AuditEntry, type AuditEntryDict, type AuditEntryFields } from "./api/AuditEntry.js";
export { AuditLogger } from "./api/AuditLogger.js";
export * as attributes from "./api/attributes.js";
export { audit, configure, createLogger } from "./api/configure.js";
export { entryFromDict, entryFromLogRecord, entryToAttributes, entryToDict, entryToJsonLine, TRAIL_FIELDS } from "./api/entrySchema.js";
export { AuditAction, BusinessModule, LogLevel, SEVERITY_NUMBER } from "./api/enums.js";
export { AuditConfigError, AuditInputError, AuditWriteError } from "./api/errors.js";
export type {
  AuditingOptions,
  AuditLoggerOptions,
  ChangeOptions,
  CustomLogOptions,
  EntryOptions,
  InventoryOptions,
  LevelInput,
  OtlpOptions,
  RateLimitOptions,
  ServiceOptions,
  TransactionOptions,
} from "./api/options.js";
export { RequestContext, type RequestContextFields, type RequestContextSnapshot } from "./api/RequestContext.js";
export {
  type ChainSummary,
  type IntegrityProblem,
  type IntegrityProblemKind,
  type VerifyOptions,
  type VerifyReport,
  verifyTrail,
} from "./api/verifyTrail.js";
export { AppLogExporter } from "./exporters/AppLogExporter.js";
export { JsonlFileExporter } from "./exporters/JsonlFileExporter.js";
export type { OtlpExportStats } from "./exporters/otlp.js";
export type { JsonObject, JsonValue } from "./internal/normalize.js";
export { AuditHub, type AuditHubOptions, defaultHub, type HubEvent, type HubListener, type HubSource } from "./processors/AuditHub.js";
export { type AuditProcessors, type AuditStats, createAuditProcessors } from "./processors/AuditPipeline.js";
export { CallbackProcessor } from "./processors/CallbackProcessor.js";
export { ConsoleProcessor } from "./processors/ConsoleProcessor.js";
export { HubProcessor } from "./processors/HubProcessor.js";
export { StreamRouter } from "./processors/StreamRouter.js";
