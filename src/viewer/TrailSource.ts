import type { HubSource } from "../processors/AuditHub.js";
import type { EntryFilter } from "./EntryQuery.js";
import type { HistogramRequest, TimeHistogram } from "./TimeHistogram.js";
import type { TrailScope } from "./TrailScope.js";

export { inScope, type TrailScope } from "./TrailScope.js";

/**
 * One entry as written to the trail: the JSONL object, snake_case fields. A
 * source always gives it an `id`: its own, or for a line written without one
 * the id derived from the line (entryIdOf), so every entry can be linked to.
 */
export type TrailEntry = Record<string, unknown>;

/** Which trail of the source: every audit entry, or the security entries. */
export type TrailName = HubSource;

/** The counts /api/stats shows for one trail. */
export interface TrailStats {
  total: number;
  failures: number;
  modules: Record<string, number>;
  levels: Record<string, number>;
  latest_timestamp: string | null;
  malformed: number;
  /** Oldest entries forgotten because of maxEntries. */
  evicted: number;
  /** The trail cursor of its newest entry (see TrailSource.since): `/api/stream?after=` from here streams only what comes next. */
  cursor?: number;
  /** Entries shown flattened: nested deeper than the viewer's limit (see viewableEntry). */
  deep?: number;
  /** Entries whose line is longer than maxLineBytes: shown truncated, with their first fields. */
  truncated?: number;
  /** Present when some segments could not be read (a corrupt `.gz`): their names. */
  unreadable?: string[];
  /** Present while the trail is being indexed: the counts above cover only what is indexed so far. */
  partial?: true;
  /** Present while the trail is being indexed: bytes of the trail's files read so far, out of all. */
  indexing?: { done: number; total: number };
}

export interface PageRequest {
  offset: number;
  limit: number;
}

/** One page of matching entries, newest first. */
export interface EntryPage {
  items: TrailEntry[];
  /** Entries that match: exact, unless `partial`. */
  total: number;
  /** The source is still indexing: `total` and `items` cover what it has read so far. */
  partial: boolean;
}

export interface EntryCount {
  total: number;
  partial: boolean;
}

/** An entity whose history is asked for: its `entity_type` and `entity_id`. */
export interface EntityRef {
  type: string;
  id: string;
}

/** Entries appended to one trail, in the order they were written. */
export interface AppendedEntries {
  source: TrailName;
  entries: TrailEntry[];
  /** The trail cursor of the last of them (see TrailSource.since), when the source knows it. */
  cursor?: number;
}

/** Entries of a trail past a cursor, oldest first. */
export interface EntriesSince {
  entries: TrailEntry[];
  /** The cursor of the last entry given (the cursor asked for when there is none). */
  cursor: number;
}

export interface StreamOptions {
  /** Ends the iteration (and releases what it holds) when aborted. */
  signal?: AbortSignal;
}

/**
 * Where the viewer reads entries from. The REST routes use nothing else, so a
 * source can be the JSONL trail indexed in this process (JsonlTrailSource) or
 * a database shared by many services. Every method is asynchronous: a source
 * may answer from another thread, a file or the network, and must never make
 * the caller wait behind another caller's work.
 */
export interface TrailSource {
  /** One page of the entries matching `filter` (and its `scope`), newest first. */
  query(source: TrailName, filter: EntryFilter, page: PageRequest): Promise<EntryPage>;
  /** How many entries match `filter` (and its `scope`). */
  count(source: TrailName, filter: EntryFilter): Promise<EntryCount>;
  /** Totals, failures, counts per module and level, the newest timestamp, of the entries in `scope`. */
  stats(source: TrailName, scope?: TrailScope): Promise<TrailStats>;
  /**
   * The entry with this `id` (the UUID every entry carries), or, for a line
   * written without one, the id derived from its content; null when none in `scope` has it.
   */
  entry(source: TrailName, id: string, scope?: TrailScope): Promise<TrailEntry | null>;
  /**
   * How many entries matching `filter` (and its `scope`) fall in each stretch
   * of time: buckets laid out by histogramLayout over the filter's from/to, or
   * over the matching entries' first and last times when it has none.
   */
  histogram(source: TrailName, filter: EntryFilter, request: HistogramRequest): Promise<TimeHistogram>;
  /**
   * Entries after the first `cursor` entries of the trail, oldest first, at
   * most `limit`. A trail's cursor counts the entries appended since it began
   * (those forgotten or removed by retention included), as auditX's SSE
   * `after` counts the lines of its file: `since(source, 0, n)` starts at the
   * oldest entry. Not scoped: the live transports filter per reader.
   */
  since(source: TrailName, cursor: number, limit: number): Promise<EntriesSince>;
  /** Every entry about one entity (in `scope`), newest first. */
  history(source: TrailName, entity: EntityRef, page: PageRequest, scope?: TrailScope): Promise<EntryPage>;
  /** Every entry matching `filter` (and its `scope`), newest first, in batches read as the caller asks for them. */
  export(source: TrailName, filter: EntryFilter, options?: StreamOptions): AsyncIterable<TrailEntry[]>;
  /** Entries appended from now on, to either trail, as they are found. */
  live(options?: StreamOptions): AsyncIterable<AppendedEntries>;
  /** Resolves once the source answers completely (its first index build is done, or it is connected). */
  ready(): Promise<void>;
  /** Looks for new entries now instead of at the next change notice or poll. */
  refresh(): Promise<void>;
  close(): Promise<void>;
}
