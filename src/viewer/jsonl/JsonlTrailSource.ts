import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, homedir } from "node:os";
import { join, resolve } from "node:path";
import type { EntryFilter } from "../EntryQuery.js";
import type { HistogramRequest, TimeHistogram } from "../TimeHistogram.js";
import { inScope } from "../TrailScope.js";
import type {
  AppendedEntries,
  EntityRef,
  EntriesSince,
  EntryCount,
  EntryPage,
  PageRequest,
  StreamOptions,
  TrailEntry,
  TrailName,
  TrailScope,
  TrailSource,
  TrailStats,
} from "../TrailSource.js";
import { TrailTail } from "../TrailTail.js";
import { TrailCache } from "./IndexCache.js";
import { JobPool } from "./JobPool.js";
import { TrailIndex } from "./TrailIndex.js";

export interface JsonlTrailSourceOptions {
  /** Folder holding audit.jsonl and security.jsonl; it may not exist yet. */
  logDir: string;
  /** The audit trail's file name in logDir (default "audit.jsonl"). */
  auditLogFile?: string;
  /** The security trail's file name in logDir (default "security.jsonl"). */
  securityLogFile?: string;
  /** Entries indexed per trail before the oldest are forgotten (default 20,000,000). */
  maxEntries?: number;
  /** Longest line read whole; longer ones are shown from their first 64 KiB and last 16 KiB, marked, and counted (default 16 MiB). */
  maxLineBytes?: number;
  /** How often the files are polled for changes besides fs.watch (default 1000 ms). */
  pollIntervalMs?: number;
  /**
   * Where the index is kept between runs (default: a folder per log folder
   * under $XDG_CACHE_HOME/auditx/viewer, or ~/.cache/auditx/viewer); false
   * keeps it in memory only, rebuilt at each start.
   */
  indexDir?: string | false;
  /** Worker threads that build the index and check searches (default: up to 2, one per core); 0 does it all on this thread, in slices. */
  indexThreads?: number;
}

export interface IndexProgress {
  done: number;
  total: number;
  complete: boolean;
  loadedChunks: number;
  builtChunks: number;
}

/** How often a changed index is written to its folder. */
const SAVE_INTERVAL_MS = 30_000;

/** The default folder of the persisted index of `logDir`. */
export function defaultIndexDir(logDir: string): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "auditx", "viewer", createHash("sha256").update(resolve(logDir)).digest("hex").slice(0, 16));
}

/**
 * The JSONL trail of one log folder as a TrailSource: an index per trail
 * (TrailIndex), worker threads for the heavy work, a persisted copy of the
 * index, and a tail of the folder that keeps it up to date. It answers from
 * the first moment, with `partial` results until its first build is done.
 */
export class JsonlTrailSource implements TrailSource {
  readonly logDir: string;
  /** Where the index is kept between runs (null: in memory only). */
  readonly indexDir: string | null;
  private readonly pool: JobPool;
  private readonly indexes: Record<TrailName, TrailIndex>;
  private readonly caches: TrailCache[] = [];
  private readonly built: Promise<void>;
  private tail: TrailTail | null = null;
  private saver: NodeJS.Timeout | null = null;
  private closed = false;
  /** Wakes the live iterations waiting for entries (at close). */
  private readonly sleepers = new Set<() => void>();

  constructor(options: JsonlTrailSourceOptions) {
    this.logDir = resolve(options.logDir);
    const threads = options.indexThreads ?? Math.min(2, availableParallelism());
    this.pool = new JobPool(Math.max(0, Math.floor(threads)));
    this.indexDir = options.indexDir === false ? null : resolve(options.indexDir ?? defaultIndexDir(this.logDir));
    const indexOptions = {
      maxEntries: Math.max(1000, Math.floor(options.maxEntries ?? 20_000_000)),
      maxLineBytes: Math.max(64 * 1024, Math.floor(options.maxLineBytes ?? 16 * 1024 * 1024)),
    };
    const index = (baseName: string) => new TrailIndex(this.logDir, baseName, this.pool, this.cacheFor(baseName), indexOptions);
    this.indexes = { audit: index(options.auditLogFile ?? "audit.jsonl"), security: index(options.securityLogFile ?? "security.jsonl") };
    const pollIntervalMs = Math.max(50, options.pollIntervalMs ?? 1000);
    this.built = this.build(pollIntervalMs);
    this.built.catch(() => {});
  }

  /** The cache folder of one trail; none when it cannot be created (the index then lives in memory only). */
  private cacheFor(baseName: string): TrailCache | null {
    if (!this.indexDir) return null;
    try {
      mkdirSync(this.indexDir, { recursive: true, mode: 0o700 });
      writeFileSync(join(this.indexDir, "log-dir.txt"), `${this.logDir}\n`, { mode: 0o600 });
      const cache = new TrailCache(join(this.indexDir, baseName), baseName);
      this.caches.push(cache);
      return cache;
    } catch {
      return null;
    }
  }

