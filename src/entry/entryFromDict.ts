import { AuditEntry } from "./AuditEntry.js";
import { LogLevel, parseLevel } from "./enums.js";
import { type AuditEntryFields, ENTRY_FIELDS, type FieldSpec, UNSEALED } from "./fields.js";
import { jsonString } from "./jsonl.js";
import { DEFAULT_LIMITS, toAmount, toJsonObject, toStatusCode, toText } from "./normalize.js";

const TEXT_LIMIT = DEFAULT_LIMITS.maxStringLength;

/**
 * A text field the line writer prints without escaping (auditx writes it in a
 * safe alphabet) read from a line that may not come from auditx: anything that
 * would need escaping is kept in its escaped form, so the line stays valid JSON.
 */
function trustedText(value: unknown): string {
  const text = toText(value, TEXT_LIMIT);
  return jsonString(text).slice(1, -1);
}

/** A field's value read from a parsed line, made safe whatever its type. */
function readValue(field: FieldSpec, value: unknown): unknown {
  switch (field.kind) {
    case "text":
      return field.trusted ? trustedText(value) : toText(value, TEXT_LIMIT);
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
  for (const field of ENTRY_FIELDS) fields[field.key] = readValue(field, dict[field.name]);
  const sealed = typeof dict.chain_id === "string" && typeof dict.seq === "number";
  return new AuditEntry(sealed ? (fields as unknown as AuditEntryFields) : { ...(fields as unknown as AuditEntryFields), ...UNSEALED });
}
