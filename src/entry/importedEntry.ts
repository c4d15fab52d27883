/**
 * An entry from a record of another audit trail (a legacy audit table, a
 * trail written by the Python auditX or an older auditx): the record's own
 * time, fields and id kept, its unknown columns kept in metadata, and
 * `metadata.imported` saying where and when it came from. Nothing is taken
 * from the importing process (its context, request id, host), since the
 * entry records something that happened elsewhere, earlier.
 */

import { formatTimestamp, formatTimestampAtOffset } from "../internal/timestamp.js";
import { timestampMillis, timestampOffset } from "../internal/timestampMillis.js";
import { entryIdOf } from "./entryId.js";
import { LogLevel, parseLevel } from "./enums.js";
import { AuditInputError } from "./errors.js";
import { type AuditEntryFields, ENTRY_FIELDS, type FieldSpec, UNSEALED } from "./fields.js";
import type { JsonObject, JsonValue } from "./json.js";
import { type NormalizeLimits, normalizeValue, toAmount, toJsonObject, toStatusCode, toText } from "./normalize.js";

export interface ImportOptions {
  /** Where the records come from, written as metadata.imported.source (e.g. "erp.audit_logs"). */
  source?: string;
  /** The record's place in its source (line or row number), written as metadata.imported.row. */
  row?: number;
  /**
   * The UTC offset of timestamps that state none: "+06:30", "-05:00", "Z", or
   * "local" (default: the importing machine's time zone).
   */
  assumeOffset?: string;
}

/** What the importing logger supplies. */
export interface ImportContext {
  limits: NormalizeLimits;
  /** Written beside an amount the record gives no currency for. */
  currency: string;
  /** The trail's service, for records that name none. */
  service: string;
  /** The time of the import (epoch ms). */
  now: number;
}

/** The trail's fields by their snake_case name and their camelCase key. */
const FIELD_BY_NAME = new Map<string, FieldSpec>();
for (const field of ENTRY_FIELDS) {
  FIELD_BY_NAME.set(field.name, field);
  FIELD_BY_NAME.set(field.key, field);
}

/** Fields of the old trail's integrity chain: they mean nothing in this trail's chains, so they are dropped. */
const OLD_CHAIN_FIELDS = new Set(["chain_id", "seq", "prev_hash", "hash", "chainId", "prevHash"]);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEX_ID = { traceId: /^[0-9a-f]{32}$/, spanId: /^[0-9a-f]{16}$/ } as const;
const OFFSET = /^([+-])(\d{2}):?(\d{2})$/;
/** Clock skew tolerated before a record's time counts as in the future. */
const FUTURE_TOLERANCE_MS = 60_000;

/** "+06:30" -> 390; "Z" -> 0; "local" / undefined -> undefined. Throws on anything else. */
export function parseOffset(text: string | undefined): number | undefined {
  if (text === undefined || text === "local") return undefined;
  if (text === "Z" || text === "z" || text === "UTC") return 0;
  const match = OFFSET.exec(text);
  if (!match || Number(match[2]) > 14 || Number(match[3]) > 59) {
    throw new AuditInputError(`assumeOffset: expected "local", "Z" or an offset like "+06:30", got ${JSON.stringify(text)}`);
  }
  const minutes = Number(match[2]) * 60 + Number(match[3]);
  return match[1] === "-" ? -minutes : minutes;
}

/** The record's time: epoch ms and the timestamp text to write (in the record's own offset when it states one). */
function importedTime(value: unknown, assumedOffset: number | undefined, now: number): { millis: number; text: string } {
  let millis: number;
  let offset: number | undefined;
  if (value instanceof Date) millis = value.getTime();
  else if (typeof value === "number") millis = Math.abs(value) < 1e11 ? value * 1000 : value;
  else if (typeof value === "string" && value.trim().length >= 16) {
    const text = value.trim();
    offset = timestampOffset(text);
    if (offset === undefined && assumedOffset !== undefined) {
      millis = timestampMillis(`${text.replace(" ", "T")}Z`) - assumedOffset * 60_000;
      offset = assumedOffset;
    } else millis = timestampMillis(text);
  } else {
    throw new AuditInputError(
      `timestamp: expected an ISO 8601 or SQL time, epoch seconds or a Date, got ${JSON.stringify(value) ?? "nothing"}`,
    );
  }
  if (!Number.isFinite(millis)) throw new AuditInputError(`timestamp: not a time: ${JSON.stringify(value)}`);
  millis = Math.round(millis);
  if (millis > now + FUTURE_TOLERANCE_MS) {
    throw new AuditInputError(`timestamp: ${JSON.stringify(value)} is in the future (is the offset right?)`);
  }
  return { millis, text: offset === undefined ? formatTimestamp(millis) : formatTimestampAtOffset(millis, offset) };
}

/** A map field given as an object, or as JSON text (a CSV cell, a text column). */
function importedMap(name: string, value: unknown, limits: NormalizeLimits): JsonObject | undefined {
  if (value === null || value === undefined || value === "") return undefined;
  let object = value;
  if (typeof value === "string") {
    try {
      object = JSON.parse(value);
    } catch {
      throw new AuditInputError(`${name}: expected a JSON object, got ${JSON.stringify(toText(value, 80))}`);
    }
  }
  if (object === null) return undefined;
  if (typeof object !== "object" || Array.isArray(object)) {
    throw new AuditInputError(`${name}: expected a JSON object, got ${JSON.stringify(toText(value, 80))}`);
  }
  return toJsonObject(object, limits);
}

