import { foldAscii } from "../../internal/foldAscii.js";
import { BLOCK_SHIFT, type ChunkView, TEMPLATE_MODE } from "./Chunk.js";
import type { JobPool } from "./JobPool.js";
import type { VerifyJob } from "./jobs.js";
import type { Slicer } from "./Slicer.js";
import { BLOOM_BYTES, hasControl, hasDigit, maskDigits, mayContain, trigramBits } from "./text.js";

/** A chunk to search, with what a check of its lines needs. */
export interface TextPart {
  view: ChunkView;
  /** Where a verify job reads the chunk's lines; null when they cannot be read now. */
  source(): VerifyJob["source"] | null;
  /** Keeps that source open while a job reads it; the returned function lets go. */
  hold(): () => void;
}

interface Cached {
  bits: Uint8Array;
  /** Entries marked. */
  matches: number;
  covered: number;
  version: number;
}

/** The entries of a chunk whose values contain the text, and how many they are. */
export interface TextMatches {
  bits: Uint8Array;
  matches: number;
}

/** Searches remembered, each with its bitmaps per chunk. */
const CACHED_SEARCHES = 4;

interface Evaluation {
  part: TextPart;
  entry: Cached;
  /** Entries that may hold the text and must be checked on their lines. */
  ranges: number[];
}

/**
 * Free text over chunks: exact answers from the dictionaries where the
 * values are in them, and checks of the lines (verify jobs, on the worker
 * threads) only where they are not: raw fields whose block filter lets the
 * text's trigrams through, and templated fields when the text has digits and
 * fits the template. Results are bitmaps per chunk, remembered for a few
 * searches and extended when a chunk grows.
 */
export class TextMatcher {
  private readonly cache = new Map<string, Map<ChunkView, Cached>>();

  constructor(private readonly pool: JobPool) {}

  /** Bitmaps of the entries (of each part) whose values contain `q`. */
  async bits(q: string, parts: TextPart[], slicer: Slicer): Promise<Map<ChunkView, TextMatches>> {
    let remembered = this.cache.get(q);
    if (remembered) this.cache.delete(q);
    remembered ??= new Map();
    this.cache.set(q, remembered);
    while (this.cache.size > CACHED_SEARCHES) this.cache.delete(this.cache.keys().next().value!);

    const result = new Map<ChunkView, TextMatches>();
    const pending: Evaluation[] = [];
    const query = new PreparedText(q);
    for (const part of parts) {
      const view = part.view;
      const cached = remembered.get(view);
      if (cached && cached.version === view.version && cached.covered === view.count) {
        result.set(view, cached);
        continue;
      }
      const extend = cached !== undefined && cached.version === view.version;
      const from = extend ? cached.covered : 0;
      const bits = new Uint8Array(view.count);
      if (extend && from > 0) bits.set(cached.bits.subarray(0, from));
      const { ranges, matched } = query.evaluate(view, from, view.count, bits);
      const entry: Cached = { bits, matches: (extend ? cached.matches : 0) + matched, covered: view.count, version: view.version };
      if (ranges.length > 0) pending.push({ part, entry, ranges });
      remembered.set(view, entry);
      result.set(view, entry);
      await slicer.pause();
    }
    await Promise.all(pending.map((evaluation) => this.verify(evaluation, q)));
    // Chunks no longer searched (sealed or dropped) are forgotten.
    for (const view of remembered.keys()) if (!result.has(view)) remembered.delete(view);
    return result;
  }

  /** Forgets every remembered search (entries changed meaning). */
  clear(): void {
    this.cache.clear();
  }

  private async verify({ part, entry, ranges }: Evaluation, q: string): Promise<void> {
    const bits = entry.bits;
    const source = part.source();
    if (!source) return;
    const release = part.hold();
    let matches: number[];
    try {
      matches = await this.pool.verify({ kind: "verify", source, ranges, q });
    } finally {
      release();
    }
    const { offsets, start } = part.view;
    for (const lineStart of matches) {
      const i = entryAt(offsets, lineStart - start);
      if (i >= 0 && i < bits.length && bits[i] === 0) {
        bits[i] = 1;
        entry.matches++;
      }
    }
  }
}

