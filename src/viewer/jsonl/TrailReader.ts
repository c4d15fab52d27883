import { entryIdOf } from "../../entry/entryId.js";
import type { EntryFilter } from "../EntryQuery.js";
import { bucketOf, type HistogramRequest, histogramLayout, type TimeHistogram } from "../TimeHistogram.js";
import type { EntriesSince, TrailEntry, TrailScope, TrailStats } from "../TrailSource.js";
import { Chunk, type ChunkStats, type ChunkView, countChunk, hashText } from "./Chunk.js";
import type { JobPool } from "./JobPool.js";
import { EntryTests, PartFilter } from "./PartFilter.js";
import { lineEnd } from "./Segment.js";
import { SLICE_MS, Slicer } from "./Slicer.js";
import { TextMatcher, type TextMatches } from "./TextMatcher.js";
import type { TrailBuilder } from "./TrailBuilder.js";
import type { Part, TrailState } from "./TrailState.js";

/** One page of a query, before its lines are read. */
interface Ref {
  part: Part;
  i: number;
}

/**
 * Reads the lines of a batch off the event loop first (an export reads
 * thousands of lines the page cache may not hold): runs of nearby lines
 * of one chunk as one read each, all at once.
 */
async function prefetch(refs: Ref[]): Promise<void> {
  const reads: Array<Promise<void>> = [];
  for (let k = 0; k < refs.length; ) {
    const { part } = refs[k]!;
    let low = refs[k]!.i;
    let high = low;
    for (k++; k < refs.length && refs[k]!.part === part && Math.abs(refs[k]!.i - refs[k - 1]!.i) <= 64; k++) {
      low = Math.min(low, refs[k]!.i);
      high = Math.max(high, refs[k]!.i);
    }
    reads.push(part.segment.prefetch(part.view.start + part.view.offsets[low]!, lineEnd(part.view, high)));
  }
  await Promise.all(reads);
}

/** The stats of a growing chunk, remembered until it grows. */
interface CountedStats extends ChunkStats {
  count: number;
  version: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Answers queries over a trail's chunks, newest first: pages and totals,
 * exports in batches, lookup by id, time histograms, entries past a cursor,
 * stats and the build's progress. Each
 * walks the chunks one at a time and pauses between them, so no request
 * waits more than a slice behind another.
 */
export class TrailReader {
  private readonly text: TextMatcher;
  private readonly statsCache = new WeakMap<ChunkView, CountedStats>();

  constructor(
    private readonly state: TrailState,
    private readonly builder: TrailBuilder,
    pool: JobPool,
  ) {
    this.text = new TextMatcher(pool);
  }

  private async textBits(tests: EntryTests, parts: Part[], slicer: Slicer): Promise<Map<ChunkView, TextMatches> | null> {
    if (tests.q === undefined) return null;
    return this.text.bits(
      tests.q,
      parts.map((part) => ({ view: part.view, source: () => part.segment.verifySource(), hold: () => part.segment.hold() })),
      slicer,
    );
  }

  /** One page of matching entries, newest first, and how many match. */
  async query(filter: EntryFilter, offset: number, limit: number): Promise<{ items: TrailEntry[]; total: number }> {
    const slicer = new Slicer(SLICE_MS);
    const parts = this.state.parts();
    const tests = new EntryTests(filter);
    const refs: Ref[] = [];
    let total = 0;
    if (tests.none) {
      for (const part of parts) {
        const visible = part.view.count - part.first;
        for (let k = Math.max(0, offset - total); k < visible && refs.length < limit; k++) refs.push({ part, i: part.view.count - 1 - k });
        total += visible;
      }
      return { items: this.readRefs(refs), total };
    }
    const text = await this.textBits(tests, parts, slicer);
    const end = offset + limit;
    const textOnly = text !== null && tests.onlyText;
    for (const part of parts) {
      const matches = text?.get(part.view);
      // Free text alone: a chunk the page does not reach is counted, not scanned.
      if (textOnly && matches && part.first === 0 && (total + matches.matches <= offset || total >= end)) {
        total += matches.matches;
        continue;
      }
      const compiled = new PartFilter(part.view, tests, matches?.bits ?? null, sealedStats(part.view));
      // Past the page: only counted.
      if (total >= end && !compiled.readsLines) {
        total += compiled.count(part.first, part.view.count);
        await slicer.pause();
        continue;
      }
      compiled.scan(part.first, part.view.count, (i) => {
        if (compiled.needsLine(i) && !this.confirm(part, i, tests)) return true;
        if (total >= offset && total < end) refs.push({ part, i });
        total++;
        return true;
      });
      await slicer.pause();
    }
    return { items: this.readRefs(refs), total };
  }

