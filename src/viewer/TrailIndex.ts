import { readSync } from "node:fs";
import { entryIdOf } from "../entry/entryId.js";
import { ColumnStore } from "./ColumnStore.js";
import { CompiledFilter, type ScanResult, scopeMarks } from "./CompiledFilter.js";
import type { Dictionary } from "./Dictionary.js";
import type { EntryFilter } from "./EntryQuery.js";
import { TextSearch } from "./TextSearch.js";
import { bucketOf, type HistogramRequest, histogramLayout, type TimeHistogram } from "./TimeHistogram.js";
import { TrailFiles } from "./TrailFiles.js";
import type { EntriesSince, TrailEntry, TrailScope, TrailStats } from "./TrailSource.js";
import { readLineEnd, TRUNCATED_PREFIX_BYTES, truncatedEntry } from "./truncatedLine.js";

export interface TrailIndexOptions {
  /** Entries kept in memory; past it the oldest 10% are forgotten (default 5,000,000, about 65 bytes each). */
  maxEntries?: number;
  /** Longest line read whole; longer ones are shown from their first 64 KiB, marked, and counted (default 16 MiB). */
  maxLineBytes?: number;
}

const TEXT_CACHE_SIZE = 4;
/** Past this many unscanned new entries a cached text search is redone whole. */
const TEXT_INCREMENT_LIMIT = 20_000;

/**
 * The index of one trail (audit.jsonl or security.jsonl with its rotated
 * segments): TrailFiles reads the files, the ColumnStore keeps per entry its
 * place on disk and the filterable fields, CompiledFilter scans it, TextSearch
 * scans the files' bytes for free text. Only the entries of a page are read
 * back from disk.
 */
export class TrailIndex {
  readonly store: ColumnStore;
  private readonly files: TrailFiles;
  private lineBuffer = Buffer.allocUnsafeSlow(64 * 1024);
  private readonly appendListeners = new Set<(entries: TrailEntry[], cursor: number) => void>();
  private pending: TrailEntry[] | null = null;
  private notify = false;
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;
  private readonly statsCache = new Map<string, TrailStats>();
  private readonly textCache = new Map<string, { bits: Uint8Array; covered: number; generation: number }>();
  private readonly maxLineBytes: number;

  constructor(dir: string, baseName: string, options: TrailIndexOptions = {}) {
    this.store = new ColumnStore(Math.max(1000, Math.floor(options.maxEntries ?? 5_000_000)));
    const maxLineBytes = Math.max(TRUNCATED_PREFIX_BYTES, Math.floor(options.maxLineBytes ?? 16 * 1024 * 1024));
    this.maxLineBytes = maxLineBytes;
    this.files = new TrailFiles(
      dir,
      baseName,
      {
        entry: (fileId, offset, length, entry) => {
          this.store.append(fileId, offset, length, entry);
          if (this.pending) {
            if (entry.id === undefined) this.deriveId(entry, this.store.count - 1);
            this.pending.push(entry);
          }
        },
        dropFile: (fileId) => this.store.dropFile(fileId),
        flush: () => this.flushNotifications(),
      },
      maxLineBytes,
    );
  }

  /**
   * Calls `listener` with the entries each later refresh finds appended (not
   * the ones of the first build), and the trail cursor of the last of them.
   */
  onAppend(listener: (entries: TrailEntry[], cursor: number) => void): () => void {
    this.appendListeners.add(listener);
    return () => {
      this.appendListeners.delete(listener);
    };
  }

