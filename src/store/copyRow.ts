/**
 * One trail line as one row of COPY's text format, in COPY_COLUMNS order: the
 * line read as the viewer reads it (entryFromDict: every field made safe),
 * its id (the line's, or derived from its text), its time, the fields the
 * trail does not know (kept in `extra`), and the folded text free-text search
 * looks in.
 */
import type { AuditEntry } from "../entry/AuditEntry.js";
import { entryFromDict } from "../entry/entryFromDict.js";
import { entryIdOf } from "../entry/entryId.js";
import { TRAIL_FIELDS } from "../entry/fields.js";
import type { JsonObject } from "../entry/json.js";
import { entryToDict } from "../entry/jsonl.js";
import { DEFAULT_LIMITS, normalizeValue } from "../entry/normalize.js";
import { foldAscii } from "../internal/foldAscii.js";
import { ipv6Text, parseIpAddress } from "../internal/ipAddress.js";
import { timestampMillis } from "../internal/timestampMillis.js";
import { FIELD_COLUMNS, UNSEARCHED_FIELDS } from "./columns.js";
import { COUNTED_COLUMNS, INDEXED_PREFIX } from "./schema.js";

export interface CopyRow {
  id: string;
  /** Epoch milliseconds of the entry (the partition key). */
  ts: number;
  /** The row in COPY text format, newline-terminated. */
  text: string;
}

export interface RowDefaults {
  /** The `service` of lines that carry none (a sidecar shipping a folder of one service). */
  service?: string;
}

const TRAIL_FIELD_SET: ReadonlySet<string> = new Set(TRAIL_FIELDS);
const COUNTED_FIELD_SET: ReadonlySet<string> = new Set(COUNTED_COLUMNS);
const NULL = "\\N";
/** The range of the integer status column. */
const STATUS_MIN = -(2 ** 31);
const STATUS_MAX = 2 ** 31 - 1;
/** 9999-12-31T23:59:59.999Z: later (or negative) times are clamped, so every row has a time PostgreSQL reads. */
const MAX_MILLIS = 253_402_300_799_999;
/** Separates values in the search text: a match never spans two values. */
const VALUE_SEPARATOR = "\u0001";
const COPY_SPECIAL = /[\\\n\r\t]/;
const COPY_SPECIALS = /[\\\n\r\t]/g;
const COPY_ESCAPES: Record<string, string> = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" };
// PostgreSQL text and jsonb cannot hold U+0000: it becomes U+FFFD, visibly replaced rather than refused.
const NUL = /\u0000/g;

/** Text as a COPY text-format field. */
export function copyText(value: string): string {
  let text = value.indexOf("\u0000") >= 0 ? value.replace(NUL, "\ufffd") : value;
  if (COPY_SPECIAL.test(text)) text = text.replace(COPY_SPECIALS, (c) => COPY_ESCAPES[c] as string);
  return text;
}

/** A JSON value as jsonb input in COPY text format (JSON's \u0000 escape is refused by jsonb). */
function copyJson(value: unknown): string {
  let json = JSON.stringify(value);
  if (json.includes("\\u0000"))
    json = JSON.stringify(value, (_key, item) => (typeof item === "string" ? item.replace(NUL, "\ufffd") : item)).replace(
      /\\u0000/g,
      "\\ufffd",
    );
  return copyText(json);
}

/** Appends every scalar value inside `value` (not the keys) to `out`. */
function collectValues(value: unknown, out: string[]): void {
  if (value === null || value === undefined) return;
  if (typeof value === "object") {
    if (Array.isArray(value)) for (const item of value) collectValues(item, out);
    else for (const key in value) collectValues((value as Record<string, unknown>)[key], out);
    return;
  }
  const text = typeof value === "string" ? value : String(value);
  if (text !== "") out.push(text);
}

/**
 * The text free-text search matches: every value of the line but the
 * machine identifiers, folded, one separator between values. The values of
 * the counted columns (module, user, branch, service…) are left out too when
 * whole in their index: free text finds them through the per-day counts and
 * their own indexes, so the trigram index does not pay for the same few
 * values on every row.
 */