  /** Reads the line of an entry the columns could not decide (a hash match, an address) and checks it. */
  private confirm(part: Part, i: number, tests: EntryTests): boolean {
    const [read] = part.segment.readEntries(part.view, [i]);
    return read !== null && read !== undefined && tests.confirm(read.entry);
  }

  private readRefs(refs: Ref[]): TrailEntry[] {
    const entries: TrailEntry[] = [];
    for (let k = 0; k < refs.length; ) {
      const part = refs[k]!.part;
      let last = k;
      while (last + 1 < refs.length && refs[last + 1]!.part === part) last++;
      const read = part.segment.readEntries(
        part.view,
        refs.slice(k, last + 1).map((ref) => ref.i),
      );
      for (const item of read) if (item) entries.push(item.entry);
      k = last + 1;
    }
    return entries;
  }

  /**
   * Every matching entry, newest first, in batches read as they are asked
   * for. Stops early when entries are forgotten meanwhile.
   */
  async *matchingBatches(filter: EntryFilter, batchSize = 1000, signal?: AbortSignal): AsyncGenerator<TrailEntry[]> {
    const slicer = new Slicer(SLICE_MS);
    const parts = this.state.parts();
    const generation = this.state.generation;
    const tests = new EntryTests(filter);
    const text = await this.textBits(tests, parts, slicer);
    let pending: Ref[] = [];
    // The batch found before the one being found: its lines are read off the event loop meanwhile (prefetch).
    let previous: { refs: Ref[]; fetched: Promise<void> } | null = null;
    for (const part of parts) {
      const compiled = new PartFilter(part.view, tests, text?.get(part.view)?.bits ?? null, sealedStats(part.view));
      let high = part.view.count;
      while (high > part.first) {
        // Up to the batch's end, then on from where it stopped.
        high = compiled.scan(part.first, high, (i) => {
          if (compiled.needsLine(i) && !this.confirm(part, i, tests)) return true;
          pending.push({ part, i });
          return pending.length < batchSize;
        });
        if (pending.length >= batchSize) {
          const next = { refs: pending, fetched: prefetch(pending) };
          pending = [];
          if (previous) {
            await previous.fetched;
            if (signal?.aborted || generation !== this.state.generation) return;
            yield this.readRefs(previous.refs);
            await slicer.yield();
          }
          previous = next;
        }
      }
      await slicer.pause();
    }
    const last = pending.length > 0 ? { refs: pending, fetched: prefetch(pending) } : null;
    for (const batch of [previous, last]) {
      if (!batch) continue;
      await batch.fetched;
      if (signal?.aborted || generation !== this.state.generation) return;
      yield this.readRefs(batch.refs);
    }
  }

