import type { EntryFilter } from "../EntryQuery.js";
import type { HistogramRequest, TimeHistogram } from "../TimeHistogram.js";
import type { EntriesSince, TrailEntry, TrailScope, TrailStats } from "../TrailSource.js";
import type { TrailCache } from "./IndexCache.js";
import type { JobPool } from "./JobPool.js";
import { TrailBuilder } from "./TrailBuilder.js";
import { TrailCacheWriter } from "./TrailCacheWriter.js";
import { TrailFollower } from "./TrailFollower.js";
import { TrailReader } from "./TrailReader.js";
import { type TrailIndexOptions, TrailState } from "./TrailState.js";

export type { TrailIndexOptions } from "./TrailState.js";

/**
 * The index of one trail (audit.jsonl or security.jsonl with its rotated and
 * compressed segments), as chunks per segment (TrailState). The builder
 * makes them (from the cache, or on the worker threads, newest first), the
 * follower keeps them up to date with the files, the reader answers from
 * them meanwhile, and the cache writer keeps them for the next start.
 * Everything a request runs here is sliced: no request waits more than a
 * slice behind another or behind indexing.
 */
export class TrailIndex {
  private readonly state: TrailState;
  private readonly builder: TrailBuilder;
  private readonly follower: TrailFollower;
  private readonly reader: TrailReader;
  private readonly writer: TrailCacheWriter;

  constructor(dir: string, baseName: string, pool: JobPool, cache: TrailCache | null, options: TrailIndexOptions) {
    this.state = new TrailState(dir, baseName, options);
    this.builder = new TrailBuilder(this.state, pool, cache);
    this.follower = new TrailFollower(this.state, this.builder);
    this.reader = new TrailReader(this.state, this.builder, pool);
    this.writer = new TrailCacheWriter(this.state, this.builder, cache);
  }

  /** Whether everything listed is indexed (false during the first build and while jobs run). */
  get complete(): boolean {
    return this.builder.complete;
  }

  /** Chunks read back from the cache, and built from the files, since start. */
  get chunkCounts(): { loaded: number; built: number } {
    return this.state.chunkCounts;
  }

  /** The first build: resolves when all is indexed; queries answer (partially) from the start. */
  build(): Promise<void> {
    return this.builder.build();
  }

  /** Reads what was appended since (and follows renames, truncation, deletion). */
  refresh(notify = true): Promise<void> {
    return this.follower.refresh(notify);
  }

  onAppend(listener: (entries: TrailEntry[], cursor: number) => void): () => void {
    return this.follower.onAppend(listener);
  }

  query(filter: EntryFilter, offset: number, limit: number): Promise<{ items: TrailEntry[]; total: number }> {
    return this.reader.query(filter, offset, limit);
  }

  matchingBatches(filter: EntryFilter, batchSize: number, signal?: AbortSignal): AsyncGenerator<TrailEntry[]> {
    return this.reader.matchingBatches(filter, batchSize, signal);
  }

  entry(id: string): Promise<TrailEntry | null> {
    return this.reader.entry(id);
  }

  histogram(filter: EntryFilter, request: HistogramRequest): Promise<TimeHistogram> {
    return this.reader.histogram(filter, request);
  }

  since(cursor: number, limit: number): Promise<EntriesSince> {
    return this.reader.since(cursor, limit);
  }

  stats(scope?: TrailScope): Promise<TrailStats> {
    return this.reader.stats(scope);
  }

  progress(): { done: number; total: number } {
    return this.reader.progress();
  }

  /** Writes what changed to the cache folder. */
  save(): Promise<void> {
    return this.writer.save();
  }

  /** Saves, then stops: builds still running are dropped (close the job pool next, then dispose). */
  async close(): Promise<void> {
    if (this.state.closed) return;
    await this.follower.idle();
    await this.writer.save().catch(() => {});
    await this.writer.idle();
    this.state.closed = true;
  }

  /** Lets go of the files, once the builds have ended. */
  async dispose(): Promise<void> {
    this.state.closed = true;
    await this.builder.dispose();
    for (const segment of this.state.segments) segment.close();
    for (const segment of this.state.replacing.values()) segment.close();
    this.state.segments.length = 0;
    this.state.byKey.clear();
  }
}