function searchText(entry: AuditEntry, extra: JsonObject | null): string {
  const values: string[] = [];
  const dict = entryToDict(entry) as Record<string, unknown>;
  for (const name in dict) {
    if (UNSEARCHED_FIELDS.has(name)) continue;
    const value = dict[name];
    // A UTF-16 length under the index's prefix is a whole value there (it has at most as many code points).
    if (typeof value === "string" && value.length < INDEXED_PREFIX && COUNTED_FIELD_SET.has(name)) continue;
    collectValues(value, values);
  }
  if (extra) collectValues(extra, values);
  return copyText(foldAscii(values.join(VALUE_SEPARATOR)));
}

/** The field's value in COPY text form. */
function fieldText(entry: AuditEntry, column: (typeof FIELD_COLUMNS)[number]): string {
  const value = (entry as unknown as Record<string, unknown>)[column.key];
  switch (column.kind) {
    case "text":
    case "level":
      return value === "" ? NULL : copyText(value as string);
    case "number":
    case "status":
      return value === null ? NULL : String(value);
    case "map":
      return value === undefined ? NULL : copyJson(value);
    case "flag":
      return value ? "t" : "f";
    case "seq":
      return (value as number) > 0 ? String(value) : NULL;
  }
}

/** The client address as inet input (eight IPv6 groups, IPv4 mapped), or NULL when `ip` is no address. */
function addressText(ip: string): string {
  const address = ip === "" ? null : parseIpAddress(ip.trim());
  return address ? ipv6Text(address.value) : NULL;
}

/** The time of a UUIDv7 (or of an id derived by entryIdOf), in epoch milliseconds; NaN for other ids. */
export function uuidMillis(id: string): number {
  const version = id.charCodeAt(14);
  // '7' or '8'
  if (version !== 55 && version !== 56) return Number.NaN;
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

/**
 * The row of one parsed line (a JSON object). `line` is its exact text,
 * from which an id is derived when the line has none.
 */
export function copyRowOf(dict: Record<string, unknown>, line: string, defaults: RowDefaults = {}): CopyRow {
  if (defaults.service && (typeof dict.service !== "string" || dict.service === "")) dict = { ...dict, service: defaults.service };
  let entry = entryFromDict(dict);
  const id = entryIdOf(dict, line);
  let ts = timestampMillis(entry.timestamp);
  if (!Number.isFinite(ts)) {
    // An unreadable timestamp: the id's time if it has one, else the epoch (kept in the default partition).
    const fromId = uuidMillis(id);
    ts = Number.isFinite(fromId) ? fromId : 0;
  }
  ts = Math.min(Math.max(ts, 0), MAX_MILLIS);
  let extra: JsonObject | null = null;
  const idDerived = typeof dict.id !== "string" || dict.id.toLowerCase() !== id;
  // An id that is not a UUID cannot be the key: the line's own value is kept, in extra.
  if (idDerived && dict.id !== undefined) extra = { id: normalizeValue(dict.id, DEFAULT_LIMITS) ?? null };
  for (const key in dict) {
    if (TRAIL_FIELD_SET.has(key)) continue;
    const value = normalizeValue(dict[key], DEFAULT_LIMITS);
    if (value === undefined) continue;
    extra ??= {};
    extra[key] = value;
  }
  // A status no HTTP response has, too large for the column: kept as written, in extra.
  if (entry.status !== null && (entry.status < STATUS_MIN || entry.status > STATUS_MAX)) {
    extra = { ...extra, status: entry.status };
    entry = entryFromDict({ ...dict, status: null });
  }
  let text = "";
  for (const column of FIELD_COLUMNS) text += (column.name === "id" ? id : fieldText(entry, column)) + "\t";
  text += `${new Date(ts).toISOString()}\t${extra ? copyJson(extra) : NULL}\t${searchText(entry, extra)}\t${idDerived ? "t" : "f"}\t${addressText(entry.ip)}\n`;
  return { id, ts, text };
}
