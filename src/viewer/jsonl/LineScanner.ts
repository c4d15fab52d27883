/**
 * A lean reader of the common shape of a trail line: one JSON object whose
 * values are scalars or objects of scalars, keys plain ASCII, written without
 * or with ordinary whitespace. It records where each member's key and value
 * are in the bytes (no object, and no string for a plain ASCII value), so
 * that the index is built from the bytes themselves. Whatever it does not
 * handle exactly as JSON.parse would (arrays, deeper nesting, escaped or
 * numeric keys, duplicate keys, anything not valid) makes scan() return
 * false: the caller then parses the line with JSON.parse.
 */

/** A string of printable ASCII without escapes: its bytes are its text. */
export const PLAIN = 0;
/** A string with escapes or non-ASCII characters: its text is in `texts`. */
export const TEXT = 1;
export const NUMBER = 2;
export const TRUE = 3;
export const FALSE = 4;
export const NULL = 5;
/** An object of scalars: its members follow, with this member as `parent`. */
export const OBJECT = 6;

/** Members of a line the scanner takes (top level and nested together); more go to JSON.parse. */
const MAX_MEMBERS = 256;
/** Distinct keys a scanner remembers per object level (a trail with ever new keys goes to JSON.parse past it). */
const MAX_KEYS = 4096;

let nextKeyId = 0;

/**
 * A key the scanner has met (at the top level, or in one top-level key's
 * object): its text made once, and what usually follows it, so that most
 * keys are recognised by comparing their bytes with the expected ones.
 */
export class KeySlot {
  /** The key that followed this one last time, and the first key of this one's object. */
  next: KeySlot | null = null;
  firstChild: KeySlot | null = null;
  /** Keys met in this one's object, by the hash of their bytes. */
  readonly children = new Map<number, KeySlot>();
  childCount = 0;
  /** Another key of the same level with the same hash. */
  sameHash: KeySlot | null = null;
  /** The object being read that has this key already (duplicates go to JSON.parse). */
  stamp = 0;
  /** For the reader of the members: whatever it keeps per key (-1 until it sets it). */
  tag = -1;
  /** Unique in the thread: readers index what they keep per key by it. */
  readonly id = nextKeyId++;
  /** Not an array index nor "__proto__": for-in order and own properties are then as in the line. */
  readonly usable: boolean;

  constructor(
    readonly text: string,
    readonly bytes: Uint8Array,
  ) {
    this.usable = !/^[0-9]+$/.test(text) && text !== "__proto__";
  }
}

/** The members of the last line scanned, in document order (a nested object's right after it). */
export class ScannedLine {
  count = 0;
  readonly keys: KeySlot[] = new Array(MAX_MEMBERS);
  readonly kind = new Uint8Array(MAX_MEMBERS);
  /** PLAIN: the bytes inside the quotes; NUMBER: its text. */
  readonly valueStart = new Int32Array(MAX_MEMBERS);
  readonly valueEnd = new Int32Array(MAX_MEMBERS);
  /** PLAIN: the FNV-1a hash of its bytes. */
  readonly valueHash = new Int32Array(MAX_MEMBERS);
  /** The member holding this one (-1: top level). */
  readonly parent = new Int16Array(MAX_MEMBERS);
  readonly numbers = new Float64Array(MAX_MEMBERS);
  readonly texts: Array<string | undefined> = new Array(MAX_MEMBERS);
  /** The top level's keys. */
  private readonly top = new KeySlot("", new Uint8Array(0));
  private stamp = 0;

  /** Reads the line buffer[start, end); false when JSON.parse must read it. */
  scan(buffer: Buffer, start: number, end: number): boolean {
    this.count = 0;
    let at = skipSpace(buffer, start, end);
    if (at >= end || buffer[at] !== 0x7b) return false;
    at = this.object(buffer, at + 1, end, -1, this.top);
    if (at < 0) return false;
    return skipSpace(buffer, at, end) === end;
  }

