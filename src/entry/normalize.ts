/**
 * Turns arbitrary caller values into JSON- and OTel-AnyValue-safe data, so that
 * no input (circular objects, BigInt, Date, Error, functions, huge or
 * ill-formed strings, NaN) can crash a log call, corrupt a line or be dropped
 * silently by the OTel SDK.
 */

import type { JsonObject, JsonValue } from "./json.js";

export interface NormalizeLimits {
  /** Longest string kept whole; longer ones are cut and marked. */
  maxStringLength: number;
  /** Deepest nesting kept; deeper values become "[Object]" / "[Array]". */
  maxDepth: number;
  /** Most keys (or array items) kept per object. */
  maxKeys: number;
}

export const DEFAULT_LIMITS: NormalizeLimits = { maxStringLength: 32 * 1024, maxDepth: 8, maxKeys: 256 };

/** A string made safe: well-formed UTF-16 and at most `maxLength` characters. */
export function safeString(value: string, maxLength: number): string {
  let text = value;
  if (text.length > maxLength) {
    text = `${text.slice(0, maxLength)}…[truncated ${text.length - maxLength} chars]`;
  }
  return text.isWellFormed() ? text : text.toWellFormed();
}

/** Any value as a safe text field: "" for null/undefined, String() otherwise, never a throw. */
export function toText(value: unknown, maxLength: number): string {
  if (typeof value === "string") return safeString(value, maxLength);
  if (value === null || value === undefined) return "";
  try {
    return safeString(typeof value === "object" ? JSON.stringify(normalizeValue(value, DEFAULT_LIMITS)) : String(value), maxLength);
  } catch {
    return "[unprintable]";
  }
}

/** A number field: finite numbers kept, numeric strings and bigints converted, anything else null. */
export function toAmount(value: unknown): number | null {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "string" && value.trim() !== "") {
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : null;
  }
  if (value !== null && typeof value === "object") {
    // Decimal libraries (decimal.js, big.js) convert through valueOf/toString; the
    // valueOf lookup is inside the try too, since a Proxy or getter can throw there.
    try {
      if (typeof (value as { valueOf(): unknown }).valueOf !== "function") return null;
      const parsed = Number(value);
      return Number.isFinite(parsed) ? parsed : null;
    } catch {
      return null;
    }
  }
  return null;
}

/** A map field (old_values, new_values, metadata): a plain JSON object, or undefined when empty. */
export function toJsonObject(value: unknown, limits: NormalizeLimits): JsonObject | undefined {
  if (value === null || value === undefined) return undefined;
  const normalized = normalizeValue(value, limits);
  if (normalized === undefined || normalized === null) return undefined;
  if (typeof normalized !== "object" || Array.isArray(normalized)) return { value: normalized };
  for (const _ in normalized) return normalized;
  return undefined;
}

/** The JSON-safe form of any value; undefined for values JSON leaves out (undefined, functions, symbols). */
export function normalizeValue(value: unknown, limits: NormalizeLimits, ancestors: object[] = []): JsonValue | undefined {
  switch (typeof value) {
    case "string":
      return safeString(value, limits.maxStringLength);
    case "number":
      return Number.isFinite(value) ? value : null;
    case "boolean":
      return value;
    case "bigint":
      return value.toString();
    case "undefined":
    case "function":
    case "symbol":
      return undefined;
  }
  if (value === null) return null;
  const object = value as object;
  if (ancestors.includes(object)) return "[Circular]";
  if (ancestors.length >= limits.maxDepth) return Array.isArray(object) ? "[Array]" : "[Object]";
  try {
    return normalizeObject(object, limits, ancestors);
  } catch {
    // A getter or toJSON that throws must not take the log call down with it.
    return "[unserializable]";
  }
}