  /**
   * The entry whose id (entryIdOf: its `id` field, or the id derived from a
   * line written without one) is `id`; null when none has it.
   */
  async entry(id: string): Promise<TrailEntry | null> {
    // Ids are UUIDs (compared ignoring case); a line written by other code may carry any id, compared as written.
    const uuid = UUID.test(id.toLowerCase());
    const wanted = uuid ? id.toLowerCase() : id;
    if (wanted === "") return null;
    const slicer = new Slicer(SLICE_MS);
    const parts = this.state.parts();
    const found = (part: Part, i: number): TrailEntry | null => {
      const [read] = part.segment.readEntries(part.view, [i]);
      if (!read) return null;
      if (!uuid) return read.entry.id === wanted ? read.entry : null;
      return entryIdOf(read.entry, read.line.toString("utf8")) === wanted ? read.entry : null;
    };
    // An `id` field: its hash narrows the lines to read.
    const hashes = [hashText(wanted), hashText(id), hashText(id.toUpperCase())];
    const [h0, h1, h2] = hashes as [number, number, number];
    for (const part of byClosenessTo(parts, uuidMillis(wanted))) {
      const column = part.view.hashes.id;
      if (column) {
        for (let i = part.view.count - 1; i >= part.first; i--) {
          const hash = column[i]!;
          if (hash !== h0 && hash !== h1 && hash !== h2) continue;
          const entry = found(part, i);
          if (entry) return entry;
        }
      }
      await slicer.pause();
    }
    // A derived id (version 8) starts with the entry's time: the lines of that millisecond.
    if (!uuid || wanted[14] !== "8") return null;
    const millis = Number.parseInt(wanted.slice(0, 8) + wanted.slice(9, 13), 16);
    for (const part of parts) {
      // Chunks whose times cannot hold it are skipped.
      const range = sealedStats(part.view);
      const min = range?.minTime ?? null;
      const max = range?.maxTime ?? null;
      if (millis > 0 && min !== null && max !== null && (millis > max || millis < Math.floor(min))) continue;
      const times = part.view.time;
      for (let i = part.view.count - 1; i >= part.first; i--) {
        const t = times[i]!;
        const at = Number.isFinite(t) && t > 0 ? Math.min(Math.floor(t), 2 ** 48 - 1) : 0;
        if (at !== millis) continue;
        const entry = found(part, i);
        if (entry) return entry;
      }
      await slicer.pause();
    }
    return null;
  }

  /**
   * How many matching entries fall in each stretch of time (histogramLayout
   * over the filter's from/to, or the matches' first and last times). Two
   * walks: the range of the matches, then the buckets; a chunk of an
   * unfiltered histogram whose times fall in one bucket is added whole.
   */
  async histogram(filter: EntryFilter, request: HistogramRequest): Promise<TimeHistogram> {
    const slicer = new Slicer(SLICE_MS);
    const parts = this.state.parts();
    const tests = new EntryTests(filter);
    const text = await this.textBits(tests, parts, slicer);
    const partial = !this.builder.complete;
    /** Per filtered part: its compiled filter, and the entries confirmed on their lines when the first walk read them. */
    const compiled = new Map<Part, { scanner: PartFilter; confirmed: Uint8Array | null; walked: boolean }>();
    let first = filter.from ?? Number.POSITIVE_INFINITY;
    let last = filter.to ?? Number.NEGATIVE_INFINITY;
    let total = 0;
    // The newest and the oldest chunks first: they set the range, which most others then cannot widen.
    const ordered = parts.length > 2 ? [parts[0]!, parts[parts.length - 1]!, ...parts.slice(1, -1)] : parts;
    for (const part of ordered) {
      const range = sealedStats(part.view);
      if (tests.none && part.first === 0 && range) {
        total += part.view.count;
        if (range.minTime !== null && range.minTime < first) first = range.minTime;
        if (range.maxTime !== null && range.maxTime > last) last = range.maxTime;
        continue;
      }
      const scanner = new PartFilter(part.view, tests, text?.get(part.view)?.bits ?? null, range);
      const entry = { scanner, confirmed: null as Uint8Array | null, walked: false };
      compiled.set(part, entry);
      // A chunk whose times lie within the range found so far cannot widen it: its entries are counted in the second walk.
      if (range && range.minTime !== null && range.maxTime !== null && range.minTime >= first && range.maxTime <= last) continue;
      if (scanner.none) continue;
      entry.walked = true;
      const times = part.view.time;
      scanner.scan(part.first, part.view.count, (i) => {
        if (scanner.needsLine(i)) {
          if (!this.confirm(part, i, tests)) return true;
          entry.confirmed ??= new Uint8Array(part.view.count);
          entry.confirmed[i] = 1;
        }
        const t = times[i]!;
        if (t < first) first = t;
        if (t > last) last = t;
        return true;
      });
      await slicer.pause();
    }
    if (filter.from !== undefined) first = filter.from;
    if (filter.to !== undefined) last = filter.to;
    const ranged = first <= last && Number.isFinite(first) && Number.isFinite(last);
    // Without a range (no entry has a time) the second walk only counts.
    const layout = ranged ? histogramLayout(first, last, request) : { start: 0, bucketMs: 1, buckets: 0 };
    const counts = new Array<number>(layout.buckets).fill(0);
    const failures = new Array<number>(layout.buckets).fill(0);
    for (const part of parts) {
      const times = part.view.time;
      const successes = part.view.success;
      const entry = compiled.get(part);
      if (!entry) {
        if (!ranged) continue;
        // Unfiltered: a chunk within one bucket is added whole.
        const stats = sealedStats(part.view)!;
        const low = stats.minTime === null ? -1 : bucketOf(layout, stats.minTime);
        if (!stats.untimed && low >= 0 && low === bucketOf(layout, stats.maxTime!)) {
          counts[low]! += part.view.count;
          failures[low]! += stats.failures;
          continue;
        }
        for (let i = part.first; i < part.view.count; i++) {
          const bucket = bucketOf(layout, times[i]!);
          if (bucket < 0) continue;
          counts[bucket]!++;
          if (successes[i] === 0) failures[bucket]!++;
        }
      } else {
        const { scanner, confirmed, walked } = entry;
        const keep = walked ? (i: number) => confirmed?.[i] === 1 : (i: number) => this.confirm(part, i, tests);
        total += scanner.countBuckets(part.first, part.view.count, layout, counts, failures, keep);
      }
      await slicer.pause();
    }
    if (!ranged) return { start: null, bucketMs: 0, counts: [], failures: [], total, partial };
    return { start: layout.start, bucketMs: layout.bucketMs, counts, failures, total, partial };
  }