  private async build(pollIntervalMs: number): Promise<void> {
    await Promise.all([this.indexes.audit.build(), this.indexes.security.build()]);
    if (this.closed) return;
    this.tail = new TrailTail(this.logDir, () => this.refresh(), pollIntervalMs);
    await this.save();
    this.saver = setInterval(() => {
      this.save().catch(() => {});
    }, SAVE_INTERVAL_MS);
    this.saver.unref();
  }

  private async save(): Promise<void> {
    await Promise.all([this.indexes.audit.save(), this.indexes.security.save()]);
  }

  ready(): Promise<void> {
    return this.built;
  }

  async refresh(): Promise<void> {
    await this.built;
    await this.indexes.audit.refresh();
    await this.indexes.security.refresh();
  }

  /**
   * How far the index is, per trail: bytes of the files indexed out of all,
   * whether it is complete, and the chunks read back from the persisted index
   * or built from the files since start.
   */
  progress(): Record<TrailName, IndexProgress> {
    const of = (index: TrailIndex): IndexProgress => ({
      ...index.progress(),
      complete: index.complete,
      loadedChunks: index.chunkCounts.loaded,
      builtChunks: index.chunkCounts.built,
    });
    return { audit: of(this.indexes.audit), security: of(this.indexes.security) };
  }

  /** Worker threads in use (0: the work runs on this thread, sliced). */
  get threads(): number {
    return this.pool.threads;
  }

  async query(source: TrailName, filter: EntryFilter, page: PageRequest): Promise<EntryPage> {
    const index = this.indexes[source];
    const partial = !index.complete;
    const { items, total } = await index.query(filter, page.offset, page.limit);
    return { items, total, partial };
  }

  async count(source: TrailName, filter: EntryFilter): Promise<EntryCount> {
    const index = this.indexes[source];
    const partial = !index.complete;
    const { total } = await index.query(filter, 0, 0);
    return { total, partial };
  }

  stats(source: TrailName, scope?: TrailScope): Promise<TrailStats> {
    return this.indexes[source].stats(scope);
  }

  async entry(source: TrailName, id: string, scope?: TrailScope): Promise<TrailEntry | null> {
    const found = await this.indexes[source].entry(id);
    return found && inScope(found, scope) ? found : null;
  }

  histogram(source: TrailName, filter: EntryFilter, request: HistogramRequest): Promise<TimeHistogram> {
    return this.indexes[source].histogram(filter, request);
  }

  /** Entries past a trail cursor, once the first build is done (cursors count the whole trail). */
  async since(source: TrailName, cursor: number, limit: number): Promise<EntriesSince> {
    await this.built;
    return this.indexes[source].since(cursor, limit);
  }

  history(source: TrailName, entity: EntityRef, page: PageRequest, scope?: TrailScope): Promise<EntryPage> {
    return this.query(source, { entityType: [entity.type], entityId: [entity.id], scope }, page);
  }

  export(source: TrailName, filter: EntryFilter, options: StreamOptions = {}): AsyncIterable<TrailEntry[]> {
    // Small batches: each is read and formatted in one slice of the event loop.
    return this.indexes[source].matchingBatches(filter, 100, options.signal);
  }

  async *live(options: StreamOptions = {}): AsyncGenerator<AppendedEntries> {
    const queue: AppendedEntries[] = [];
    let wake: (() => void) | null = null;
    const push = (batch: AppendedEntries) => {
      queue.push(batch);
      wake?.();
    };
    const detach = (["audit", "security"] as const).map((source) =>
      this.indexes[source].onAppend((entries, cursor) => push({ source, entries, cursor })),
    );
    const stop = () => wake?.();
    options.signal?.addEventListener("abort", stop);
    try {
      while (!this.closed && !options.signal?.aborted) {
        const batch = queue.shift();
        if (batch) {
          yield batch;
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          this.sleepers.add(resolve);
        });
        if (wake) this.sleepers.delete(wake);
        wake = null;
      }
    } finally {
      options.signal?.removeEventListener("abort", stop);
      for (const off of detach) off();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const wake of this.sleepers) wake();
    this.sleepers.clear();
    this.tail?.close();
    if (this.saver) clearInterval(this.saver);
    await Promise.all([this.indexes.audit.close(), this.indexes.security.close()]);
    await this.pool.close();
    await Promise.all([this.indexes.audit.dispose(), this.indexes.security.dispose()]);
    this.tail?.close();
    for (const cache of this.caches) cache.release();
  }
}
