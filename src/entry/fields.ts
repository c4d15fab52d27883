/**
 * The fields of an audit entry, declared once: the camelCase property, the
 * snake_case name in audit.jsonl (the original auditX's, then auditx's own),
 * the kind of value, and when a line leaves the field out. The entry's types,
 * the trail's field order, the line writer and the dict reader all derive
 * from this list.
 */
import type { LogLevel } from "./enums.js";
import type { JsonObject } from "./json.js";

/** What a field holds, and so how it is written and read back. */
export type FieldKind = "text" | "level" | "number" | "map" | "status" | "flag" | "seq";

/**
 * When a line carries the field: `present` when it is not empty ("" / null /
 * {}); `always`; `sealed` whenever the entry is sealed, even when empty (the
 * integrity fields after chain_id: the first line's prev_hash is "").
 */
export type FieldPresence = "present" | "always" | "sealed";

export interface FieldSpec {
  readonly key: string;
  readonly name: string;
  readonly kind: FieldKind;
  readonly presence: FieldPresence;
  /** Written by auditx itself in a form that never needs JSON escaping (timestamps, ids, hashes). */
  readonly trusted?: boolean;
}

export const ENTRY_FIELDS = [
  { key: "timestamp", name: "timestamp", kind: "text", presence: "always", trusted: true },
  { key: "level", name: "level", kind: "level", presence: "always", trusted: true },
  { key: "module", name: "module", kind: "text", presence: "present" },
  { key: "action", name: "action", kind: "text", presence: "present" },
  { key: "description", name: "description", kind: "text", presence: "present" },
  { key: "user", name: "user", kind: "text", presence: "present" },
  { key: "userRole", name: "user_role", kind: "text", presence: "present" },
  { key: "companyId", name: "company_id", kind: "text", presence: "present" },
  { key: "branchId", name: "branch_id", kind: "text", presence: "present" },
  { key: "entityType", name: "entity_type", kind: "text", presence: "present" },
  { key: "entityId", name: "entity_id", kind: "text", presence: "present" },
  { key: "referenceNo", name: "reference_no", kind: "text", presence: "present" },
  { key: "amount", name: "amount", kind: "number", presence: "present" },
  { key: "currency", name: "currency", kind: "text", presence: "present" },
  { key: "oldValues", name: "old_values", kind: "map", presence: "present" },
  { key: "newValues", name: "new_values", kind: "map", presence: "present" },
  { key: "metadata", name: "metadata", kind: "map", presence: "present" },
  { key: "requestId", name: "request_id", kind: "text", presence: "present" },
  { key: "sessionId", name: "session_id", kind: "text", presence: "present" },
  { key: "ip", name: "ip", kind: "text", presence: "present" },
  { key: "hostname", name: "hostname", kind: "text", presence: "present" },
  { key: "method", name: "method", kind: "text", presence: "present" },
  { key: "endpoint", name: "endpoint", kind: "text", presence: "present" },
  { key: "status", name: "status", kind: "status", presence: "always" },
  { key: "success", name: "success", kind: "flag", presence: "always" },
  { key: "traceId", name: "trace_id", kind: "text", presence: "present", trusted: true },
  { key: "spanId", name: "span_id", kind: "text", presence: "present", trusted: true },
  { key: "service", name: "service", kind: "text", presence: "present" },
  { key: "id", name: "id", kind: "text", presence: "present" },
  { key: "chainId", name: "chain_id", kind: "text", presence: "present" },
  { key: "seq", name: "seq", kind: "seq", presence: "sealed" },
  { key: "prevHash", name: "prev_hash", kind: "text", presence: "sealed", trusted: true },
  { key: "hash", name: "hash", kind: "text", presence: "sealed", trusted: true },
] as const satisfies readonly FieldSpec[];

type Field = (typeof ENTRY_FIELDS)[number];

/** The TypeScript type of each kind of value, in an entry. */
interface KindTypes {
  text: string;
  level: LogLevel;
  number: number | null;
  map: JsonObject | undefined;
  status: number | null;
  flag: boolean;
  seq: number;
}

/** Every field of an entry; text fields are "" and maps undefined when empty. */
export type AuditEntryFields = { [F in Field as F["key"]]: KindTypes[F["kind"]] };

type DictValue<F extends Field> = Exclude<KindTypes[F["kind"]], undefined | (F["presence"] extends "always" ? never : null)>;

/** An audit entry as one line of audit.jsonl: the original auditX's snake_case field names. */
export type AuditEntryDict = { [F in Field as F["presence"] extends "always" ? F["name"] : never]: DictValue<F> } & {
  [F in Field as F["presence"] extends "always" ? never : F["name"]]?: DictValue<F>;
};

/** The fields of an audit.jsonl line, in their order: the original's, then auditx's own. */
export const TRAIL_FIELDS: readonly Field["name"][] = ENTRY_FIELDS.map((field) => field.name);

/** The integrity fields an entry carries when its trail writer seals lines (see `auditx verify`). */
export type IntegrityFields = Pick<AuditEntryFields, "chainId" | "seq" | "prevHash" | "hash">;

/** The integrity fields of an entry that is not sealed. */
export const UNSEALED: Readonly<IntegrityFields> = Object.freeze({ chainId: "", seq: 0, prevHash: "", hash: "" });
