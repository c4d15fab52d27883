/**
 * Row values as an entry carries them, and the diff of two row images: the
 * fields that changed, with their values before and after.
 */

export type Row = Record<string, unknown>;

/** A decimal library's number (Prisma's Decimal, decimal.js, big.js): written as its exact text. */
function isDecimalLike(value: object): value is { toFixed(): string } {
  return typeof (value as { toFixed?: unknown }).toFixed === "function" && typeof (value as { isNaN?: unknown }).isNaN === "function";
}

/** A column value as JSON: dates as ISO 8601, bigints and decimals as exact text, bytes as base64. */
export function columnValue(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case "bigint":
      return value.toString();
    case "object":
      break;
    case "function":
    case "symbol":
      return String(value);
    default:
      return value;
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64");
  if (isDecimalLike(value)) return value.toString();
  if (Array.isArray(value)) return value.map(columnValue);
  const out: Row = {};
  for (const key of Object.keys(value)) out[key] = columnValue((value as Row)[key]);
  return out;
}

/** The JSON image of a row, without ignored fields and fields the row does not have. */
export function rowImage(row: Row, ignore: ReadonlySet<string>): Row {
  const image: Row = {};
  for (const key of Object.keys(row)) {
    const value = row[key];
    if (ignore.has(key) || value === undefined) continue;
    image[key] = columnValue(value);
  }
  return image;
}

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") {
    // 1500 and "1500.00" from two drivers of one numeric column: equal when both read as the same number.
    if ((typeof a === "number" && typeof b === "string") || (typeof a === "string" && typeof b === "number")) {
      return b !== "" && a !== "" && Number(a) === Number(b);
    }
    return false;
  }
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The changed fields of an update: old and new values of each field whose
 * value differs (fields only one image has count as changed only when the
 * other image is complete, i.e. has that field at all).
 */
export function diffImages(before: Row, after: Row): { oldValues: Row; newValues: Row; changed: number } {
  const oldValues: Row = {};
  const newValues: Row = {};
  let changed = 0;
  for (const key of Object.keys(after)) {
    if (!(key in before)) continue;
    if (same(before[key], after[key])) continue;
    oldValues[key] = before[key];
    newValues[key] = after[key];
    changed++;
  }
  return { oldValues, newValues, changed };
}