  /** Reads the members of an object after its "{" (keys of `level`); the offset past its "}", or -1. */
  private object(buffer: Buffer, from: number, end: number, parent: number, level: KeySlot): number {
    const stamp = ++this.stamp;
    let at = skipSpace(buffer, from, end);
    if (at < end && buffer[at] === 0x7d) return at + 1;
    let previous: KeySlot | null = null;
    for (;;) {
      if (at >= end || buffer[at] !== 0x22) return -1;
      const m = this.count;
      if (m >= MAX_MEMBERS) return -1;
      at++;
      // Most keys are the one that followed the previous key last time: compared, not hashed.
      let key: KeySlot | null = previous === null ? level.firstChild : previous.next;
      if (key !== null) {
        const bytes = key.bytes;
        const length = bytes.length;
        if (at + length < end && buffer[at + length] === 0x22) {
          for (let k = 0; k < length; k++) {
            if (buffer[at + k] !== bytes[k]) {
              key = null;
              break;
            }
          }
        } else key = null;
      }
      if (key === null) {
        key = this.findKey(buffer, at, end, level);
        if (key === null) return -1;
        if (previous === null) level.firstChild = key;
        else previous.next = key;
      }
      if (!key.usable || key.stamp === stamp) return -1;
      key.stamp = stamp;
      previous = key;
      // Separators without spaces (as JSON.stringify writes) are taken without calling skipSpace.
      at += key.bytes.length + 1;
      if (buffer[at] !== 0x3a) at = skipSpace(buffer, at, end);
      if (at >= end || buffer[at] !== 0x3a) return -1;
      at++;
      if (SPACE[buffer[at]!] === 1) at = skipSpace(buffer, at, end);
      if (at >= end) return -1;
      this.count = m + 1;
      this.keys[m] = key;
      this.parent[m] = parent;
      this.texts[m] = undefined;
      const c = buffer[at]!;
      if (c === 0x22) at = this.string(buffer, at + 1, end, m);
      else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) at = this.number(buffer, at, end, m);
      else if (c === 0x74) at = literal(buffer, at, end, TRUE_BYTES) ? this.mark(m, TRUE, at + 4) : -1;
      else if (c === 0x66) at = literal(buffer, at, end, FALSE_BYTES) ? this.mark(m, FALSE, at + 5) : -1;
      else if (c === 0x6e) at = literal(buffer, at, end, NULL_BYTES) ? this.mark(m, NULL, at + 4) : -1;
      else if (c === 0x7b && parent < 0) {
        this.kind[m] = OBJECT;
        at = this.object(buffer, at + 1, end, m, key);
      } else return -1;
      if (at < 0) return -1;
      if (SPACE[buffer[at]!] === 1) at = skipSpace(buffer, at, end);
      if (at >= end) return -1;
      if (buffer[at] === 0x2c) {
        at++;
        if (SPACE[buffer[at]!] === 1) at = skipSpace(buffer, at, end);
        continue;
      }
      return buffer[at] === 0x7d ? at + 1 : -1;
    }
  }

  /** The key starting at `from` (after its quote) among the level's, remembered if new; null when it is not plain ASCII. */
  private findKey(buffer: Buffer, from: number, end: number, level: KeySlot): KeySlot | null {
    let hash = 0x811c9dc5;
    let at = from;
    for (;;) {
      const c = buffer[at]!;
      if (SPECIAL[c] !== 0) {
        if (at >= end || c !== 0x22) return null;
        break;
      }
      hash = Math.imul(hash ^ c, 0x01000193);
      at++;
    }
    const first = level.children.get(hash);
    for (let key = first ?? null; key !== null; key = key.sameHash) {
      if (key.bytes.length !== at - from) continue;
      let same = true;
      for (let k = 0; k < key.bytes.length; k++) {
        if (buffer[from + k] !== key.bytes[k]) {
          same = false;
          break;
        }
      }
      if (same) return key;
    }
    if (level.childCount >= MAX_KEYS) return null;
    const key = new KeySlot(asciiText(buffer, from, at), Uint8Array.prototype.slice.call(buffer, from, at));
    key.sameHash = first ?? null;
    level.children.set(hash, key);
    level.childCount++;
    return key;
  }

  private mark(m: number, kind: number, next: number): number {
    this.kind[m] = kind;
    return next;
  }

  /** A string value after its opening quote; the offset past its closing quote, or -1. */
  private string(buffer: Buffer, from: number, end: number, m: number): number {
    let at = from;
    let escaped = false;
    let wide = false;
    let hash = 0x811c9dc5;
    for (;;) {
      // One table look-up per ordinary byte; a read past the buffer (undefined) is special too.
      const c = buffer[at]!;
      if (SPECIAL[c] === 0) {
        hash = Math.imul(hash ^ c, 0x01000193);
        at++;
        continue;
      }
      if (at >= end) return -1;
      if (c === 0x22) break;
      if (c < 0x20) return -1;
      if (c === 0x5c) {
        escaped = true;
        at += 2;
        continue;
      }
      wide = true;
      hash = Math.imul(hash ^ c, 0x01000193);
      at++;
    }
    // An escape just before the line's end skipped past it.
    if (at >= end) return -1;
    this.valueStart[m] = from;
    this.valueEnd[m] = at;
    this.valueHash[m] = hash;
    if (!escaped && !wide) {
      this.kind[m] = PLAIN;
      return at + 1;
    }
    // The line is valid UTF-8 (the caller checked): decoding it piecewise gives JSON.parse's text.
    if (escaped) {
      try {
        this.texts[m] = JSON.parse(buffer.toString("utf8", from - 1, at + 1)) as string;
      } catch {
        return -1;
      }
    } else this.texts[m] = buffer.toString("utf8", from, at);
    this.kind[m] = TEXT;
    return at + 1;
  }

  /** A number (JSON's grammar); the offset past it, or -1. */
  private number(buffer: Buffer, from: number, end: number, m: number): number {
    let at = from;
    const negative = buffer[at] === 0x2d;
    if (negative) at++;
    if (at >= end) return -1;
    let value = 0;
    const digitsStart = at;
    if (buffer[at] === 0x30) at++;
    else {
      while (at < end && buffer[at]! >= 0x30 && buffer[at]! <= 0x39) {
        value = value * 10 + (buffer[at]! - 0x30);
        at++;
      }
      if (at === digitsStart) return -1;
    }
    let simple = at - digitsStart <= 15;
    if (at < end && buffer[at] === 0x2e) {
      simple = false;
      const fraction = ++at;
      while (at < end && buffer[at]! >= 0x30 && buffer[at]! <= 0x39) at++;
      if (at === fraction) return -1;
    }
    if (at < end && (buffer[at] === 0x65 || buffer[at] === 0x45)) {
      simple = false;
      at++;
      if (at < end && (buffer[at] === 0x2b || buffer[at] === 0x2d)) at++;
      const exponent = at;
      while (at < end && buffer[at]! >= 0x30 && buffer[at]! <= 0x39) at++;
      if (at === exponent) return -1;
    }
    this.kind[m] = NUMBER;
    this.valueStart[m] = from;
    this.valueEnd[m] = at;
    // Up to 15 digits an integer is exact; other numbers are converted as JSON.parse does (correctly rounded).
    this.numbers[m] = simple ? (negative ? -value : value) : Number(asciiText(buffer, from, at));
    return at;
  }
}

