/**
 * The context value an AuditLogger attaches to each record it emits: the
 * entry (or app message) itself, so processors need not rebuild it from
 * attributes, and a place where the stream router marks it handled.
 */
import { createContextKey } from "@opentelemetry/api";
import type { AuditEntry } from "../api/AuditEntry.js";
import type { AppMessage } from "../exporters/AppLogExporter.js";

export const EMIT_SLOT = createContextKey("auditx.emit-slot");

export interface PipelineLink {
  /** Resolves once the named streams' files are on stable storage. */
  sync(streams: "audit" | "all"): Promise<void>;
}

export type EmitSlot =
  | { kind: "audit"; entry: AuditEntry; security: boolean; handledBy?: PipelineLink }
  | { kind: "app"; message: AppMessage; handledBy?: PipelineLink };
