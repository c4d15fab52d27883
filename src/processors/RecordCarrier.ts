/**
 * How an auditx record carries its entry to the processors. The audit API
 * builds the entry, and its trail line, once; it travels beside the OTel log
 * record in the emit Context, so that no processor rebuilds it from
 * attributes (the attribute mapping is paid only when OTLP or another
 * processor reads attributes). Processors only read what is carried: nothing
 * flows back to the API this way.
 *
 * A record without a carrier was emitted by other code into a provider that
 * runs auditx's processors; those rebuild the entry from its attributes
 * (entryFromLogRecord).
 */
import { type Context, createContextKey } from "@opentelemetry/api";
import type { AppMessage } from "../entry/AppMessage.js";
import type { AuditEntry } from "../entry/AuditEntry.js";

const CARRIER = createContextKey("auditx.carried-record");

export type CarriedRecord =
  | {
      readonly kind: "audit";
      readonly entry: AuditEntry;
      /** The entry's audit.jsonl line, sealed when integrity is on. */
      readonly line: string;
      /** Whether the line also goes to security.jsonl. */
      readonly security: boolean;
    }
  | { readonly kind: "app"; readonly message: AppMessage }
  /** A writer's signed checkpoint, for OTLP only (the digest file already has it). */
  | { readonly kind: "checkpoint"; readonly line: string };

/** The emit Context of a record, carrying it. */
export function withCarriedRecord(context: Context, record: CarriedRecord): Context {
  return context.setValue(CARRIER, record);
}

/** What a record carries, if the audit API emitted it. */
export function carriedRecord(context: Context | undefined): CarriedRecord | undefined {
  return context?.getValue(CARRIER) as CarriedRecord | undefined;
}