/** Bytes a string or key stops at: the quote, the backslash, control characters and all past ASCII's printable ones. */
const SPECIAL = new Uint8Array(256).map((_, c) => (c === 0x22 || c === 0x5c || c < 0x20 || c >= 0x7f ? 1 : 0));
/** JSON's whitespace. */
const SPACE = new Uint8Array(256).map((_, c) => (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a ? 1 : 0));

const TRUE_BYTES = [0x74, 0x72, 0x75, 0x65];
const FALSE_BYTES = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL_BYTES = [0x6e, 0x75, 0x6c, 0x6c];

function literal(buffer: Buffer, at: number, end: number, bytes: number[]): boolean {
  if (at + bytes.length > end) return false;
  for (let k = 0; k < bytes.length; k++) if (buffer[at + k] !== bytes[k]) return false;
  return true;
}

/** JSON's whitespace (a line holds no newline). */
function skipSpace(buffer: Buffer, at: number, end: number): number {
  while (at < end) {
    const c = buffer[at]!;
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a) break;
    at++;
  }
  return at;
}

/** The text of ASCII bytes (Buffer's own latin1Slice: toString's checks cost as much as the copy). */
export function asciiText(buffer: Buffer, start: number, end: number): string {
  return (buffer as Buffer & { latin1Slice(start: number, end: number): string }).latin1Slice(start, end);
}
