/**
 * The PostgreSQL store as the viewer's TrailSource: one trail for many
 * services and hosts. Pages come from the per-filter indexes (newest first by
 * the entry's time), free text from the trigram index, totals and stats from
 * the per-day counts (only the edges of a time range are counted on rows),
 * and live entries from the shippers' LISTEN/NOTIFY announcements.
 */
import { createHash } from "node:crypto";
import pg from "pg";
import { CASE_INSENSITIVE_FILTERS, quoteColumn } from "../store/columns.js";
import { clientConfig, connectPostgres, describeTarget, type PostgresTarget } from "../store/connect.js";
import { foldAscii } from "../store/copyRow.js";
import { DICT_COLUMNS, rowDict } from "../store/rowDict.js";
import { INDEXED_PREFIX, indexedExpression, indexedParameter, readStoreInfo, StoreNames } from "../store/schema.js";
import type { EntryFilter } from "./EntryQuery.js";
import type {
  AppendedEntries,
  EntityRef,
  EntryCount,
  EntryPage,
  PageRequest,
  StreamOptions,
  TrailEntry,
  TrailName,
  TrailSource,
  TrailStats,
} from "./TrailSource.js";

export interface PostgresTrailSourceOptions {
  /** The store: a postgresql:// URL, or node-postgres settings (a role that may SELECT the store: `auditx pg init --reader`). */
  postgres: PostgresTarget;
  /** Schema of the store (default "auditx"). */
  schema?: string;
  /** Connections for queries (default 4). */
  poolSize?: number;
  /** Longest a query may run, in ms (default 30 s). */
  statementTimeoutMillis?: number;
  /** Follow the shippers' announcements of new entries for live views (default true). */
  live?: boolean;
  /**
   * Totals of several filters at once are counted exactly on the rows of the
   * narrowest filter when it has at most this many entries (default 100,000).
   */
  countScanRows?: number;
  /**
   * Otherwise such totals are counted up to this many matches (default
   * 1,000): past it the total is that lower bound, marked `partial`
   * ("1,000+" on the page).
   */
  exactCountLimit?: number;
  /** Free-text totals are exact up to this many matches (default 1,000: "1,000+" past it), each match being read to be checked. */
  textCountLimit?: number;
  /** Free text first looks among this many of the newest entries the other filters keep (default 20,000). */
  textWindow?: number;
}

/** EntryFilter fields that compare one column. */
const COLUMN_FILTERS: ReadonlyArray<readonly [keyof EntryFilter, string]> = [
  ["module", "module"],
  ["level", "level"],
  ["user", "user"],
  ["action", "action"],
  ["branchId", "branch_id"],
  ["companyId", "company_id"],
  ["entityType", "entity_type"],
  ["service", "service"],
  ["hostname", "hostname"],
  ["entityId", "entity_id"],
  ["referenceNo", "reference_no"],
  ["requestId", "request_id"],
];

/** Filters the per-day counts answer (one of them at a time, with success, source and a time range). */
const COUNTED_FILTERS: ReadonlySet<string> = new Set([
  "module",
  "level",
  "user",
  "action",
  "branch_id",
  "company_id",
  "entity_type",
  "service",
  "hostname",
]);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DAY_MS = 24 * 3600 * 1000;
const EXPORT_BATCH = 1000;
/** Ids of entries already pushed live (a replayed batch is announced again). */
const REMEMBERED_LIVE_IDS = 50_000;
const SELECT_ENTRY = DICT_COLUMNS.map(quoteColumn).join(", ");

const hasText = (filter: EntryFilter) => filter.q !== undefined && filter.q !== "";

/** An SQL condition and its parameters, built one filter at a time. */
class Conditions {
  readonly clauses: string[] = [];
  readonly params: unknown[] = [];
  /** A filter no entry can match (an id that is not a UUID). */
  impossible = false;

