import { readSync } from "node:fs";

/** The parts of a trail's index a text search reads. */
export interface SearchableTrail {
  readonly count: number;
  readonly fileColumn: Uint32Array;
  readonly offsetColumn: Float64Array;
  readonly lengthColumn: Uint32Array;
  descriptorOf(fileId: number): number;
}

const CHUNK_BYTES = 8 * 1024 * 1024;

/**
 * A WebAssembly function fold(src, dst, bytes) that ORs every 8-byte word with
 * 0x2020202020202020, and its 16 MiB memory (two chunk buffers). Hand-assembled
 * (no build step): about 5x faster than the same loop in JavaScript, which is
 * most of a free-text search's time.
 */
const FOLD_WASM =
  "AGFzbQEAAAABBwFgA39/fwADAgEABQQBAIACBxECBm1lbW9yeQIABGZvbGQAAAo3ATUBAX8CQANAIAMgAk8NASABIANqIAAgA2opAwBCoMCAgYKEiJAghDcDACADQQhqIQMMAAsLCw==";

interface ChunkFolder {
  raw: Buffer;
  folded: Buffer;
  /** Folds raw[0, bytes) into folded. */
  fold(bytes: number): void;
}

/** The little of the WebAssembly API used here (the compiler's lib has no WebAssembly types without DOM). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}

let sharedFolder: ChunkFolder | null = null;

/** One folder for the process: searches run synchronously, one at a time. */
function chunkFolder(): ChunkFolder {
  if (sharedFolder) return sharedFolder;
  try {
    const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    const instance = new wasm.Instance(new wasm.Module(Buffer.from(FOLD_WASM, "base64")));
    const memory = (instance.exports.memory as { buffer: ArrayBuffer }).buffer;
    const fold = instance.exports.fold as (src: number, dst: number, bytes: number) => void;
    sharedFolder = {
      raw: Buffer.from(memory, 0, CHUNK_BYTES),
      folded: Buffer.from(memory, CHUNK_BYTES, CHUNK_BYTES),
      fold: (bytes) => fold(0, CHUNK_BYTES, (bytes + 7) & ~7),
    };
  } catch {
    // No WebAssembly (a locked-down runtime): the same fold in JavaScript, over Int32 words (Uint32 would leave small integers).
    const raw = Buffer.allocUnsafeSlow(CHUNK_BYTES);
    const folded = Buffer.allocUnsafeSlow(CHUNK_BYTES);
    const rawWords = new Int32Array(raw.buffer, raw.byteOffset, CHUNK_BYTES >> 2);
    const foldedWords = new Int32Array(folded.buffer, folded.byteOffset, CHUNK_BYTES >> 2);
    sharedFolder = {
      raw,
      folded,
      fold: (bytes) => {
        const words = (bytes + 3) >> 2;
        for (let w = 0; w < words; w++) foldedWords[w] = rawWords[w]! | 0x20202020;
      },
    };
  }
  return sharedFolder;
}

/**
 * Free-text search over the raw bytes of the trail files, so that no text is
 * kept in memory: each chunk is folded (every byte OR 0x20, which makes ASCII
 * letters lower case and maps a few symbols together), searched with
 * Buffer.indexOf (memmem), and every candidate is confirmed on the original
 * bytes. Matching is case-insensitive for ASCII letters and exact otherwise.
 * A needle is also looked for in its JSON-escaped forms (quotes, and \uXXXX as
 * Python's json.dumps writes non-ASCII text). A match that lies inside a field
 * name does not count: `q=amount` finds entries that mention an amount, not
 * every entry that has one.
 */
export class TextSearch {
  private readonly needles: Buffer[];
  private readonly foldedNeedles: Buffer[];
  readonly longestNeedle: number;