  /**
   * The entries after trail cursor `cursor`, oldest first, at most `limit`.
   * The cursor counts the trail's entries from its first: those forgotten or
   * removed before the first one kept (cursorBase), then the kept ones in order.
   */
  async since(cursor: number, limit: number): Promise<EntriesSince> {
    const base = this.state.cursorBase;
    const start = Math.max(0, cursor - base);
    let skip = start;
    const refs: Ref[] = [];
    for (const part of this.state.parts().reverse()) {
      const visible = part.view.count - part.first;
      if (skip >= visible) {
        skip -= visible;
        continue;
      }
      for (let i = part.first + skip; i < part.view.count && refs.length < limit; i++) refs.push({ part, i });
      skip = 0;
      if (refs.length >= limit) break;
    }
    if (refs.length === 0) return { entries: [], cursor };
    return { entries: this.readRefs(refs), cursor: base + start + refs.length };
  }

  /**
   * Totals, failures, counts per module and level, the newest timestamp,
   * malformed lines: of the entries in `scope` (a scoped reader is told
   * nothing of other tenants' entries, nor of lines that have no tenant).
   */
  async stats(scope?: TrailScope): Promise<TrailStats> {
    const slicer = new Slicer(SLICE_MS);
    const parts = this.state.parts().reverse();
    const scoped = scope?.companyIds === undefined ? null : new EntryTests({ scope });
    const modules = new Map<string, { name: string; count: number }>();
    const levels = new Map<string, { name: string; count: number }>();
    let total = 0;
    let failures = 0;
    let latest: { part: Part; i: number; time: number } | null = null;
    let all = 0;
    for (const part of parts) {
      all += part.view.count - part.first;
      let stats: ChunkStats;
      if (scoped) {
        const only = new Uint8Array(part.view.count);
        let hits = 0;
        new PartFilter(part.view, scoped, null).scan(part.first, part.view.count, (i) => {
          only[i] = 1;
          hits++;
          return true;
        });
        stats = countChunk(part.view, part.first, only);
        total += hits;
      } else {
        stats = this.chunkStats(part);
        total += part.view.count - part.first;
      }
      failures += stats.failures;
      for (const [name, count] of stats.modules) addCount(modules, name, count);
      for (const [name, count] of stats.levels) addCount(levels, name, count);
      const time = stats.latestTime ?? Number.NEGATIVE_INFINITY;
      if (stats.latest >= 0 && (latest === null || time >= latest.time)) latest = { part, i: stats.latest, time };
      await slicer.pause();
    }
    let latestTimestamp: string | null = null;
    if (latest) {
      const [read] = latest.part.segment.readEntries(latest.part.view, [latest.i]);
      if (typeof read?.entry.timestamp === "string") latestTimestamp = read.entry.timestamp;
    }
    let malformed = 0;
    let truncated = 0;
    let deep = 0;
    if (!scoped) {
      for (const segment of this.state.segments) {
        malformed += segment.malformed;
        const oversized = segment.oversized;
        truncated += oversized.truncated;
        deep += oversized.deep;
      }
    }
    const named = (counts: Map<string, { name: string; count: number }>) =>
      Object.fromEntries([...counts.values()].map(({ name, count }) => [name, count]));
    const stats: TrailStats = {
      total,
      failures,
      modules: named(modules),
      levels: named(levels),
      latest_timestamp: latestTimestamp,
      malformed,
      evicted: scoped ? 0 : this.state.evicted,
      truncated,
      deep,
      // Cursors count every entry of the trail (see TrailScope).
      cursor: this.state.cursorBase + all,
    };
    const unreadable = this.state.segments.filter((segment) => segment.error !== null).map((segment) => segment.name);
    if (unreadable.length > 0 && !scoped) stats.unreadable = unreadable;
    if (!this.builder.complete) {
      stats.partial = true;
      stats.indexing = this.progress();
    }
    return stats;
  }