function importedFlag(value: unknown): boolean {
  if (value === undefined || value === null || value === "") return true;
  if (typeof value === "boolean") return value;
  if (value === 1 || value === 0) return value === 1;
  const text = String(value).trim().toLowerCase();
  if (["true", "t", "1", "yes", "y"].includes(text)) return true;
  if (["false", "f", "0", "no", "n"].includes(text)) return false;
  throw new AuditInputError(`success: expected true or false, got ${JSON.stringify(value)}`);
}

function importedNumber(name: string, value: unknown, whole: boolean): number | null {
  if (value === undefined || value === null || value === "") return null;
  const number = whole ? toStatusCode(value) : toAmount(value);
  if (number === null) throw new AuditInputError(`${name}: expected a ${whole ? "whole number" : "number"}, got ${JSON.stringify(value)}`);
  return number;
}

/**
 * The fields of the entry that records `record` in this trail. The record's
 * keys are the trail's field names (snake_case, as in audit.jsonl) or the
 * entry's camelCase keys; `timestamp` and `description` are required. Any
 * other key is kept in metadata. Throws AuditInputError naming the field
 * that cannot be imported.
 */
export function importedEntryFields(record: Record<string, unknown>, options: ImportOptions, context: ImportContext): AuditEntryFields {
  if (record === null || typeof record !== "object" || Array.isArray(record)) throw new AuditInputError("a record must be an object");
  const { limits } = context;
  const max = limits.maxStringLength;
  const given: Record<string, unknown> = {};
  const extra: JsonObject = {};
  let legacyId: JsonValue | undefined;
  for (const key of Object.keys(record)) {
    const value = record[key];
    if (value === undefined || OLD_CHAIN_FIELDS.has(key)) continue;
    const field = FIELD_BY_NAME.get(key);
    if (field?.key === "id" && !(typeof value === "string" && UUID.test(value))) legacyId = normalizeValue(value, limits) ?? null;
    else if (field) given[field.key] = value;
    else {
      const normalized = normalizeValue(value, limits);
      if (normalized !== undefined && normalized !== "") extra[toText(key, 256)] = normalized;
    }
  }
  const description = toText(given.description, max);
  if (description.trim() === "") throw new AuditInputError("description: missing or empty");
  const time = importedTime(given.timestamp, parseOffset(options.assumeOffset), context.now);
  let level: LogLevel = LogLevel.AUDIT;
  if (given.level !== undefined && given.level !== null && given.level !== "") {
    const parsed = parseLevel(typeof given.level === "string" ? given.level.trim() : given.level);
    if (!parsed) throw new AuditInputError(`level: unknown level ${JSON.stringify(given.level)}`);
    level = parsed;
  }
  const amount = importedNumber("amount", given.amount, false);
  const metadata = importedMap("metadata", given.metadata, limits) ?? {};
  for (const key in extra) if (!(key in metadata)) metadata[key] = extra[key] as JsonValue;
  const imported: JsonObject = { source: toText(options.source ?? "import", 256), imported_at: formatTimestamp(context.now) };
  if (options.row !== undefined) imported.row = options.row;
  if (legacyId !== undefined) imported.legacy_id = legacyId;
  // A record that was itself imported once keeps that history beside this import.
  if (metadata.imported !== undefined) imported.previous = metadata.imported;
  metadata.imported = imported;
  const text = (name: keyof AuditEntryFields) => toText(given[name], max);
  const hexId = (name: "traceId" | "spanId") => {
    const value = text(name).toLowerCase();
    return HEX_ID[name].test(value) ? value : "";
  };
  const id =
    typeof given.id === "string"
      ? given.id.toLowerCase()
      : // The same record of the same source always gets the same id, so running an import again can skip it.
        entryIdOf({ timestamp: time.text }, `${imported.source}\n${options.row ?? ""}\n${stableJson(normalizeValue(record, limits))}`);
  return {
    timestamp: time.text,
    level,
    module: text("module"),
    action: text("action"),
    description,
    user: text("user"),
    userRole: text("userRole"),
    companyId: text("companyId"),
    branchId: text("branchId"),
    entityType: text("entityType"),
    entityId: text("entityId"),
    referenceNo: text("referenceNo"),
    amount,
    currency: text("currency") || (amount === null ? "" : context.currency),
    oldValues: importedMap("old_values", given.oldValues, limits),
    newValues: importedMap("new_values", given.newValues, limits),
    metadata,
    requestId: text("requestId"),
    sessionId: text("sessionId"),
    ip: text("ip"),
    hostname: text("hostname"),
    method: text("method").toUpperCase(),
    endpoint: text("endpoint"),
    status: importedNumber("status", given.status, true),
    success: importedFlag(given.success),
    traceId: hexId("traceId"),
    spanId: hexId("spanId"),
    service: text("service") || context.service,
    id,
    ...UNSEALED,
  };
}

/** JSON of a normalised record with its keys sorted, so that the same record always hashes the same. */
function stableJson(value: JsonValue | undefined): string {
  if (value === undefined) return "";
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  return `{${Object.keys(value)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${stableJson(value[key])}`)
    .join(",")}}`;
}