  constructor(readonly text: string) {
    const variants = new Set<string>([text, JSON.stringify(text).slice(1, -1)]);
    variants.add(
      JSON.stringify(text)
        .slice(1, -1)
        .replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`),
    );
    this.needles = [...variants].filter((v) => v.length > 0).map((v) => Buffer.from(v, "utf8"));
    this.foldedNeedles = this.needles.map((needle) => Buffer.from(needle.map((byte) => byte | 0x20)));
    this.longestNeedle = Math.max(1, ...this.needles.map((n) => n.length));
  }

  /** A bitmap over the entries: 1 where the entry's line contains the text. */
  scan(trail: SearchableTrail): Uint8Array {
    const bits = new Uint8Array(trail.count);
    for (const ordinals of ordinalsByFile(trail)) this.scanFile(trail, ordinals, bits);
    return bits;
  }

  /** Whether one line (raw bytes) contains the text. */
  matchesLine(line: Buffer): boolean {
    const folded = Buffer.from(line.map((byte) => byte | 0x20));
    for (let v = 0; v < this.needles.length; v++) {
      const needle = this.needles[v]!;
      let at = folded.indexOf(this.foldedNeedles[v]!, 0);
      while (at >= 0) {
        if (sameIgnoringAsciiCase(line, at, needle) && !insideFieldName(line, 0, line.length, at, needle.length)) return true;
        at = folded.indexOf(this.foldedNeedles[v]!, at + 1);
      }
    }
    return false;
  }

  private scanFile(trail: SearchableTrail, ordinals: Int32Array, bits: Uint8Array): void {
    const fd = trail.descriptorOf(trail.fileColumn[ordinals[0]!]!);
    const offsets = trail.offsetColumn;
    const lengths = trail.lengthColumn;
    const first = ordinals[0]!;
    const last = ordinals[ordinals.length - 1]!;
    const end = offsets[last]! + lengths[last]!;
    const folder = chunkFolder();
    const { raw, folded } = folder;
    let position = offsets[first]!;
    while (position < end) {
      const read = readSync(fd, raw, 0, Math.min(CHUNK_BYTES, end - position), position);
      if (read <= 0) break;
      folder.fold(read);
      const view = folded.subarray(0, read);
      const last = position + read >= end;
      // Matches that start past the last newline are found again in the next chunk, whole.
      let usable = read;
      if (!last) {
        const newline = raw.lastIndexOf(10, read - 1);
        usable = newline >= 0 ? newline + 1 : Math.max(1, read - this.longestNeedle + 1);
      }
      for (let v = 0; v < this.needles.length; v++) {
        const needle = this.needles[v]!;
        const foldedNeedle = this.foldedNeedles[v]!;
        let at = view.indexOf(foldedNeedle, 0);
        while (at >= 0 && at < usable) {
          let next = at + 1;
          if (sameIgnoringAsciiCase(raw, at, needle)) {
            const ordinal = entryAt(ordinals, offsets, lengths, position + at);
            // A line that began in an earlier chunk (longer than a chunk) is not checked for field names.
            const lineStart = ordinal >= 0 ? offsets[ordinal]! - position : -1;
            const lineEnd = ordinal >= 0 ? Math.min(read, lineStart + lengths[ordinal]!) : 0;
            if (ordinal >= 0 && (lineStart < 0 || !insideFieldName(raw, lineStart, lineEnd, at, needle.length))) {
              bits[ordinal] = 1;
              // The rest of this line cannot add anything.
              next = Math.max(next, offsets[ordinal]! + lengths[ordinal]! - position);
            }
          }
          at = next < read ? view.indexOf(foldedNeedle, next) : -1;
        }
      }
      position += usable;
    }
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;

/** Bytes that may follow a closing quote in JSON (after it come only these). */
function mayFollowClosingQuote(byte: number | undefined): boolean {
  return byte === 0x2c || byte === COLON || byte === 0x7d || byte === 0x5d || byte === 0x20 || byte === 0x09;
}

/** Whether the quote at `quote` is escaped (an odd run of backslashes before it). */
function isEscaped(bytes: Uint8Array, lineStart: number, quote: number): boolean {
  let backslashes = 0;
  for (let i = quote - 1; i >= lineStart && bytes[i] === BACKSLASH; i--) backslashes++;
  return backslashes % 2 === 1;
}

/**
 * Whether bytes [at, at + length) of the JSON line at [lineStart, lineEnd)
 * lie within one object key: inside a string whose closing quote is followed
 * (after any spaces, as Python's json.dumps writes them) by a colon. Looks
 * only around the match: the nearest unescaped quote before it opens the
 * string that holds it unless what follows that quote could follow a closing
 * quote, and only then (a key or value starting with ",:}] or a space) is
 * the line read from its start.
 */
function insideFieldName(bytes: Uint8Array, lineStart: number, lineEnd: number, at: number, length: number): boolean {
  let opening = at - 1;
  while (opening >= lineStart && (bytes[opening] !== QUOTE || isEscaped(bytes, lineStart, opening))) opening--;
  if (opening < lineStart) return false;
  if (mayFollowClosingQuote(bytes[opening + 1]) && !insideStringFromLineStart(bytes, lineStart, at)) return false;
  const end = at + length;
  let closing = at;
  for (; closing < lineEnd; closing++) {
    const byte = bytes[closing]!;
    if (byte === BACKSLASH) closing++;
    else if (byte === QUOTE) break;
  }
  if (closing < end || closing >= lineEnd) return false;
  let next = closing + 1;
  while (next < lineEnd && (bytes[next] === 0x20 || bytes[next] === 0x09)) next++;
  return next < lineEnd && bytes[next] === COLON;
}

/** Whether byte `at` is inside a string, reading the line's quotes from its start. */
function insideStringFromLineStart(bytes: Uint8Array, lineStart: number, at: number): boolean {
  let inString = false;
  for (let i = lineStart; i < at; i++) {
    const byte = bytes[i]!;
    if (byte === BACKSLASH && inString) i++;
    else if (byte === QUOTE) inString = !inString;
  }
  return inString;
}

function sameIgnoringAsciiCase(haystack: Uint8Array, at: number, needle: Uint8Array): boolean {
  for (let i = 0; i < needle.length; i++) {
    const a = haystack[at + i]!;
    const b = needle[i]!;
    if (a === b) continue;
    const lower = a | 0x20;
    if (lower !== (b | 0x20) || lower < 97 || lower > 122) return false;
  }
  return true;
}

/** The entry whose line contains byte `position` of its file, or -1 (a skipped, malformed line). */
function entryAt(ordinals: Int32Array, offsets: Float64Array, lengths: Uint32Array, position: number): number {
  let low = 0;
  let high = ordinals.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const ordinal = ordinals[mid]!;
    const start = offsets[ordinal]!;
    if (position < start) high = mid - 1;
    else if (position >= start + lengths[ordinal]!) low = mid + 1;
    else return ordinal;
  }
  return -1;
}

/** The entries of each file, in file order (their offsets ascend). File ids are small integers. */
function ordinalsByFile(trail: SearchableTrail): Int32Array[] {
  const files = trail.fileColumn;
  let maxId = 0;
  for (let i = 0; i < trail.count; i++) if (files[i]! > maxId) maxId = files[i]!;
  const counts = new Uint32Array(maxId + 1);
  for (let i = 0; i < trail.count; i++) counts[files[i]!]!++;
  const lists: Int32Array[] = [];
  const byId: Array<Int32Array | undefined> = [];
  for (let id = 0; id <= maxId; id++) if (counts[id]! > 0) lists.push((byId[id] = new Int32Array(counts[id]!)));
  const filled = new Uint32Array(maxId + 1);
  for (let i = 0; i < trail.count; i++) {
    const id = files[i]!;
    byId[id]![filled[id]!++] = i;
  }
  return lists;
}
