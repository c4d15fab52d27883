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
 * The fields of a parsed line, as one object literal (compiled once, as the
 * line writers are: each line read makes one object, not one built key by key
 * and copied). An unsealed line's integrity fields are the empty ones.
 */
const readFields = new Function(
  "readValue",
  "specs",
  "UNSEALED",
  `return function readFields(dict) {
    const sealed = typeof dict.chain_id === "string" && typeof dict.seq === "number";
    return {
${ENTRY_FIELDS.map((field, i) => {
  const read = `readValue(specs[${i}], dict[${JSON.stringify(field.name)}])`;
  return `      ${field.key}: ${field.key in UNSEALED ? `sealed ? ${read} : UNSEALED.${field.key}` : read},`;
}).join("\n")}
    };
  }`,
)(readValue, ENTRY_FIELDS, UNSEALED) as (dict: Record<string, unknown>) => AuditEntryFields;

/**
 * An entry from a parsed JSONL object, written by auditx or by the Python
 * auditX: missing fields take their empty value, wrong types are made safe.
 */
export function entryFromDict(dict: Record<string, unknown>): AuditEntry {
  return new AuditEntry(readFields(dict));
}