  /**
   * Brings the index up to date with the files. Calls made while one runs are
   * folded into one more pass, so refreshes never overlap.
   */
  refresh(notify = true): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          this.notify = notify;
          this.pending = notify && this.appendListeners.size > 0 ? [] : null;
          await this.files.refresh();
          this.flushNotifications();
          this.pending = null;
        } while (this.again && !this.closed);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  close(): void {
    this.closed = true;
    this.files.close();
  }

  private flushNotifications(): void {
    const pending = this.pending;
    if (!pending || pending.length === 0) return;
    this.pending = this.notify && this.appendListeners.size > 0 ? [] : null;
    const cursor = this.cursorBase + this.store.count;
    for (const listener of this.appendListeners) {
      try {
        listener(pending, cursor);
      } catch {
        // A live view's failure must not stop the index.
      }
    }
  }

  private compile(filter: EntryFilter): CompiledFilter | null {
    return CompiledFilter.compile(
      this.store,
      filter,
      (ordinal) => this.readEntry(ordinal),
      (q) => this.textBits(q),
    );
  }

  /** Entries forgotten or removed before the first one held: the cursor of ordinal i is cursorBase + i + 1. */
  get cursorBase(): number {
    return this.store.evicted + this.store.dropped;
  }

  /** Entries after trail cursor `cursor`, oldest first, at most `limit`. */
  since(cursor: number, limit: number): EntriesSince {
    const first = Math.max(0, cursor - this.cursorBase);
    const ordinals: number[] = [];
    for (let i = first; i < this.store.count && ordinals.length < limit; i++) ordinals.push(i);
    const entries = this.readEntries(ordinals);
    return { entries, cursor: ordinals.length > 0 ? this.cursorBase + ordinals[ordinals.length - 1]! + 1 : cursor };
  }

  /** Matching entries per stretch of time, laid out by histogramLayout. */
  histogram(filter: EntryFilter, request: HistogramRequest): TimeHistogram {
    const empty: TimeHistogram = { start: null, bucketMs: 0, counts: [], failures: [], total: 0, partial: false };
    const compiled = this.compile(filter);
    if (!compiled) return empty;
    const times = this.store.time;
    let first = Number.POSITIVE_INFINITY;
    let last = Number.NEGATIVE_INFINITY;
    let total = 0;
    compiled.visit(this.store.count, (i) => {
      total++;
      const t = times[i]!;
      if (t < first) first = t;
      if (t > last) last = t;
      return true;
    });
    if (filter.from !== undefined) first = filter.from;
    if (filter.to !== undefined) last = filter.to;
    if (!(first <= last) || !Number.isFinite(first) || !Number.isFinite(last)) return { ...empty, total };
    const layout = histogramLayout(first, last, request);
    const counts = new Array<number>(layout.buckets).fill(0);
    const failures = new Array<number>(layout.buckets).fill(0);
    const successes = this.store.success;
    compiled.visit(this.store.count, (i) => {
      const bucket = bucketOf(layout, times[i]!);
      if (bucket >= 0) {
        counts[bucket]!++;
        if (successes[i] === 0) failures[bucket]!++;
      }
      return true;
    });
    return { start: layout.start, bucketMs: layout.bucketMs, counts, failures, total, partial: false };
  }

  /**
   * The entry of a derived id (a line written without `id`): the id holds the
   * entry's time, so only the lines of that millisecond are read to check.
   */
  findDerived(id: string): TrailEntry | null {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.test(id)) return null;
    const millis = Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
    const times = this.store.time;
    const wanted = id.toLowerCase();
    for (let i = this.store.count - 1; i >= 0; i--) {
      const t = times[i]!;
      const own = Number.isFinite(t) && t > 0 ? Math.min(t, 2 ** 48 - 1) : 0;
      if (own !== millis || this.store.idHash[i] !== 0) continue;
      const entry = this.readEntry(i);
      if (entry && entry.id === wanted) return entry;
    }
    return null;
  }

  /** One page of matching entries, newest first, with the exact number of matches. */
  query(filter: EntryFilter, offset: number, limit: number): ScanResult {
    const compiled = this.compile(filter);
    if (!compiled) return { total: 0, ordinals: [] };
    if (compiled.unfiltered) {
      // The first page of the whole trail: no scan at all.
      const ordinals: number[] = [];
      for (let i = this.store.count - 1 - offset; i >= 0 && ordinals.length < limit; i--) ordinals.push(i);
      return { total: this.store.count, ordinals };
    }
    return compiled.scan(this.store.count, offset, limit, false);
  }

  /**
   * Every matching entry, newest first, in batches (for exports): each batch is
   * read when the caller asks for it, so a slow download holds little memory.
   * Stops early if entries are forgotten meanwhile (their ordinals would shift).
   */
  *matchingBatches(filter: EntryFilter, batchSize = 1000): Generator<TrailEntry[]> {
    const compiled = this.compile(filter);
    if (!compiled) return;
    const generation = this.store.generation;
    let below = this.store.count;
    while (below > 0 && generation === this.store.generation) {
      const { ordinals } = compiled.scan(below, 0, batchSize, true);
      if (ordinals.length === 0) return;
      below = ordinals[ordinals.length - 1]!;
      yield this.readEntries(ordinals);
    }
  }

  /** The entries at these ordinals, parsed from disk. */
  readEntries(ordinals: number[]): TrailEntry[] {
    const entries: TrailEntry[] = [];
    for (const ordinal of ordinals) {
      const entry = this.readEntry(ordinal);
      if (entry) entries.push(entry);
    }
    return entries;
  }

  /** Raw bytes of an entry's line (without the newline), or null when its file is gone. */
  readLine(ordinal: number): Buffer | null {
    const store = this.store;
    const fd = this.files.descriptorOf(store.file[ordinal]!);
    if (fd < 0) return null;
    const length = store.length[ordinal]!;
    if (this.lineBuffer.length < length) this.lineBuffer = Buffer.allocUnsafeSlow(Math.max(length, this.lineBuffer.length * 2));
    try {
      const read = readSync(fd, this.lineBuffer, 0, length, store.offset[ordinal]!);
      let end = read;
      while (end > 0 && (this.lineBuffer[end - 1] === 10 || this.lineBuffer[end - 1] === 13)) end--;
      return this.lineBuffer.subarray(0, end);
    } catch {
      return null;
    }
  }

  /** The entry at an ordinal, parsed from disk, with the derived id when its line has none. */
  private readEntry(ordinal: number): TrailEntry | null {
    const length = this.store.length[ordinal]!;
    if (length > this.maxLineBytes) return this.readTruncated(ordinal, length);
    const line = this.readLine(ordinal);
    if (!line) return null;
    try {
      const text = line.toString("utf8");
      const entry = JSON.parse(text) as TrailEntry;
      if (entry.id === undefined) entry.id = entryIdOf(entry, text);
      return entry;
    } catch {
      return null;
    }
  }

  private deriveId(entry: TrailEntry, ordinal: number): void {
    const line = this.readLine(ordinal);
    if (line) entry.id = entryIdOf(entry, line.toString("utf8"));
  }

  /** A line longer than maxLineBytes, shown from its first bytes. */
  private readTruncated(ordinal: number, length: number): TrailEntry | null {
    const fd = this.files.descriptorOf(this.store.file[ordinal]!);
    if (fd < 0) return null;
    const prefix = Buffer.allocUnsafe(TRUNCATED_PREFIX_BYTES);
    try {
      const offset = this.store.offset[ordinal]!;
      const read = readSync(fd, prefix, 0, prefix.length, offset);
      return truncatedEntry(prefix.toString("utf8", 0, read), readLineEnd(fd, offset, length), length, this.maxLineBytes);
    } catch {
      return null;
    }
  }

  /** Bitmap of the entries whose line contains `q`; cached, and extended for entries appended since. */
  private textBits(q: string): Uint8Array {
    const store = this.store;
    const cached = this.textCache.get(q);
    const search = new TextSearch(q);
    if (cached && cached.generation === store.generation && store.count - cached.covered <= TEXT_INCREMENT_LIMIT) {
      this.textCache.delete(q);
      this.textCache.set(q, cached);
      if (cached.covered === store.count) return cached.bits;
      const bits = new Uint8Array(store.count);
      bits.set(cached.bits.subarray(0, Math.min(cached.covered, store.count)));
      for (let i = cached.covered; i < store.count; i++) {
        const line = this.readLine(i);
        if (line && search.matchesLine(line)) bits[i] = 1;
      }
      cached.bits = bits;
      cached.covered = store.count;
      return bits;
    }
    const bits = search.scan({
      count: store.count,
      fileColumn: store.file,
      offsetColumn: store.offset,
      lengthColumn: store.length,
      descriptorOf: (fileId) => this.files.descriptorOf(fileId),
    });
    this.textCache.delete(q);
    this.textCache.set(q, { bits, covered: store.count, generation: store.generation });
    while (this.textCache.size > TEXT_CACHE_SIZE) this.textCache.delete(this.textCache.keys().next().value!);
    return bits;
  }

  /** Totals, failures, counts per module and level, newest timestamp, malformed lines: of the entries in `scope`. */
  stats(scope?: TrailScope): TrailStats {
    const store = this.store;
    const malformed = this.files.malformed;
    const companyIds = scope?.companyIds;
    const key = `${store.generation}:${store.count}:${malformed}:${companyIds === undefined ? "*" : JSON.stringify([...companyIds].sort())}`;
    const cached = this.statsCache.get(key);
    if (cached) return cached;
    const marks = scopeMarks(store.companies, companyIds);
    const moduleCounts = new Uint32Array(store.modules.size);
    const levelCounts = new Uint32Array(store.levels.size);
    let failures = 0;
    let latest = -1;
    let latestTime = Number.NEGATIVE_INFINITY;
    let total = 0;
    for (let i = 0; i < store.count; i++) {
      if (marks !== null && marks[store.company[i]!] !== 1) continue;
      total++;
      moduleCounts[store.module[i]!]!++;
      levelCounts[store.level[i]!]!++;
      if (store.success[i] === 0) failures++;
      const t = store.time[i]!;
      if (t >= latestTime) {
        latestTime = t;
        latest = i;
      }
    }
    if (latest < 0 && total > 0 && marks === null) latest = store.count - 1;
    const named = (dictionary: Dictionary, counts: Uint32Array) => {
      const result: Record<string, number> = {};
      for (let id = 1; id < counts.length; id++) if (counts[id]! > 0) result[dictionary.name(id)] = counts[id]!;
      return result;
    };
    const latestEntry = latest >= 0 ? this.readEntry(latest) : null;
    // What a scoped reader cannot see is not counted: malformed lines and forgotten entries have no tenant.
    const stats: TrailStats = {
      total,
      failures,
      modules: named(store.modules, moduleCounts),
      levels: named(store.levels, levelCounts),
      latest_timestamp: typeof latestEntry?.timestamp === "string" ? latestEntry.timestamp : null,
      malformed: marks === null ? malformed : 0,
      evicted: marks === null ? store.evicted : 0,
      cursor: this.cursorBase + store.count,
      ...(marks === null ? this.files.oversized : { truncated: 0, deep: 0 }),
    };
    // One entry per scope asked for, for the current state only.
    for (const old of this.statsCache.keys())
      if (!old.startsWith(`${store.generation}:${store.count}:${malformed}:`)) this.statsCache.delete(old);
    if (this.statsCache.size < 64) this.statsCache.set(key, stats);
    return stats;
  }
}
