/**
 * The text rules of free-text search, shared by the index (which stores
 * values) and the checks (which read lines): a value is a string, number or
 * boolean anywhere in the entry, field names excluded; matching is by
 * substring, case-insensitive for ASCII letters.
 */

import { foldAscii } from "../../internal/foldAscii.js";

/** Stands for one run of digits in a value's template. */
export const PLACEHOLDER = "\u0011";

export function hasDigit(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) return true;
  }
  return false;
}

/** A control character: such text is never looked up in dictionaries (their separators are control characters). */
export function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) < 0x20) return true;
  return false;
}

/**
 * The value with each run of digits replaced by PLACEHOLDER: "SI-2026-0042"
 * -> "SI-\u0011-\u0011". Text without digits found in a template is in the
 * value; text with digits can be in the value only where its masked form is
 * in the template.
 */
export function maskDigits(text: string): string {
  return hasDigit(text) ? text.replace(/[0-9]+/g, PLACEHOLDER) : text;
}

/** The searchable text of a scalar value; undefined for what search ignores (null, "", objects). */
export function scalarText(value: unknown): string | undefined {
  if (typeof value === "string") return value === "" ? undefined : value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

/**
 * Calls `visit` with the text of every scalar inside `value`, in document
 * order, until it returns true (then returns true). With a stack of its own:
 * no nesting depth can overflow the call stack.
 */
export function someScalarText(value: unknown, visit: (text: string) => boolean): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const current = pending.pop();
    if (current !== null && typeof current === "object") {
      if (Array.isArray(current)) for (let k = current.length - 1; k >= 0; k--) pending.push(current[k]);
      else {
        const values = Object.values(current as Record<string, unknown>);
        for (let k = values.length - 1; k >= 0; k--) pending.push(values[k]);
      }
      continue;
    }
    const text = scalarText(current);
    if (text !== undefined && visit(text)) return true;
  }
  return false;
}

/** Whether any value of `entry`, nested ones included, contains `foldedQ` (already folded) ignoring ASCII case. */
export function valuesContain(value: unknown, foldedQ: string): boolean {
  return someScalarText(
    value,
    (text) => text.length >= foldedQ.length && (text.includes(foldedQ) || (hasUpperAscii(text) && foldAscii(text).includes(foldedQ))),
  );
}

function hasUpperAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 65 && c <= 90) return true;
  }
  return false;
}

/** Bits of a block's trigram filter. */
export const BLOOM_BITS = 16384;
export const BLOOM_BYTES = BLOOM_BITS / 8;

/** The filter bit of the trigram at text[at, at + 3). */
export function trigramBit(text: string, at: number): number {
  let hash = Math.imul(text.charCodeAt(at), 0x9e3779b1);
  hash = Math.imul(hash ^ text.charCodeAt(at + 1), 0x85ebca77);
  hash = Math.imul(hash ^ text.charCodeAt(at + 2), 0xc2b2ae3d);
  return (hash ^ (hash >>> 15)) & (BLOOM_BITS - 1);
}

/** Sets the bits of every trigram of `folded` in the filter at `base` (bytes). */
export function addTrigrams(bloom: Uint8Array, base: number, folded: string): void {
  if (folded.length < 3) return;
  // trigramBit's hash, each character read once.
  let a = Math.imul(folded.charCodeAt(0), 0x9e3779b1);
  let b = folded.charCodeAt(1);
  for (let at = 2; at < folded.length; at++) {
    const c = folded.charCodeAt(at);
    let hash = Math.imul(a ^ b, 0x85ebca77);
    hash = Math.imul(hash ^ c, 0xc2b2ae3d);
    const bit = (hash ^ (hash >>> 15)) & (BLOOM_BITS - 1);
    bloom[base + (bit >> 3)]! |= 1 << (bit & 7);
    a = Math.imul(b, 0x9e3779b1);
    b = c;
  }
}

/** addTrigrams of the ASCII text in buffer[start, end), folded as foldAscii does. */
export function addTrigramBytes(bloom: Uint8Array, base: number, buffer: Uint8Array, start: number, end: number): void {
  if (end - start < 3) return;
  const fold = (c: number) => (c >= 65 && c <= 90 ? c + 32 : c);
  let a = Math.imul(fold(buffer[start]!), 0x9e3779b1);
  let b = fold(buffer[start + 1]!);
  for (let at = start + 2; at < end; at++) {
    const c = fold(buffer[at]!);
    let hash = Math.imul(a ^ b, 0x85ebca77);
    hash = Math.imul(hash ^ c, 0xc2b2ae3d);
    const bit = (hash ^ (hash >>> 15)) & (BLOOM_BITS - 1);
    bloom[base + (bit >> 3)]! |= 1 << (bit & 7);
    a = Math.imul(b, 0x9e3779b1);
    b = c;
  }
}

/** Whether the filter at `base` may hold every trigram of `folded` (always true for text shorter than 3). */
export function mayContain(bloom: Uint8Array, base: number, bits: number[]): boolean {
  for (const bit of bits) if ((bloom[base + (bit >> 3)]! & (1 << (bit & 7))) === 0) return false;
  return true;
}

export function trigramBits(folded: string): number[] {
  const bits: number[] = [];
  for (let at = 0; at + 3 <= folded.length; at++) bits.push(trigramBit(folded, at));
  return bits;
}