/** The index of the entry whose line starts at `offset` (relative to the chunk), or -1. */
function entryAt(offsets: Uint32Array, offset: number): number {
  let low = 0;
  let high = offsets.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const at = offsets[mid]!;
    if (at === offset) return mid;
    if (at < offset) low = mid + 1;
    else high = mid - 1;
  }
  return -1;
}

/** A search text in the forms the index compares. */
class PreparedText {
  private readonly folded: string;
  private readonly masked: string;
  private readonly digits: boolean;
  /** Control characters never appear in dictionaries: every line is checked. */
  private readonly checkAll: boolean;
  private readonly trigrams: number[];

  constructor(q: string) {
    this.folded = foldAscii(q);
    this.digits = hasDigit(q);
    this.masked = maskDigits(this.folded);
    this.checkAll = hasControl(q);
    this.trigrams = trigramBits(this.folded);
  }

  /**
   * Marks in `bits` the entries of [from, to) the dictionaries prove to
   * match (counting them), and returns the content ranges ([start, end)
   * pairs) of the others that must be checked on their lines.
   */
  evaluate(view: ChunkView, from: number, to: number, bits: Uint8Array): { ranges: number[]; matched: number } {
    const check = new Uint8Array(to - from);
    let checking = this.checkAll;
    let matched = 0;
    if (this.checkAll) check.fill(1);
    else {
      for (const field of view.fields) {
        const high = Math.min(to, field.rawFrom);
        if (high <= from) continue;
        const templated = field.mode === TEMPLATE_MODE;
        const exact = !templated || !this.digits;
        const marks = field.containing(exact ? this.folded : this.masked);
        if (!marks) continue;
        const ids = field.ids;
        const positions = field.positions;
        if (!exact) {
          // Entries whose lines must be checked.
          checking = true;
          if (positions) {
            for (let k = 0; k < positions.length; k++) {
              const i = positions[k]!;
              if (i >= from && i < high && marks[ids ? ids[k]! : field.constant] === 1) check[i - from] = 1;
            }
          } else if (!ids) {
            if (marks[field.constant] === 1) check.fill(1, 0, high - from);
          } else for (let i = from; i < high; i++) if (marks[ids[i]!] === 1) check[i - from] = 1;
          continue;
        }
        // Matches, counted as they are marked (an entry may match in several fields).
        if (positions) {
          // A sparse field: only the entries that have it.
          for (let k = 0; k < positions.length; k++) {
            const i = positions[k]!;
            if (i >= from && i < high && bits[i] === 0 && marks[ids ? ids[k]! : field.constant] === 1) {
              bits[i] = 1;
              matched++;
            }
          }
        } else if (!ids) {
          if (marks[field.constant] === 1) {
            for (let i = from; i < high; i++) {
              matched += 1 - bits[i]!;
              bits[i] = 1;
            }
          }
        } else {
          for (let i = from; i < high; i++) {
            if (marks[ids[i]!] === 1 && bits[i] === 0) {
              bits[i] = 1;
              matched++;
            }
          }
        }
      }
      const flags = view.rawBlocks;
      const bloom = view.rawBloom;
      if (flags && bloom) {
        for (let block = from >> BLOCK_SHIFT; block <= (to - 1) >> BLOCK_SHIFT; block++) {
          if (flags[block] !== 1 || !mayContain(bloom, block * BLOOM_BYTES, this.trigrams)) continue;
          const low = Math.max(from, block << BLOCK_SHIFT);
          const high = Math.min(to, (block + 1) << BLOCK_SHIFT);
          check.fill(1, low - from, high - from);
          checking = true;
        }
      }
    }
    const ranges: number[] = [];
    if (!checking) return { ranges, matched };
    const { offsets, start, end, count } = view;
    let runStart = -1;
    for (let i = from; i <= to; i++) {
      const needed = i < to && check[i - from] === 1 && bits[i] !== 1;
      if (needed && runStart < 0) runStart = i;
      if (!needed && runStart >= 0) {
        ranges.push(start + offsets[runStart]!, i < count ? start + offsets[i]! : end);
        runStart = -1;
      }
    }
    return { ranges, matched };
  }
}
