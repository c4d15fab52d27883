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

/** One folder per thread: a search uses it synchronously, between two of its pauses. */
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
 * The quick look for free text in raw lines: each block of bytes is folded
 * (every byte OR 0x20, which makes ASCII letters lower case and maps a few
 * symbols together) and searched with Buffer.indexOf (memmem), and every
 * candidate is confirmed on the original bytes, case-insensitively for ASCII
 * letters. A needle is also looked for in its JSON-escaped forms (quotes, and
 * \uXXXX as Python's json.dumps writes non-ASCII text). A line it finds may
 * still hold the text only in a field name: the caller parses it to check.
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

  /**
   * Calls `line(start, end)` for each line of bytes[0, length) (whole lines,
   * newline-separated) that contains the text in some form; each line once,
   * in order.
   */
  linesContaining(bytes: Buffer, length: number, line: (start: number, end: number) => void): void {
    const folder = chunkFolder();
    for (let base = 0; base < length; ) {
      // Pieces of at most CHUNK_BYTES, cut after a newline when the rest is longer.
      let stop = Math.min(length, base + CHUNK_BYTES);
      if (stop < length) {
        const newline = bytes.lastIndexOf(10, stop - 1);
        if (newline >= base) stop = newline + 1;
      }
      const pieceLength = stop - base;
      if (pieceLength <= CHUNK_BYTES) {
        bytes.copy(folder.raw, 0, base, stop);
        folder.fold(pieceLength);
        this.searchPiece(folder.raw, folder.folded.subarray(0, pieceLength), pieceLength, base, line);
      } else {
        // One line longer than a piece: fold it on its own.
        const raw = bytes.subarray(base, stop);
        this.searchPiece(raw, Buffer.from(raw.map((byte) => byte | 0x20)), pieceLength, base, line);
      }
      base = stop;
    }
  }

  private searchPiece(raw: Buffer, folded: Buffer, length: number, base: number, line: (start: number, end: number) => void): void {
    const hits: number[] = [];
    for (let v = 0; v < this.needles.length; v++) {
      const needle = this.needles[v]!;
      const foldedNeedle = this.foldedNeedles[v]!;
      let at = folded.indexOf(foldedNeedle, 0);
      while (at >= 0 && at < length) {
        if (sameIgnoringAsciiCase(raw, at, needle)) {
          hits.push(at);
          // The rest of this line cannot add anything.
          const newline = raw.indexOf(10, at);
          if (newline < 0 || newline >= length) break;
          at = folded.indexOf(foldedNeedle, newline + 1);
        } else at = folded.indexOf(foldedNeedle, at + 1);
      }
    }
    if (hits.length === 0) return;
    hits.sort((a, b) => a - b);
    let lastStart = -1;
    for (const hit of hits) {
      const start = hit === 0 ? 0 : raw.lastIndexOf(10, hit - 1) + 1;
      if (start === lastStart) continue;
      lastStart = start;
      let end = raw.indexOf(10, hit);
      if (end < 0 || end > length) end = length;
      line(base + start, base + end);
    }
  }
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