function normalizeObject(object: object, limits: NormalizeLimits, ancestors: object[]): JsonValue | undefined {
  if (object instanceof Date) return Number.isNaN(object.getTime()) ? null : object.toISOString();
  if (object instanceof Error) return normalizeError(object, limits);
  if (ArrayBuffer.isView(object)) return `[${object.constructor.name} ${object.byteLength} bytes]`;
  ancestors.push(object);
  try {
    if (Array.isArray(object) || object instanceof Set) return normalizeList([...object], limits, ancestors);
    if (object instanceof Map) return normalizeEntries([...object.entries()], limits, ancestors);
    const toJSON = (object as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === "function") {
      ancestors.pop();
      const converted = toJSON.call(object);
      ancestors.push(object);
      if (converted !== object) return normalizeValue(converted, limits, ancestors);
    }
    const proto = Object.getPrototypeOf(object);
    if (proto === Object.prototype || proto === null) return normalizePlain(object as Record<string, unknown>, limits, ancestors);
    return normalizeEntries(Object.entries(object), limits, ancestors);
  } finally {
    ancestors.pop();
  }
}

function normalizeList(items: unknown[], limits: NormalizeLimits, ancestors: object[]): JsonValue[] {
  const count = Math.min(items.length, limits.maxKeys);
  const result: JsonValue[] = new Array(count);
  for (let i = 0; i < count; i++) result[i] = normalizeValue(items[i], limits, ancestors) ?? null;
  if (items.length > count) result.push(`[${items.length - count} more items]`);
  return result;
}

const ownProperty = Object.prototype.hasOwnProperty;

/** The common case (a plain object literal), without the allocation of Object.entries. */
function normalizePlain(object: Record<string, unknown>, limits: NormalizeLimits, ancestors: object[], into: JsonObject = {}): JsonObject {
  let kept = 0;
  for (const key in object) {
    // hasOwnProperty.call on the for-in object and key compiles to a map check; Object.hasOwn is a call per key.
    if (!ownProperty.call(object, key)) continue;
    if (kept === limits.maxKeys) {
      into["…"] = "more keys left out";
      break;
    }
    const normalized = normalizeValue(object[key], limits, ancestors);
    if (normalized === undefined) continue;
    if (key.length > 256 || key === "__proto__" || !key.isWellFormed()) setOwn(into, safeString(key, 256), normalized);
    else into[key] = normalized;
    kept++;
  }
  return into;
}

/**
 * `metadata` merged with a method's own fields (party, quantity, ...) into one
 * normalised object, without building the merged input first.
 */
export function toMergedJsonObject(base: unknown, extra: Record<string, unknown>, limits: NormalizeLimits): JsonObject | undefined {
  const normalizedBase = toJsonObject(base, limits);
  const result = normalizePlain(extra, limits, [], normalizedBase ?? {});
  for (const _ in result) return result;
  return undefined;
}

function normalizeEntries(entries: [unknown, unknown][], limits: NormalizeLimits, ancestors: object[]): JsonObject {
  const result: JsonObject = {};
  let kept = 0;
  for (const [key, item] of entries) {
    if (kept === limits.maxKeys) {
      result["…"] = `${entries.length - kept} more keys`;
      break;
    }
    const normalized = normalizeValue(item, limits, ancestors);
    if (normalized === undefined) continue;
    setOwn(result, safeString(String(key), 256), normalized);
    kept++;
  }
  return result;
}

function normalizeError(error: Error, limits: NormalizeLimits): JsonObject {
  const result: JsonObject = { name: safeString(error.name, 256), message: safeString(error.message, limits.maxStringLength) };
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" || typeof code === "number") result.code = code;
  return result;
}

/** Assigns a key as an own property, so that "__proto__" stays data and never changes a prototype. */
function setOwn(target: JsonObject, key: string, value: JsonValue): void {
  if (key === "__proto__") Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** An HTTP status field: a whole number, or null for anything else. */
export function toStatusCode(value: unknown): number | null {
  const status = toAmount(value);
  return status !== null && Number.isInteger(status) ? status : null;
}
