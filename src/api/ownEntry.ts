/**
 * Entries auditx writes about itself — its trail's incidents (a file removed
 * while in use, low disk, a legal hold), the pruning of segments, the
 * logger's own lifecycle — through the same path as every other entry, so
 * they are sealed, reach every sink, and read back like any entry: user
 * "auditx", module "system", `metadata.auditx_event` naming the event.
 */
import type { AuditEntryFields } from "../entry/AuditEntry.js";
import type { LogLevel } from "../entry/enums.js";
import { toJsonObject } from "../entry/normalize.js";
import { formatTimestamp } from "../internal/timestamp.js";
import { uuidv7 } from "../internal/uuid.js";
import type { AuditSettings } from "./settings.js";

export const OWN_USER = "auditx";

export interface OwnEntry {
  level: LogLevel;
  /** An AuditAction (DELETE for a pruning, UPDATE for a configuration, ...). */
  action: string;
  description: string;
  /** `metadata.auditx_event`: "trail.segment_pruned", "trail.file_removed", "logger.started", ... */
  event: string;
  /** The rest of the metadata. */
  details?: Record<string, unknown>;
  /** The file or thing it is about (entity_type "audit_trail"). */
  entityId?: string;
  success?: boolean;
}

/** The fields of an entry auditx writes about itself (no request context applies). */
export function ownEntryFields(settings: Readonly<AuditSettings>, own: OwnEntry, millis = Date.now()): AuditEntryFields {
  const id = uuidv7(millis);
  return {
    timestamp: formatTimestamp(millis),
    level: own.level,
    module: "system",
    action: own.action,
    description: own.description,
    user: OWN_USER,
    userRole: "",
    companyId: "",
    branchId: "",
    entityType: own.entityId ? "audit_trail" : "",
    entityId: own.entityId ?? "",
    referenceNo: "",
    amount: null,
    currency: "",
    oldValues: undefined,
    newValues: undefined,
    metadata: toJsonObject({ auditx_event: own.event, ...own.details }, settings.limits),
    // Outside any request, as every such entry: a request of its own.
    requestId: id,
    sessionId: "",
    ip: "",
    hostname: settings.hostname,
    method: "",
    endpoint: "",
    status: null,
    success: own.success ?? true,
    traceId: "",
    spanId: "",
    service: settings.service,
    id,
    chainId: "",
    seq: 0,
    prevHash: "",
    hash: "",
  };
}
