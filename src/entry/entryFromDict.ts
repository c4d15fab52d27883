import { AuditEntry } from "./AuditEntry.js";
import { LogLevel, parseLevel } from "./enums.js";
import { type AuditEntryFields, ENTRY_FIELDS, UNSEALED } from "./fields.js";
import { DEFAULT_LIMITS, toAmount, toJsonObject, toStatusCode, toText } from "./normalize.js";

const TEXT_LIMIT = DEFAULT_LIMITS.maxStringLength;

/** A field's value read from a parsed line, made safe whatever its type. */
function readValue(kind: (typeof ENTRY_FIELDS)[number]["kind"], value: unknown): unknown {
  switch (kind) {
    case "text":
      return toText(value, TEXT_LIMIT);
    case "level":
      return parseLevel(value) ?? LogLevel.INFO;
    case "number":
      return toAmount(value);
    case "map":
      return toJsonObject(value, DEFAULT_LIMITS);
    case "status":
      return toStatusCode(value);
    case "flag":
      // The original wrote booleans; a missing success means the call succeeded.
      return value === undefined ? true : value === true || value === "true";
    case "seq":
      return typeof value === "number" && Number.isSafeInteger(value) ? value : 0;
  }
}

/**
 * An entry from a parsed JSONL object, written by auditx or by the Python
 * auditX: missing fields take their empty value, wrong types are made safe.
 */
export function entryFromDict(dict: Record<string, unknown>): AuditEntry {
  const fields: Record<string, unknown> = {};
  for (const field of ENTRY_FIELDS) fields[field.key] = readValue(field.kind, dict[field.name]);
  const sealed = typeof dict.chain_id === "string" && typeof dict.seq === "number";
  return new AuditEntry(sealed ? (fields as unknown as AuditEntryFields) : { ...(fields as unknown as AuditEntryFields), ...UNSEALED });
}