  param(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  get where(): string {
    if (this.impossible) return "WHERE false";
    return this.clauses.length === 0 ? "" : `WHERE ${this.clauses.join(" AND ")}`;
  }
}

function likePattern(text: string): string {
  return `%${foldAscii(text).replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

interface ConditionOptions {
  /** Time bounds instead of the filter's (the edges of a range). */
  time?: { from?: number; to?: number };
  /**
   * The one filter column whose index the query may use; the others are
   * checked on its rows. Unset: every index is the planner's to choose.
   */
  through?: string;
}

/** The conditions of a filter on one trail (security: the SECURITY and CRITICAL entries). */
function conditionsOf(trail: TrailName, filter: EntryFilter, options: ConditionOptions = {}): Conditions {
  const where = new Conditions();
  const { time, through } = options;
  if (trail === "security") where.clauses.push("security");
  for (const [key, column] of COLUMN_FILTERS) {
    const value = filter[key];
    if (typeof value !== "string") continue;
    const p = where.param(value);
    // Through the index on the value's first characters, then the whole value on the row.
    if (through === undefined || through === column) where.clauses.push(`${indexedExpression(column)} = ${indexedParameter(column, p)}`);
    where.clauses.push(
      CASE_INSENSITIVE_FILTERS.has(column)
        ? `lower(${quoteColumn(column)} COLLATE "C") = lower(${p}::text COLLATE "C")`
        : `${quoteColumn(column)} = ${p}::text`,
    );
  }
  if (filter.id !== undefined) {
    if (UUID.test(filter.id)) where.clauses.push(`id = ${where.param(filter.id.toLowerCase())}::uuid`);
    else where.impossible = true;
  }
  // Literal, not a parameter: the planner then may use the partial index of failures (unless told to go through another).
  if (filter.success !== undefined) {
    if (through === undefined) where.clauses.push(filter.success ? "success" : "NOT success");
    else where.clauses.push(filter.success ? "success IS TRUE" : "success IS FALSE");
  }
  const from = time ? time.from : filter.from;
  const to = time ? time.to : filter.to;
  if (from !== undefined) where.clauses.push(`ts >= ${where.param(new Date(from))}`);
  if (to !== undefined) where.clauses.push(`ts <= ${where.param(new Date(to))}`);
  if (filter.q !== undefined && filter.q !== "") where.clauses.push(`search LIKE ${where.param(likePattern(filter.q))}`);
  return where;
}

/** The counted filters (module, level, …) a filter uses, with their values. */
function countedFiltersOf(filter: EntryFilter): Array<{ column: string; value: string }> {
  const found: Array<{ column: string; value: string }> = [];
  for (const [key, column] of COLUMN_FILTERS) {
    const value = filter[key];
    if (typeof value === "string" && COUNTED_FILTERS.has(column)) found.push({ column, value });
  }
  return found;
}

/** Whether the filter uses a mostly-unique value (entity id, reference, request id, the id): few rows, found through its index. */
function hasLookup(filter: EntryFilter): boolean {
  return filter.entityId !== undefined || filter.referenceNo !== undefined || filter.requestId !== undefined || filter.id !== undefined;
}

/** A statement's name for PostgreSQL's plan cache: one per distinct text. */
function statementName(text: string): string {
  return `auditx_${createHash("sha1").update(text).digest("hex").slice(0, 20)}`;
}

const utcDay = (millis: number) => Math.floor(millis / DAY_MS) * DAY_MS;
const isoDay = (millis: number) => new Date(millis).toISOString().slice(0, 10);

/** Where an entry is: its time (the partition) and id. */
interface MatchKey {
  ts: Date;
  id: string;
}

interface LiveSubscriber {
  push(batch: AppendedEntries): void;
  /** Ends its wait (the source closes). */
  wake(): void;
}

export class PostgresTrailSource implements TrailSource {
  readonly names: StoreNames;
  /** Where the store is (password hidden). */
  readonly target: string;
  private readonly pool: pg.Pool;
  private readonly connected: Promise<void>;
  private readonly liveEnabled: boolean;
  private readonly subscribers = new Set<LiveSubscriber>();
  private listener: pg.Client | null = null;
  private listening: Promise<void> | null = null;
  private readonly liveIds = new Set<string>();
  private readonly exactCountLimit: number;
  private readonly countScanRows: number;
  private readonly textCountLimit: number;
  private readonly textWindow: number;
  private closed = false;

  constructor(private readonly options: PostgresTrailSourceOptions) {
    this.names = new StoreNames(options.schema);
    this.target = describeTarget(options.postgres);
    this.liveEnabled = options.live ?? true;
    this.exactCountLimit = Math.max(1, Math.floor(options.exactCountLimit ?? 1000));
    this.countScanRows = Math.max(1, Math.floor(options.countScanRows ?? 100_000));
    this.textCountLimit = Math.max(1, Math.floor(options.textCountLimit ?? 1000));
    this.textWindow = Math.max(1, Math.floor(options.textWindow ?? 20_000));
    this.pool = new pg.Pool({
      ...clientConfig(options.postgres, {
        applicationName: "auditx-viewer",
        statementTimeoutMillis: options.statementTimeoutMillis ?? 30_000,
      }),
      // Planning a query over every month's partition and its indexes costs more than running it: each
      // statement is planned once per connection, for any values (the plan keeps the partitions' pruning).
      options: "-c plan_cache_mode=force_generic_plan",
      max: Math.max(1, options.poolSize ?? 4),
      idleTimeoutMillis: 30_000,
    });
    // An idle connection that fails (a restart) is replaced on the next query; it must not crash the process.
    this.pool.on("error", () => undefined);
    this.connected = this.checkStore();
    this.connected.catch(() => undefined);
  }

  private async checkStore(): Promise<void> {
    const client = await this.pool.connect();
    try {
      const info = await readStoreInfo(client as unknown as pg.Client, this.names);
      if (!info) throw new Error(`no auditx store in schema ${this.names.schemaName} of ${this.target}: create it with \`auditx pg init\``);
    } finally {
      client.release();
    }
  }

  ready(): Promise<void> {
    return this.connected;
  }

  /** The store is always current: nothing to look for. */
  async refresh(): Promise<void> {}

  /** Runs a statement through the plan cache (a named statement per text, prepared once per connection). */
  private sql(text: string, params: unknown[] = []): Promise<pg.QueryResult> {
    return this.pool.query({ name: statementName(text), text, values: params });
  }

  async query(trail: TrailName, filter: EntryFilter, page: PageRequest): Promise<EntryPage> {
    if (hasText(filter)) return this.textQuery(trail, filter, page);
    const through = await this.narrowest(trail, filter);
    const [items, count] = await Promise.all([this.page(trail, filter, page, through?.column), this.count(trail, filter, through)]);
    // A lower bound is at least what the pages so far hold.
    const total = count.partial ? Math.max(count.total, page.offset + items.length) : count.total;
    return { items, total, partial: count.partial };
  }

  /**
   * With two counted filters or more, the one with the fewest entries (the
   * per-day counts know each one's), and that number: the query goes
   * through its index and checks the others on its rows, where the planner
   * would build bitmaps of every filter's entries and intersect them.
   */
  private async narrowest(trail: TrailName, filter: EntryFilter): Promise<{ column: string; entries: number } | undefined> {
    const counted = countedFiltersOf(filter);
    if (counted.length < 2 || hasLookup(filter)) return undefined;
    const where = new Conditions();
    const options = counted.map(({ column, value }) => {
      const dim = where.param(column);
      return CASE_INSENSITIVE_FILTERS.has(column)
        ? `(dim = ${dim} AND lower(value COLLATE "C") = lower(left(${where.param(value)}::text, ${INDEXED_PREFIX}) COLLATE "C"))`
        : `(dim = ${dim} AND value = left(${where.param(value)}::text, ${INDEXED_PREFIX}))`;
    });
    where.clauses.push(`(${options.join(" OR ")})`);
    if (trail === "security") where.clauses.push("security");
    const column = filter.success === undefined ? "entries" : filter.success ? "entries - failures" : "failures";
    const { rows } = await this.sql(
      `SELECT dim, sum(${column})::bigint AS n FROM ${this.names.counts} ${where.where} GROUP BY dim`,
      where.params,
    );
    const entries = new Map((rows as Array<{ dim: string; n: string }>).map((row) => [row.dim, Number(row.n)]));
    let narrowest: { column: string; entries: number } | undefined;
    for (const { column: name } of counted) {
      const n = entries.get(name) ?? 0;
      if (!narrowest || n < narrowest.entries) narrowest = { column: name, entries: n };
    }
    return narrowest;
  }

  private async page(trail: TrailName, filter: EntryFilter, page: PageRequest, through?: string): Promise<TrailEntry[]> {
    const where = conditionsOf(trail, filter, { through });
    const { rows } = await this.sql(
      `SELECT ${SELECT_ENTRY} FROM ${this.names.entries} ${where.where} ORDER BY ts DESC, id DESC LIMIT ${where.param(page.limit)} OFFSET ${where.param(page.offset)}`,
      where.params,
    );
    return rows.map(rowDict);
  }

  /**
   * Free-text matches, newest first, up to `wanted` (their time and id): one
   * search serves a page and its total. Common text is found among the
   * newest textWindow entries the other filters keep, read in time order;
   * only when those hold fewer than wanted does the trigram index look
   * through all of them (then the text is rare, and the index cheap).
   * `complete`: these are all the matches.
   */
  private async textMatches(trail: TrailName, filter: EntryFilter, wanted: number): Promise<{ keys: MatchKey[]; complete: boolean }> {
    const rest = conditionsOf(trail, { ...filter, q: undefined });
    const q = rest.param(likePattern(filter.q as string));
    const { rows } = await this.sql(
      `SELECT count(*)::int AS seen,
              (array_agg(ts ORDER BY ts DESC, id DESC) FILTER (WHERE hit))[1:${rest.param(wanted)}::int] AS times,
              (array_agg(id::text ORDER BY ts DESC, id DESC) FILTER (WHERE hit))[1:${rest.param(wanted)}::int] AS ids
         FROM (SELECT ts, id, search LIKE ${q} AS hit FROM ${this.names.entries} ${rest.where}
                ORDER BY ts DESC, id DESC LIMIT ${rest.param(this.textWindow)}) newest`,
      rest.params,
    );
    const times = (rows[0]?.times ?? []) as Date[];
    const ids = (rows[0]?.ids ?? []) as string[];
    if (ids.length >= wanted || Number(rows[0]?.seen ?? 0) < this.textWindow) {
      return { keys: ids.map((id, i) => ({ id, ts: times[i] as Date })), complete: ids.length < wanted };
    }
    const all = conditionsOf(trail, filter);
    const found = await this.sql(
      `SELECT ts, id::text AS id FROM ${this.names.entries} ${all.where} ORDER BY ts DESC, id DESC LIMIT ${all.param(wanted)}`,
      all.params,
    );
    const keys = (found.rows as MatchKey[]).map((row) => ({ id: row.id, ts: row.ts }));
    return { keys, complete: keys.length < wanted };
  }

  /** The entries of these keys, in their order. */
  private async entriesOf(keys: MatchKey[]): Promise<TrailEntry[]> {
    if (keys.length === 0) return [];
    const { rows } = await this.sql(
      `SELECT ${SELECT_ENTRY}, ts FROM ${this.names.entries} WHERE (id, ts) IN (SELECT * FROM unnest($1::uuid[], $2::timestamptz[])) ORDER BY ts DESC, id DESC`,
      [keys.map((key) => key.id), keys.map((key) => key.ts)],
    );
    return rows.map(rowDict);
  }

  /** A page of free-text matches and their total (up to textCountLimit, then partial). */
  private async textQuery(trail: TrailName, filter: EntryFilter, page: PageRequest): Promise<EntryPage> {
    const wanted = Math.max(this.textCountLimit + 1, page.offset + page.limit);
    const { keys, complete } = await this.textMatches(trail, filter, wanted);
    const items = await this.entriesOf(keys.slice(page.offset, page.offset + page.limit));
    if (complete) return { items, total: keys.length, partial: false };
    return { items, total: Math.max(this.textCountLimit, page.offset + items.length), partial: true };
  }

  /** Matches counted up to `cap` (a larger count answers `cap`). */
  private async countUpTo(trail: TrailName, filter: EntryFilter, cap: number, through?: string): Promise<number> {
    const where = conditionsOf(trail, filter, { through });
    const { rows } = await this.sql(
      `SELECT count(*)::bigint AS n FROM (SELECT 1 FROM ${this.names.entries} ${where.where} LIMIT ${where.param(cap)}) matching`,
      where.params,
    );
    return Number(rows[0].n);
  }

  /**
   * How many entries match. One counted filter (with success, source and a
   * time range): from the per-day counts, exact at any size. Several: counted
   * on the rows of the narrowest when it has at most countScanRows entries,
   * else up to exactCountLimit. Free text: up to textCountLimit. Past a
   * limit, `partial`: the total is that lower bound.
   */
  async count(trail: TrailName, filter: EntryFilter, through?: { column: string; entries: number }): Promise<EntryCount> {
    const counted = countedFiltersOf(filter);
    if (!hasText(filter) && !hasLookup(filter) && counted.length <= 1 && (counted[0]?.value.length ?? 0) < INDEXED_PREFIX) {
      return { total: await this.countFromDays(trail, filter, counted[0] ?? null), partial: false };
    }
    if (hasText(filter)) return this.countText(trail, filter);
    const narrowest = through ?? (await this.narrowest(trail, filter));
    if (narrowest && narrowest.entries === 0) return { total: 0, partial: false };
    if (narrowest && narrowest.entries <= this.countScanRows) {
      return { total: await this.countRows(trail, filter, undefined, narrowest.column), partial: false };
    }
    const cap = this.exactCountLimit;
    const n = await this.countUpTo(trail, filter, cap + 1, narrowest?.column);
    return n > cap ? { total: cap, partial: true } : { total: n, partial: false };
  }

  /** Free-text matches, up to textCountLimit. */
  private async countText(trail: TrailName, filter: EntryFilter): Promise<EntryCount> {
    const { keys, complete } = await this.textMatches(trail, filter, this.textCountLimit + 1);
    return complete ? { total: keys.length, partial: false } : { total: this.textCountLimit, partial: true };
  }

  private async countRows(
    trail: TrailName,
    filter: EntryFilter,
    time: { from?: number; to?: number } | undefined,
    through?: string,
  ): Promise<number> {
    const where = conditionsOf(trail, filter, { time, through });
    const { rows } = await this.sql(`SELECT count(*)::bigint AS n FROM ${this.names.entries} ${where.where}`, where.params);
    return Number(rows[0].n);
  }

  /**
   * A total from the per-day counts: the whole UTC days inside the time
   * range from the counts, the partial days at its edges counted on rows.
   */
  private async countFromDays(trail: TrailName, filter: EntryFilter, counted: { column: string; value: string } | null): Promise<number> {
    const from = filter.from;
    const to = filter.to;
    // Whole days: [firstDay, endDay).
    const firstDay = from === undefined ? undefined : utcDay(from) === from ? from : utcDay(from) + DAY_MS;
    const endDay = to === undefined ? undefined : utcDay(to + 1);
    if (firstDay !== undefined && endDay !== undefined && firstDay >= endDay) {
      return this.countRows(trail, filter, undefined);
    }
    const where = new Conditions();
    where.clauses.push(`dim = ${where.param(counted?.column ?? "")}`);
    if (!counted) where.clauses.push("value = ''");
    else if (CASE_INSENSITIVE_FILTERS.has(counted.column))
      where.clauses.push(`lower(value COLLATE "C") = lower(${where.param(counted.value)}::text COLLATE "C")`);
    else where.clauses.push(`value = ${where.param(counted.value)}`);
    if (trail === "security") where.clauses.push("security");
    if (firstDay !== undefined) where.clauses.push(`day >= ${where.param(isoDay(firstDay))}::date`);
    if (endDay !== undefined) where.clauses.push(`day < ${where.param(isoDay(endDay))}::date`);
    const edges: Array<Promise<number>> = [];
    if (from !== undefined && firstDay !== undefined && from < firstDay)
      edges.push(this.countRows(trail, filter, { from, to: firstDay - 1 }));
    if (to !== undefined && endDay !== undefined && to >= endDay) edges.push(this.countRows(trail, filter, { from: endDay, to }));
    const [days, ...edgeCounts] = await Promise.all([
      this.sql(
        `SELECT coalesce(sum(entries), 0)::bigint AS entries, coalesce(sum(failures), 0)::bigint AS failures FROM ${this.names.counts} ${where.where}`,
        where.params,
      ),
      ...edges,
    ]);
    const entries = Number(days.rows[0].entries);
    const failures = Number(days.rows[0].failures);
    const whole = filter.success === undefined ? entries : filter.success ? entries - failures : failures;
    return whole + edgeCounts.reduce((sum, n) => sum + n, 0);
  }

  async stats(trail: TrailName): Promise<TrailStats> {
    const security = trail === "security" ? "AND security" : "";
    const [counts, latest, shippers] = await Promise.all([
      this.sql(
        `SELECT dim, value, sum(entries)::bigint AS entries, sum(failures)::bigint AS failures
           FROM ${this.names.counts} WHERE dim IN ('', 'module', 'level') ${security} GROUP BY dim, value`,
      ),
      this.sql(
        `SELECT "timestamp" FROM ${this.names.entries} ${trail === "security" ? "WHERE security" : ""} ORDER BY ts DESC, id DESC LIMIT 1`,
      ),
      this.sql(`SELECT coalesce(sum(skipped), 0)::bigint AS skipped FROM ${this.names.shippers}`).catch(() => ({ rows: [{ skipped: 0 }] })),
    ]);
    const stats: TrailStats = { total: 0, failures: 0, modules: {}, levels: {}, latest_timestamp: null, malformed: 0, evicted: 0 };
    for (const row of counts.rows as Array<{ dim: string; value: string; entries: string; failures: string }>) {
      if (row.dim === "") {
        stats.total += Number(row.entries);
        stats.failures += Number(row.failures);
      } else if (row.dim === "module") stats.modules[row.value] = Number(row.entries);
      else stats.levels[row.value] = Number(row.entries);
    }
    stats.latest_timestamp = (latest.rows[0]?.timestamp as string | undefined) ?? null;
    stats.malformed = Number(shippers.rows[0]?.skipped ?? 0);
    return stats;
  }

  async entry(trail: TrailName, id: string): Promise<TrailEntry | null> {
    if (!UUID.test(id)) return null;
    const { rows } = await this.sql(
      `SELECT ${SELECT_ENTRY} FROM ${this.names.entries} WHERE id = $1::uuid ${trail === "security" ? "AND security" : ""} ORDER BY ts DESC LIMIT 1`,
      [id.toLowerCase()],
    );
    return rows[0] ? rowDict(rows[0]) : null;
  }

  history(trail: TrailName, entity: EntityRef, page: PageRequest): Promise<EntryPage> {
    return this.query(trail, { entityType: entity.type, entityId: entity.id }, page);
  }

  /** Every matching entry, newest first, a batch at a time by key (never OFFSET): the last batch costs what the first does. */
  async *export(trail: TrailName, filter: EntryFilter, options: StreamOptions = {}): AsyncGenerator<TrailEntry[]> {
    let after: { ts: Date; id: string } | null = null;
    while (!options.signal?.aborted) {
      const where = conditionsOf(trail, filter);
      if (after) where.clauses.push(`(ts, id) < (${where.param(after.ts)}, ${where.param(after.id)}::uuid)`);
      const { rows } = await this.sql(
        `SELECT ${SELECT_ENTRY}, ts FROM ${this.names.entries} ${where.where} ORDER BY ts DESC, id DESC LIMIT ${EXPORT_BATCH}`,
        where.params,
      );
      if (rows.length === 0) return;
      const last = rows[rows.length - 1];
      after = { ts: last.ts as Date, id: last.id as string };
      yield rows.map(rowDict);
      if (rows.length < EXPORT_BATCH) return;
    }
  }

  // ---- live ------------------------------------------------------------------

  async *live(options: StreamOptions = {}): AsyncGenerator<AppendedEntries> {
    if (!this.liveEnabled) return;
    const queue: AppendedEntries[] = [];
    let wake: (() => void) | null = null;
    const subscriber: LiveSubscriber = {
      push: (batch) => {
        queue.push(batch);
        wake?.();
      },
      wake: () => wake?.(),
    };
    this.subscribers.add(subscriber);
    this.listening ??= this.listen();
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
        });
        wake = null;
      }
    } finally {
      options.signal?.removeEventListener("abort", stop);
      this.subscribers.delete(subscriber);
    }
  }

  /** Keeps one connection LISTENing to the shippers' channel, reconnecting after a failure (notices meanwhile are missed). */
  private async listen(): Promise<void> {
    let delay = 250;
    while (!this.closed) {
      let client: pg.Client | null = null;
      try {
        let lost: () => void = () => undefined;
        const ended = new Promise<void>((resolve) => {
          lost = resolve;
        });
        client = await connectPostgres(this.options.postgres, { applicationName: "auditx-viewer-live" }, () => lost());
        client.on("end", () => lost());
        client.on("notification", (message) => {
          if (message.channel === this.names.channel && message.payload) this.announced(message.payload).catch(() => undefined);
        });
        this.listener = client;
        if (this.closed) break;
        await client.query(`LISTEN ${client.escapeIdentifier(this.names.channel)}`);
        delay = 250;
        await ended;
      } catch {
        // Not reachable now: try again below.
      } finally {
        this.listener = null;
        await client?.end().catch(() => undefined);
      }
      if (this.closed) return;
      await new Promise((resolve) => setTimeout(resolve, delay).unref());
      delay = Math.min(delay * 2, 10_000);
    }
  }

  /** A shipper's notice: the ids (32 hex digits each) of entries it stored; they are read and pushed to each live view. */
  private async announced(payload: string): Promise<void> {
    const ids: string[] = [];
    for (const hex of payload.split(",")) {
      if (!/^[0-9a-f]{32}$/.test(hex)) continue;
      const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
      if (this.liveIds.has(id)) continue;
      this.liveIds.add(id);
      ids.push(id);
    }
    while (this.liveIds.size > REMEMBERED_LIVE_IDS) this.liveIds.delete(this.liveIds.values().next().value as string);
    if (ids.length === 0 || this.subscribers.size === 0) return;
    const { rows } = await this.sql(
      `SELECT ${SELECT_ENTRY}, security FROM ${this.names.entries} WHERE id = ANY($1::uuid[]) ORDER BY ts, id`,
      [ids],
    );
    const audit = rows.map(rowDict);
    const security = rows.filter((row) => row.security === true).map(rowDict);
    for (const subscriber of this.subscribers) {
      if (audit.length > 0) subscriber.push({ source: "audit", entries: audit });
      if (security.length > 0) subscriber.push({ source: "security", entries: security });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const subscriber of this.subscribers) subscriber.wake();
    await this.listener?.end().catch(() => undefined);
    await this.listening?.catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }
}
