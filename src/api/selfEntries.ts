/**
 * Entries auditx writes about itself: the logger's lifecycle (start with its
 * effective configuration, stop, configuration changes, OTLP on or off),
 * retention pruning, and the viewer's readers. One shape for all of them, so
 * that an auditor finds them together (entity type "auditx", the part of
 * auditx in entity_id) and a SIEM gets them as SECURITY records
 * (security.jsonl and `auditx.stream=security` over OTLP).
 */
import type { AuditEntry } from "../entry/AuditEntry.js";
import { BusinessModule, LogLevel } from "../entry/enums.js";
import type { EntryOptions } from "./options.js";

/** The user of auditx's own entries when no reader is named. */
export const SELF_USER = "auditx";
/** The entity type of auditx's own entries; the entity id names the part: logger, otlp, retention, viewer. */
export const SELF_ENTITY_TYPE = "auditx";

/** Actions of auditx's own entries that the business actions (AuditAction) do not cover. */
export const SelfAction = {
  START: "START",
  STOP: "STOP",
  CONFIGURE: "CONFIGURE",
} as const;

export interface SelfEntry {
  /** What happened: a SelfAction, or an AuditAction (DELETE for pruning, READ and EXPORT for readers, LOGIN for refused keys). */
  action: string;
  /** The part of auditx it is about: "logger", "otlp", "retention", "viewer". */
  component: string;
  description: string;
  metadata?: Record<string, unknown>;
  /** Default SECURITY. */
  level?: LogLevel;
  /** Default true. */
  success?: boolean;
  /** Who acted: default "auditx"; the viewer gives its reader (the API key's id). */
  user?: string;
  /** The reader's address, for the viewer's entries. */
  ip?: string;
  method?: string;
  endpoint?: string;
  status?: number;
}

/** What can write them: an AuditLogger (structurally, so that the logger itself can use this file). */
export interface SelfEntryWriter {
  log(description: string, options?: EntryOptions): AuditEntry;
}

/**
 * Writes one of auditx's own entries through `writer`, like any other entry
 * (redaction, sealing and every sink apply). The request context of the
 * caller is not taken: an entry about auditx must not be attributed to the
 * request that happened to trigger it.
 */
export function writeSelfEntry(writer: SelfEntryWriter, entry: SelfEntry): AuditEntry {
  return writer.log(entry.description, {
    level: entry.level ?? LogLevel.SECURITY,
    module: BusinessModule.SYSTEM,
    action: entry.action,
    entityType: SELF_ENTITY_TYPE,
    entityId: entry.component,
    user: entry.user ?? SELF_USER,
    userRole: "",
    companyId: "",
    branchId: "",
    requestId: "",
    sessionId: "",
    ip: entry.ip ?? "",
    method: entry.method ?? "",
    endpoint: entry.endpoint ?? "",
    status: entry.status ?? null,
    success: entry.success ?? true,
    metadata: entry.metadata,
  });
}