  /** Bytes of the trail's files indexed so far, out of all (`.gz` files count once built). */
  progress(): { done: number; total: number } {
    let done = 0;
    let total = 0;
    for (const segment of this.state.segments) {
      total += segment.fileSize;
      if (segment.kind === "gzip") {
        if (segment.storePath) done += segment.fileSize;
        continue;
      }
      const evicted = this.state.evictedUpTo.get(segment)?.end ?? 0;
      done += Math.min(segment.fileSize, segment.indexedBytes + evicted);
    }
    return { done: Math.min(done, total), total };
  }

  private chunkStats(part: Part): ChunkStats {
    const view = part.view;
    if (view instanceof Chunk && part.first === 0) return view.data.stats;
    const cached = this.statsCache.get(view);
    if (cached && cached.count === view.count && cached.version === view.version && part.first === 0) return cached;
    const stats: CountedStats = { ...countChunk(view, part.first), count: view.count, version: view.version };
    if (part.first === 0) this.statsCache.set(view, stats);
    return stats;
  }
}

/** The milliseconds in the first 48 bits of a time-ordered UUID (versions 7 and 8); null for others. */
function uuidMillis(uuid: string): number | null {
  if (uuid.length !== 36 || (uuid[14] !== "7" && uuid[14] !== "8")) return null;
  const millis = Number.parseInt(uuid.slice(0, 8) + uuid.slice(9, 13), 16);
  return Number.isFinite(millis) && millis > 0 ? millis : null;
}

/**
 * The parts, those whose time range is nearest `millis` first (an id's time
 * is its entry's, give or take clock and queue delays); as they are when
 * there is no time.
 */
function byClosenessTo(parts: Part[], millis: number | null): Part[] {
  if (millis === null) return parts;
  const distance = (part: Part): number => {
    const range = sealedStats(part.view);
    if (!range) return 0;
    if (range.minTime === null || range.maxTime === null) return Number.POSITIVE_INFINITY;
    return millis < range.minTime ? range.minTime - millis : millis > range.maxTime ? millis - range.maxTime : 0;
  };
  const distances = new Map(parts.map((part) => [part, distance(part)]));
  return [...parts].sort((a, b) => distances.get(a)! - distances.get(b)!);
}

/** The counts of a sealed chunk (its time range among them); none for a growing one. */
function sealedStats(view: ChunkView): ChunkStats | null {
  return view instanceof Chunk ? view.data.stats : null;
}

function addCount(counts: Map<string, { name: string; count: number }>, name: string, count: number): void {
  // Case-insensitive, shown with the first spelling seen (oldest first).
  const key = name.toLowerCase();
  const known = counts.get(key);
  if (known) known.count += count;
  else counts.set(key, { name, count });
}
