import type { Row } from "./rowValues.js";
import { columnValue } from "./rowValues.js";

function keyPart(value: unknown): string {
  const json = columnValue(value);
  const text = typeof json === "string" ? json : JSON.stringify(json);
  // `,` and `=` separate a composite key's parts; `%` escapes them.
  return text.replace(/[%,=]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * An entity id from its key fields: the value itself for a single key
 * (`42`), `field=value` pairs joined by commas in the key's order for a
 * composite one (`orderId=7,lineNo=2`), so one row always gets one id.
 */
export function entityIdOf(row: Row, key: readonly string[]): string {
  if (key.length === 1) return keyPart(row[key[0]]);
  return key.map((field) => `${field}=${keyPart(row[field])}`).join(",");
}

/** The key fields of a row as an object (metadata.entity_key of a composite key). */
export function keyObject(row: Row, key: readonly string[]): Row {
  const out: Row = {};
  for (const field of key) out[field] = columnValue(row[field]);
  return out;
}

/** Whether a row carries every field of the key. */
export function hasKey(row: Row, key: readonly string[]): boolean {
  return key.length > 0 && key.every((field) => row[field] !== undefined && row[field] !== null);
}
