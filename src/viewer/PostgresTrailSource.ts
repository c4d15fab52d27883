/**
 * The PostgreSQL store as the viewer's TrailSource: one trail for many
 * services and hosts. Pages come from the per-filter indexes (newest first by
 * the entry's time), free text from the trigram index (and the counted
 * columns' indexes, for their values), totals and stats from
 * the per-day counts (only the edges of a time range are counted on rows),
 * and live entries from the shippers' LISTEN/NOTIFY announcements.
 */
import { createHash } from "node:crypto";
import pg from "pg";
import { foldAscii } from "../internal/foldAscii.js";
import { ipv6Text, parseIpAddress } from "../internal/ipAddress.js";
import { CASE_INSENSITIVE_FILTERS, quoteColumn } from "../store/columns.js";
import { clientConfig, connectPostgres, describeTarget, type PostgresTarget } from "../store/connect.js";
import { DICT_COLUMNS, rowDict } from "../store/rowDict.js";
import { COUNTED_COLUMNS, INDEXED_PREFIX, indexedExpression, readStoreInfo, SLOT_SECONDS, StoreNames } from "../store/schema.js";
import type { EntryFilter } from "./EntryQuery.js";
import { type HistogramLayout, type HistogramRequest, histogramLayout, type TimeHistogram } from "./TimeHistogram.js";
import type { TrailScope } from "./TrailScope.js";
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
   * narrowest filter when it has at most this many entries (default 20,000: about 100 ms of reading rows).
   */
  countScanRows?: number;
  /**
   * Otherwise such totals are counted up to this many matches (default
   * 1,000): past it the total is that lower bound, marked `partial`
   * ("1,000+" on the page).
   */
  exactCountLimit?: number;
  /**
   * Several filters found together in fewer entries than a page and its
   * count need, while the narrowest has more than this many (default
   * 2,000), are read through the bitmaps of all their indexes, planned for
   * the values asked: walking the narrowest's entries would read each of them.
   */
  sparseMinEntries?: number;
  /** Free-text totals are exact up to this many matches (default 1,000: "1,000+" past it), each match being read to be checked. */
  textCountLimit?: number;
  /** Free text first looks among this many of the newest entries the other filters keep (default 20,000). */
  textWindow?: number;
}

/** EntryFilter fields that compare one column, and how: whole values ignoring case, as written, or (user, branch) by their match mode. */
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
const COUNTED_FILTERS: ReadonlySet<string> = new Set(COUNTED_COLUMNS);

/** Past this many values found for a "contains" filter, its index is left out: the values are checked on the rows. */
const MAX_CANDIDATES = 1000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DAY_MS = 24 * 3600 * 1000;
const EXPORT_BATCH = 1000;
/** Ids of entries already pushed live (a replayed batch is announced again). */
const REMEMBERED_LIVE_IDS = 50_000;
const SELECT_ENTRY = DICT_COLUMNS.map(quoteColumn).join(", ");
const SELECT_ENTRY_OF = (alias: string) => DICT_COLUMNS.map((column) => `${alias}.${quoteColumn(column)}`).join(", ");

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

/**
 * Free text as an SQL condition: the entry's folded values contain it, or,
 * typed whole, it is the entry's request id. The search text leaves request
 * ids out (machine identifiers, like the entry's id), so that one is found
 * through the request id's own index: as written, or in lower or upper case.
 * It leaves the counted columns' whole values out too (module, user,
 * branch…): those holding the text were found in the per-day counts
 * (`textValues`), and are matched through each column's index.
 */
function textCondition(where: Conditions, q: string, textValues: readonly TextValues[]): string {
  const pattern = where.param(likePattern(q));
  const arms = [`search LIKE ${pattern}`];
  const id = q.trim();
  if (id !== "" && !/\s/.test(id) && isWhole(id)) {
    const spellings = [...new Set([id, foldAscii(id), id.toUpperCase()])];
    arms.push(`${indexedExpression("request_id")} = ANY(${where.param(spellings)}::text[])`);
  }
  for (const { column, values } of textValues) {
    if (values === null) arms.push(`lower(${quoteColumn(column)} COLLATE "C") LIKE ${pattern}`);
    else if (values.length > 0) arms.push(`${indexedExpression(column)} = ANY(${where.param(values)}::text[])`);
  }
  return arms.length === 1 ? (arms[0] as string) : `(${arms.join(" OR ")})`;
}

/** A counted column's stored whole values that contain the free text, as its index holds them; null: too many to list. */
interface TextValues {
  column: string;
  values: string[] | null;
}

/**
 * One column's filter, resolved against the store: the values of the
 * column's index expression (its first INDEXED_PREFIX characters, ASCII
 * lowercased for the columns compared ignoring case) an entry may have, and
 * the test of the whole value on the row. A "contains" filter (user, branch)
 * is resolved through the per-day counts into the stored values that contain
 * it, so that it too goes through the index.
 */
interface ColumnTest {
  column: string;
  /** Index values that may match (none: no entry matches); null: too many to list, the rows are checked without the index. */
  prefixes: string[] | null;
  /** The prefixes are whole values: the per-day counts answer this test exactly. */
  counted: boolean;
  /** The whole-value test, an SQL condition on the row with `$` standing for the one parameter. */
  rowTest: string;
  rowParam: string[];
}

/** A filter made ready for SQL: its column tests and IP blocks. */
/** One histogram bucket's sums, as PostgreSQL returns bigints (text). */
interface BucketRow {
  bucket: number;
  entries: string;
  failures: string;
}

interface ResolvedFilter {
  filter: EntryFilter;
  tests: ColumnTest[];
  /** CIDR blocks (IPv6 form, IPv4 as mapped) of the `ip` filter. */
  ipBlocks: string[] | null;
  /** No entry can match. */
  impossible: boolean;
  /** The reader's tenants (its key's scope): only entries of these companies, compared as written. */
  scopeCompanies?: readonly string[];
  /** Free text's values among the counted columns (none without free text). */
  textValues: TextValues[];
}

/** The first INDEXED_PREFIX characters (code points, as PostgreSQL's left()) of a value. */
function prefixOf(value: string): string {
  if (value.length <= INDEXED_PREFIX) return value;
  return Array.from(value).slice(0, INDEXED_PREFIX).join("");
}

const isWhole = (value: string) => Array.from(value).length < INDEXED_PREFIX;

/** The CIDR block of an `ip` filter value (an address is a block of one), as PostgreSQL's cidr reads it; null when it is none. */
function cidrOf(text: string): string | null {
  const value = text.trim();
  const slash = value.indexOf("/");
  const address = parseIpAddress(slash < 0 ? value : value.slice(0, slash));
  if (!address) return null;
  const width = address.v4 ? 32 : 128;
  let bits = width;
  if (slash >= 0) {
    const prefix = value.slice(slash + 1);
    if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > width) return null;
    bits = Number(prefix);
  }
  const total = bits + (128 - width);
  const mask = ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - total)) - 1n);
  return `${ipv6Text(address.value & mask)}/${total}`;
}

/**
 * An entry's address in a CIDR block, as a range of the ip_addr index: the
 * planner turns `<<=` into that range only for a constant block, never for a
 * parameter (a generic plan would read every row), so the range's ends are
 * written out: the block's network and its last address at full length (the
 * ends PostgreSQL's own range for `<<=` uses).
 */
function ipBlockTest(block: string): string {
  return `(ip_addr >= network(${block}::cidr) AND ip_addr <= set_masklen(broadcast(${block}::cidr), -1) AND ip_addr <<= ${block}::cidr)`;
}

/** The exact-match test of a column: whole values, ignoring case or not. */
function exactTest(column: string, values: string[], ignoreCase: boolean): ColumnTest {
  const folded = ignoreCase ? values.map(foldAscii) : values;
  return {
    column,
    prefixes: [...new Set(folded.map(prefixOf))],
    counted: values.every(isWhole),
    rowTest: ignoreCase ? `lower(${quoteColumn(column)} COLLATE "C") = ANY($::text[])` : `${quoteColumn(column)} = ANY($::text[])`,
    rowParam: folded,
  };
}

interface ConditionOptions {
  /** Time bounds instead of the filter's (the edges of a range). */
  time?: { from?: number; to?: number };
  /**
   * The one filter column whose index the query may use; the others are
   * checked on its rows. Unset: every index is the planner's to choose.
   */
  through?: string;
  /**
   * An SQL value the `through` column's index value is compared to, instead
   * of its list of values (one value of the list at a time, see
   * PostgresTrailSource.walk). A range of one value, not an equality: with
   * an equality the planner may take the time index's order for the walk's,
   * and test every entry of the store instead of the value's.
   */
  throughValue?: string;
  /** Leave the free text out. */
  withoutText?: boolean;
}

/** The conditions of a filter on one trail (security: the SECURITY and CRITICAL entries). */
function conditionsOf(trail: TrailName, resolved: ResolvedFilter, options: ConditionOptions = {}): Conditions {
  const where = new Conditions();
  const { filter } = resolved;
  const { time, through } = options;
  if (resolved.impossible) where.impossible = true;
  if (trail === "security") where.clauses.push("security");
  for (const test of resolved.tests) {
    // Through the index on the value's first characters, then the whole value on the row.
    if (test.prefixes !== null && through === test.column && options.throughValue !== undefined) {
      const indexed = indexedExpression(test.column);
      where.clauses.push(`${indexed} >= ${options.throughValue} AND ${indexed} <= ${options.throughValue}`);
    } else if (test.prefixes !== null && (through === undefined || through === test.column)) {
      where.clauses.push(`${indexedExpression(test.column)} = ANY(${where.param(test.prefixes)}::text[])`);
    }
    const param = where.param(test.rowParam);
    where.clauses.push(test.rowTest.replace("$", () => param));
  }
  if (resolved.scopeCompanies !== undefined) where.clauses.push(`company_id = ANY(${where.param(resolved.scopeCompanies)}::text[])`);
  if (resolved.ipBlocks !== null) {
    where.clauses.push(`(${resolved.ipBlocks.map((block) => ipBlockTest(where.param(block))).join(" OR ")})`);
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
  if (hasText(filter) && !options.withoutText) where.clauses.push(textCondition(where, filter.q as string, resolved.textValues));
  return where;
}

/** The tests the per-day counts answer (module, level, … with whole values). */
function countedTestsOf(resolved: ResolvedFilter): ColumnTest[] {
  return resolved.tests.filter((test) => COUNTED_FILTERS.has(test.column) && test.prefixes !== null);
}

/** Whether the per-day counts can answer a filter's total: one counted test at most, nothing only rows can tell. */
function daysAnswer(resolved: ResolvedFilter): boolean {
  const { filter, tests } = resolved;
  if (hasText(filter) || resolved.ipBlocks !== null || filter.id !== undefined || tests.length > 1) return false;
  // The per-day counts are not kept per tenant.
  if (resolved.scopeCompanies !== undefined) return false;
  return tests.length === 0 || (COUNTED_FILTERS.has(tests[0]!.column) && tests[0]!.counted);
}

/** Whether the filter uses a mostly-unique value (entity id, reference, request id, the id): few rows, found through its index. */
function hasLookup(resolved: ResolvedFilter): boolean {
  return resolved.filter.id !== undefined || resolved.tests.some((test) => !COUNTED_FILTERS.has(test.column));
}

/** A statement's name for PostgreSQL's plan cache: one per distinct text. */
function statementName(text: string): string {
  return `auditx_${createHash("sha1").update(text).digest("hex").slice(0, 20)}`;
}

const utcDay = (millis: number) => Math.floor(millis / DAY_MS) * DAY_MS;
const isoDay = (millis: number) => new Date(millis).toISOString().slice(0, 10);

/** The counted filter with the fewest entries, of several: the one a query goes through. */
interface Narrowest {
  column: string;
  /** Its entries (of the trail, with the success filter's result). */
  entries: number;
  /** The matches expected were the filters independent: its entries times each other filter's share of the trail. */
  expected: number;
}

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
  private readonly sparseMinEntries: number;
  private closed = false;

  constructor(private readonly options: PostgresTrailSourceOptions) {
    this.names = new StoreNames(options.schema);
    this.target = describeTarget(options.postgres);
    this.liveEnabled = options.live ?? true;
    this.exactCountLimit = Math.max(1, Math.floor(options.exactCountLimit ?? 1000));
    this.countScanRows = Math.max(1, Math.floor(options.countScanRows ?? 20_000));
    this.textCountLimit = Math.max(1, Math.floor(options.textCountLimit ?? 1000));
    this.textWindow = Math.max(1, Math.floor(options.textWindow ?? 20_000));
    this.sparseMinEntries = Math.max(0, Math.floor(options.sparseMinEntries ?? 2000));
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

  /**
   * The filter made ready for SQL: each column's values, a "contains" filter
   * (user, branch) resolved into the stored values that contain it (found in
   * the per-day counts, within the filter's days), the IP blocks.
   */
  private async resolve(trail: TrailName, filter: EntryFilter): Promise<ResolvedFilter> {
    const resolved: ResolvedFilter = {
      filter,
      tests: [],
      ipBlocks: null,
      impossible: false,
      scopeCompanies: filter.scope?.companyIds,
      textValues: [],
    };
    const contains: Array<Promise<void>> = [];
    if (hasText(filter)) contains.push(this.textValuesOf(filter.q as string).then((found) => void (resolved.textValues = found)));
    for (const [key, column] of COLUMN_FILTERS) {
      const values = filter[key] as string[] | undefined;
      if (values === undefined || values.length === 0) continue;
      // User and branch: a case-insensitive substring unless asked for whole values (as auditX).
      const mode = key === "user" ? (filter.userMatch ?? "contains") : key === "branchId" ? (filter.branchMatch ?? "contains") : "exact";
      if (mode === "exact") {
        resolved.tests.push(exactTest(column, values, CASE_INSENSITIVE_FILTERS.has(column)));
      } else {
        const test: ColumnTest = {
          column,
          prefixes: [],
          counted: true,
          rowTest: `lower(${quoteColumn(column)} COLLATE "C") LIKE ANY($::text[])`,
          rowParam: values.map(likePattern),
        };
        resolved.tests.push(test);
        contains.push(this.containing(trail, filter, test));
      }
    }
    if (filter.ip !== undefined && filter.ip.length > 0) {
      resolved.ipBlocks = filter.ip.map(cidrOf).filter((block): block is string => block !== null);
      if (resolved.ipBlocks.length === 0) resolved.impossible = true;
    }
    await Promise.all(contains);
    if (resolved.tests.some((test) => test.prefixes !== null && test.prefixes.length === 0)) resolved.impossible = true;
    return resolved;
  }

  /**
   * The stored values of a "contains" test's column that hold one of its
   * texts (values cut at the index's length may hold it further on). The
   * column's distinct values are read one index probe each (the counts hold
   * a row per value and day), then those of the filter's days and trail kept.
   */
  private async containing(trail: TrailName, filter: EntryFilter, test: ColumnTest): Promise<void> {
    const where = new Conditions();
    const dim = where.param(test.column);
    where.clauses.push("s.value IS NOT NULL");
    where.clauses.push(
      `(lower(s.value COLLATE "C") LIKE ANY(${where.param(test.rowParam)}::text[]) OR length(s.value) >= ${INDEXED_PREFIX})`,
    );
    const within: string[] = [];
    if (trail === "security") within.push("c.security");
    if (filter.from !== undefined) within.push(`c.day >= ${where.param(isoDay(filter.from))}::date`);
    if (filter.to !== undefined) within.push(`c.day <= ${where.param(isoDay(filter.to))}::date`);
    if (within.length > 0) {
      where.clauses.push(
        `EXISTS (SELECT 1 FROM ${this.names.counts} c WHERE c.dim = ${dim} AND c.value = s.value AND ${within.join(" AND ")})`,
      );
    }
    const { rows } = await this.sql(
      `WITH RECURSIVE stored(value) AS (
         (SELECT value FROM ${this.names.counts} WHERE dim = ${dim} ORDER BY value LIMIT 1)
         UNION ALL
         SELECT (SELECT c.value FROM ${this.names.counts} c WHERE c.dim = ${dim} AND c.value > s.value ORDER BY c.value LIMIT 1)
           FROM stored s WHERE s.value IS NOT NULL
       )
       SELECT s.value FROM stored s ${where.where} LIMIT ${MAX_CANDIDATES + 1}`,
      where.params,
    );
    const values = (rows as Array<{ value: string }>).map((row) => row.value);
    if (values.length > MAX_CANDIDATES) {
      test.prefixes = null;
      test.counted = false;
      return;
    }
    const folded = CASE_INSENSITIVE_FILTERS.has(test.column) ? values.map(foldAscii) : values;
    test.prefixes = [...new Set(folded)];
    test.counted = values.every(isWhole);
  }

  /**
   * The counted columns' stored values that contain free text: every
   * distinct (column, value) of the per-day counts, read one index probe each,
   * kept when whole (shorter than the index's prefix: longer values are in the
   * search text) and holding the text.
   */
  private async textValuesOf(q: string): Promise<TextValues[]> {
    const { rows } = await this.sql(
      `WITH RECURSIVE stored(dim, value) AS (
         (SELECT dim, value FROM ${this.names.counts} WHERE dim > '' ORDER BY dim, value LIMIT 1)
         UNION ALL
         SELECT next.dim, next.value FROM stored s
          CROSS JOIN LATERAL (SELECT c.dim, c.value FROM ${this.names.counts} c
                               WHERE (c.dim, c.value) > (s.dim, s.value) ORDER BY c.dim, c.value LIMIT 1) next
       )
       SELECT dim, value FROM stored WHERE length(value) < ${INDEXED_PREFIX} AND lower(value COLLATE "C") LIKE $1`,
      [likePattern(q)],
    );
    const byColumn = new Map<string, string[]>();
    for (const { dim, value } of rows as Array<{ dim: string; value: string }>) {
      const values = byColumn.get(dim) ?? [];
      values.push(CASE_INSENSITIVE_FILTERS.has(dim) ? foldAscii(value) : value);
      byColumn.set(dim, values);
    }
    return COUNTED_COLUMNS.map((column) => {
      const values = [...new Set(byColumn.get(column) ?? [])];
      return { column, values: values.length > MAX_CANDIDATES ? null : values };
    });
  }

  async query(trail: TrailName, filter: EntryFilter, page: PageRequest): Promise<EntryPage> {
    const resolved = await this.resolve(trail, filter);
    if (resolved.impossible) return { items: [], total: 0, partial: false };
    if (hasText(filter)) return this.textQuery(trail, resolved, page);
    const through = await this.narrowest(trail, resolved);
    if (through) return this.throughQuery(trail, resolved, page, through);
    const [items, count] = await Promise.all([this.page(trail, resolved, page), this.countOf(trail, resolved)]);
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
  private async narrowest(trail: TrailName, resolved: ResolvedFilter): Promise<Narrowest | undefined> {
    const counted = countedTestsOf(resolved).filter((test) => test.counted);
    if (counted.length < 2 || hasLookup(resolved)) return undefined;
    const where = new Conditions();
    const options = counted.map(({ column, prefixes }) => {
      const dim = where.param(column);
      return CASE_INSENSITIVE_FILTERS.has(column)
        ? `(dim = ${dim} AND lower(value COLLATE "C") = ANY(${where.param(prefixes)}::text[]))`
        : `(dim = ${dim} AND value = ANY(${where.param(prefixes)}::text[]))`;
    });
    // And every entry (dim ''): each filter's share of the trail.
    options.push(`(dim = '' AND value = '')`);
    where.clauses.push(`(${options.join(" OR ")})`);
    if (trail === "security") where.clauses.push("security");
    const column = resolved.filter.success === undefined ? "entries" : resolved.filter.success ? "entries - failures" : "failures";
    const { rows } = await this.sql(
      `SELECT dim, sum(${column})::bigint AS n FROM ${this.names.counts} ${where.where} GROUP BY dim`,
      where.params,
    );
    const entries = new Map((rows as Array<{ dim: string; n: string }>).map((row) => [row.dim, Number(row.n)]));
    let narrowest: Narrowest | undefined;
    for (const { column: name } of counted) {
      const n = entries.get(name) ?? 0;
      if (!narrowest || n < narrowest.entries) narrowest = { column: name, entries: n, expected: n };
    }
    // The matches to expect if the filters were independent: the narrowest's entries times each other's share.
    const all = entries.get("") ?? 0;
    if (narrowest) {
      for (const { column: name } of counted) {
        if (name !== narrowest.column) narrowest.expected *= all > 0 ? Math.min(1, (entries.get(name) ?? 0) / all) : 0;
      }
    }
    return narrowest;
  }

  /**
   * Whether the walk through the narrowest filter would read all its entries
   * for few matches (the other filters keep fewer than `wanted` of them):
   * then its index and the others' are better read as bitmaps, ANDed, and
   * only the rows in all of them read (see sparseMatches).
   */
  private isSparse(through: Narrowest, wanted: number): boolean {
    return through.entries > this.sparseMinEntries && through.expected < wanted;
  }

  /**
   * The newest `limit` matches (time and id) of several counted filters that
   * are seldom found together, planned for these very values: the planner
   * then ANDs the bitmaps of the filters' indexes (the failures' partial
   * index for failed entries), and reads only the rows every bitmap holds,
   * where the walk would read each entry of the narrowest filter.
   */
  private async sparseMatches(trail: TrailName, resolved: ResolvedFilter, limit: number): Promise<MatchKey[]> {
    const where = conditionsOf(trail, resolved);
    const { rows } = await this.throughIndex(
      `SELECT ts, id FROM ${this.names.entries} ${where.where} ORDER BY ts DESC, id DESC LIMIT ${where.param(limit)}`,
      where.params,
      { bitmaps: true, custom: true },
    );
    return (rows as MatchKey[]).map((row) => ({ id: row.id, ts: row.ts }));
  }

  /**
   * A page of several counted filters and its total, through the narrowest
   * one's index: one walk finds the page's matches and, past countScanRows
   * entries, counts up to exactCountLimit of them.
   */
  private async throughQuery(trail: TrailName, resolved: ResolvedFilter, page: PageRequest, through: Narrowest): Promise<EntryPage> {
    if (through.entries === 0) return { items: [], total: 0, partial: false };
    const end = page.offset + page.limit;
    const cap = this.exactCountLimit;
    if (this.isSparse(through, Math.max(cap + 1, end))) {
      // Every match when the narrowest is small enough to count exactly, else up to the cap (as the walk).
      const exact = through.entries <= this.countScanRows;
      const keys = await this.sparseMatches(trail, resolved, exact ? through.entries : Math.max(cap + 1, end));
      const items = await this.entriesOf(keys.slice(page.offset, end));
      if (exact || keys.length <= cap) return { items, total: keys.length, partial: false };
      return { items, total: Math.max(cap, page.offset + items.length), partial: true };
    }
    if (through.entries <= this.countScanRows) {
      const [rows, total] = await Promise.all([
        this.walk(trail, resolved, through.column, end, SELECT_ENTRY),
        this.countThrough(trail, resolved, through.column),
      ]);
      return { items: rows.slice(page.offset).map(rowDict), total, partial: false };
    }
    const keys = await this.walk(trail, resolved, through.column, Math.max(cap + 1, end));
    const items = await this.entriesOf(keys.slice(page.offset, end));
    if (keys.length <= cap) return { items, total: keys.length, partial: false };
    // A lower bound is at least what the pages so far hold.
    return { items, total: Math.max(cap, page.offset + items.length), partial: true };
  }

  /**
   * Runs a statement that must read the rows of one index's values: a generic
   * plan knows neither how few rows those values have nor how many of them
   * the other filters keep, and would rather scan the table, or walk the time
   * index and test every row. Sequential scans (and bitmaps, unless allowed)
   * are ruled out for it, in a transaction of its own.
   */
  private async throughIndex(text: string, params: unknown[], { bitmaps = false, custom = false } = {}): Promise<pg.QueryResult> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query(
        `BEGIN READ ONLY; SET LOCAL enable_seqscan = off${bitmaps ? "" : "; SET LOCAL enable_bitmapscan = off"}${custom ? "; SET LOCAL plan_cache_mode = force_custom_plan" : ""}`,
      );
      const result = await client.query({ name: statementName(text), text, values: params });
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch((lost: Error) => {
        broken = lost;
      });
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /** The test a query goes through (the narrowest's). */
  private static throughTest(resolved: ResolvedFilter, through: string): ColumnTest & { prefixes: string[] } {
    const test = resolved.tests.find((candidate) => candidate.column === through && candidate.prefixes !== null);
    if (!test) throw new Error(`no index values for ${through}`);
    return test as ColumnTest & { prefixes: string[] };
  }

  /**
   * The newest `wanted` matches (time and id), through the index of the
   * `through` test: for each of its values, that index's entries of the value
   * newest first, each row checked against the other filters, until `wanted`
   * match; the lists then merged by time. It reads about `wanted` divided by
   * the share of the value's entries the other filters keep, whatever the
   * store's size. `columns`: the entries' columns, when the matches are the page.
   */
  private async walk(trail: TrailName, resolved: ResolvedFilter, through: string, wanted: number): Promise<MatchKey[]>;
  private async walk(
    trail: TrailName,
    resolved: ResolvedFilter,
    through: string,
    wanted: number,
    columns: string,
  ): Promise<Array<Record<string, unknown>>>;
  private async walk(
    trail: TrailName,
    resolved: ResolvedFilter,
    through: string,
    wanted: number,
    columns = "id",
  ): Promise<MatchKey[] | Array<Record<string, unknown>>> {
    const test = PostgresTrailSource.throughTest(resolved, through);
    const where = conditionsOf(trail, resolved, { through, throughValue: "v.value" });
    const values = where.param(test.prefixes);
    const limit = where.param(wanted);
    const { rows } = await this.throughIndex(
      `SELECT e.* FROM unnest(${values}::text[]) AS v(value)
        CROSS JOIN LATERAL (SELECT ${columns}, ts FROM ${this.names.entries} ${where.where}
                             ORDER BY ${indexedExpression(through)} DESC, ts DESC, id DESC LIMIT ${limit}::int) e
        ORDER BY e.ts DESC, e.id DESC LIMIT ${limit}::int`,
      where.params,
    );
    return rows;
  }

  /** The exact number of matches, counted on the rows of the `through` test's values. */
  private async countThrough(trail: TrailName, resolved: ResolvedFilter, through: string): Promise<number> {
    const test = PostgresTrailSource.throughTest(resolved, through);
    const where = conditionsOf(trail, resolved, { through, throughValue: "v.value" });
    const values = where.param(test.prefixes);
    const { rows } = await this.throughIndex(
      `SELECT count(*)::bigint AS n FROM unnest(${values}::text[]) AS v(value)
        CROSS JOIN LATERAL (SELECT 1 FROM ${this.names.entries} ${where.where}) e`,
      where.params,
      { bitmaps: true },
    );
    return Number(rows[0].n);
  }

  private async page(trail: TrailName, resolved: ResolvedFilter, page: PageRequest): Promise<TrailEntry[]> {
    const where = conditionsOf(trail, resolved);
    if (resolved.ipBlocks !== null) {
      // The ip_addr index holds each match's time and id but is not in time order: the page's keys come from it
      // alone (all of a block's matches sorted, no row read), then only the page's rows are read.
      const keys = await this.sql(
        `SELECT ts, id FROM ${this.names.entries} ${where.where} ORDER BY ts DESC, id DESC LIMIT ${where.param(page.limit)} OFFSET ${where.param(page.offset)}`,
        where.params,
      );
      return this.entriesOf(keys.rows as MatchKey[]);
    }
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
  private async textMatches(trail: TrailName, resolved: ResolvedFilter, wanted: number): Promise<{ keys: MatchKey[]; complete: boolean }> {
    const rest = conditionsOf(trail, resolved, { withoutText: true });
    const hit = textCondition(rest, resolved.filter.q as string, resolved.textValues);
    const { rows } = await this.sql(
      `SELECT count(*)::int AS seen,
              (array_agg(ts ORDER BY ts DESC, id DESC) FILTER (WHERE hit))[1:${rest.param(wanted)}::int] AS times,
              (array_agg(id::text ORDER BY ts DESC, id DESC) FILTER (WHERE hit))[1:${rest.param(wanted)}::int] AS ids
         FROM (SELECT ts, id, ${hit} AS hit FROM ${this.names.entries} ${rest.where}
                ORDER BY ts DESC, id DESC LIMIT ${rest.param(this.textWindow)}) newest`,
      rest.params,
    );
    const times = (rows[0]?.times ?? []) as Date[];
    const ids = (rows[0]?.ids ?? []) as string[];
    if (ids.length >= wanted || Number(rows[0]?.seen ?? 0) < this.textWindow) {
      return { keys: ids.map((id, i) => ({ id, ts: times[i] as Date })), complete: ids.length < wanted };
    }
    const all = conditionsOf(trail, resolved);
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
  private async textQuery(trail: TrailName, resolved: ResolvedFilter, page: PageRequest): Promise<EntryPage> {
    const wanted = Math.max(this.textCountLimit + 1, page.offset + page.limit);
    const { keys, complete } = await this.textMatches(trail, resolved, wanted);
    const items = await this.entriesOf(keys.slice(page.offset, page.offset + page.limit));
    if (complete) return { items, total: keys.length, partial: false };
    return { items, total: Math.max(this.textCountLimit, page.offset + items.length), partial: true };
  }

  /** Matches counted up to `cap` (a larger count answers `cap`). */
  private async countUpTo(trail: TrailName, resolved: ResolvedFilter, cap: number): Promise<number> {
    const where = conditionsOf(trail, resolved);
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
  async count(trail: TrailName, filter: EntryFilter): Promise<EntryCount> {
    const resolved = await this.resolve(trail, filter);
    if (resolved.impossible) return { total: 0, partial: false };
    return this.countOf(trail, resolved);
  }

  private async countOf(trail: TrailName, resolved: ResolvedFilter, through?: Narrowest): Promise<EntryCount> {
    if (daysAnswer(resolved)) return { total: await this.countFromDays(trail, resolved, resolved.tests[0] ?? null), partial: false };
    if (hasText(resolved.filter)) return this.countText(trail, resolved);
    const narrowest = through ?? (await this.narrowest(trail, resolved));
    if (narrowest && narrowest.entries === 0) return { total: 0, partial: false };
    const cap = this.exactCountLimit;
    if (narrowest && this.isSparse(narrowest, cap + 1)) {
      const exact = narrowest.entries <= this.countScanRows;
      const n = (await this.sparseMatches(trail, resolved, exact ? narrowest.entries : cap + 1)).length;
      return exact || n <= cap ? { total: n, partial: false } : { total: cap, partial: true };
    }
    if (narrowest && narrowest.entries <= this.countScanRows) {
      return { total: await this.countThrough(trail, resolved, narrowest.column), partial: false };
    }
    const n = narrowest
      ? (await this.walk(trail, resolved, narrowest.column, cap + 1)).length
      : await this.countUpTo(trail, resolved, cap + 1);
    return n > cap ? { total: cap, partial: true } : { total: n, partial: false };
  }

  /** Free-text matches, up to textCountLimit. */
  private async countText(trail: TrailName, resolved: ResolvedFilter): Promise<EntryCount> {
    const { keys, complete } = await this.textMatches(trail, resolved, this.textCountLimit + 1);
    return complete ? { total: keys.length, partial: false } : { total: this.textCountLimit, partial: true };
  }

  private async countRows(trail: TrailName, resolved: ResolvedFilter, time: { from?: number; to?: number } | undefined): Promise<number> {
    const where = conditionsOf(trail, resolved, { time });
    const { rows } = await this.sql(`SELECT count(*)::bigint AS n FROM ${this.names.entries} ${where.where}`, where.params);
    return Number(rows[0].n);
  }

  /** The per-day counts' rows of a counted test (all entries: dim ''). */
  private countsWhere(trail: TrailName, counted: ColumnTest | null): Conditions {
    const where = new Conditions();
    where.clauses.push(`dim = ${where.param(counted?.column ?? "")}`);
    if (!counted) where.clauses.push("value = ''");
    else if (CASE_INSENSITIVE_FILTERS.has(counted.column))
      where.clauses.push(`lower(value COLLATE "C") = ANY(${where.param(counted.prefixes)}::text[])`);
    else where.clauses.push(`value = ANY(${where.param(counted.prefixes)}::text[])`);
    if (trail === "security") where.clauses.push("security");
    return where;
  }

  /**
   * A total from the per-day counts: the whole UTC days inside the time
   * range from the counts, the partial days at its edges counted on rows.
   */
  private async countFromDays(trail: TrailName, resolved: ResolvedFilter, counted: ColumnTest | null): Promise<number> {
    const { from, to } = resolved.filter;
    // Whole days: [firstDay, endDay).
    const firstDay = from === undefined ? undefined : utcDay(from) === from ? from : utcDay(from) + DAY_MS;
    const endDay = to === undefined ? undefined : utcDay(to + 1);
    if (firstDay !== undefined && endDay !== undefined && firstDay >= endDay) {
      return this.countRows(trail, resolved, undefined);
    }
    const where = this.countsWhere(trail, counted);
    if (firstDay !== undefined) where.clauses.push(`day >= ${where.param(isoDay(firstDay))}::date`);
    if (endDay !== undefined) where.clauses.push(`day < ${where.param(isoDay(endDay))}::date`);
    const edges: Array<Promise<number>> = [];
    if (from !== undefined && firstDay !== undefined && from < firstDay)
      edges.push(this.countRows(trail, resolved, { from, to: firstDay - 1 }));
    if (to !== undefined && endDay !== undefined && to >= endDay) edges.push(this.countRows(trail, resolved, { from: endDay, to }));
    const [days, ...edgeCounts] = await Promise.all([
      this.sql(
        `SELECT coalesce(sum(entries), 0)::bigint AS entries, coalesce(sum(failures), 0)::bigint AS failures FROM ${this.names.counts} ${where.where}`,
        where.params,
      ),
      ...edges,
    ]);
    const entries = Number(days.rows[0].entries);
    const failures = Number(days.rows[0].failures);
    const success = resolved.filter.success;
    const whole = success === undefined ? entries : success ? entries - failures : failures;
    return whole + edgeCounts.reduce((sum, n) => sum + n, 0);
  }

  /**
   * Matching entries per stretch of time, laid out by histogramLayout over the
   * filter's time range or the matching entries' first and last times. A
   * filter of time, result and trail alone is summed from the quarter-hour
   * slots (buckets of whole quarter hours, in any time zone), one counted
   * filter from the per-day counts (buckets of whole UTC days); others group
   * the matching rows by bucket.
   */
  async histogram(trail: TrailName, filter: EntryFilter, request: HistogramRequest): Promise<TimeHistogram> {
    const empty: TimeHistogram = { start: null, bucketMs: 0, counts: [], failures: [], total: 0, partial: false };
    const resolved = await this.resolve(trail, filter);
    if (resolved.impossible) return empty;
    let first = filter.from;
    let last = filter.to;
    const [oldest, newest] = await Promise.all([
      first === undefined ? this.edgeTime(trail, resolved, "ASC") : Promise.resolve(first),
      last === undefined ? this.edgeTime(trail, resolved, "DESC") : Promise.resolve(last),
    ]);
    first = oldest ?? undefined;
    last = newest ?? undefined;
    // No match (every row has a time), or an empty range.
    if (first === undefined || last === undefined || !(first <= last)) return empty;
    const layout = histogramLayout(first, last, request);
    const counts = new Array<number>(layout.buckets).fill(0);
    const failures = new Array<number>(layout.buckets).fill(0);
    let total = 0;
    const add = (rows: BucketRow[]) => {
      for (const row of rows) {
        // Every matching entry is within [first, last], so in a bucket: the total is exact.
        total += Number(row.entries);
        if (row.bucket < 0 || row.bucket >= layout.buckets) continue;
        counts[row.bucket]! += Number(row.entries);
        failures[row.bucket]! += Number(row.failures);
      }
    };
    const slotMs = SLOT_SECONDS * 1000;
    const onlyTime =
      resolved.tests.length === 0 &&
      resolved.ipBlocks === null &&
      resolved.scopeCompanies === undefined &&
      filter.id === undefined &&
      !hasText(filter);
    if (onlyTime && layout.bucketMs % slotMs === 0 && layout.start % slotMs === 0) {
      // Whole quarter hours from the slots; the part-quarters at the range's edges from the rows.
      const slotFrom = filter.from === undefined ? undefined : Math.ceil(filter.from / slotMs) * slotMs;
      const slotEnd = filter.to === undefined ? undefined : Math.floor((filter.to + 1) / slotMs) * slotMs;
      if (slotFrom === undefined || slotEnd === undefined || slotFrom < slotEnd) {
        const edges: Array<Promise<BucketRow[]>> = [];
        if (filter.from !== undefined && slotFrom !== undefined && filter.from < slotFrom)
          edges.push(this.bucketRows(trail, resolved, layout, { from: filter.from, to: slotFrom - 1 }));
        if (filter.to !== undefined && slotEnd !== undefined && filter.to >= slotEnd)
          edges.push(this.bucketRows(trail, resolved, layout, { from: slotEnd, to: filter.to }));
        const [slots, ...edgeRows] = await Promise.all([this.bucketSlots(trail, resolved, layout, slotFrom, slotEnd), ...edges]);
        add(slots);
        for (const rows of edgeRows) add(rows);
        return { start: layout.start, bucketMs: layout.bucketMs, counts, failures, total, partial: false };
      }
    }
    const counted = resolved.tests[0];
    if (counted && daysAnswer(resolved) && layout.bucketMs % DAY_MS === 0 && layout.start % DAY_MS === 0) {
      // One counted filter, buckets of whole UTC days: whole days from the per-day counts, the part-days at the range's
      // edges from the rows.
      const dayFrom = filter.from === undefined ? undefined : Math.ceil(filter.from / DAY_MS) * DAY_MS;
      const dayEnd = filter.to === undefined ? undefined : Math.floor((filter.to + 1) / DAY_MS) * DAY_MS;
      if (dayFrom === undefined || dayEnd === undefined || dayFrom < dayEnd) {
        const edges: Array<Promise<BucketRow[]>> = [];
        if (filter.from !== undefined && dayFrom !== undefined && filter.from < dayFrom)
          edges.push(this.bucketRows(trail, resolved, layout, { from: filter.from, to: dayFrom - 1 }));
        if (filter.to !== undefined && dayEnd !== undefined && filter.to >= dayEnd)
          edges.push(this.bucketRows(trail, resolved, layout, { from: dayEnd, to: filter.to }));
        const [days, ...edgeRows] = await Promise.all([this.bucketDays(trail, resolved, counted, layout, dayFrom, dayEnd), ...edges]);
        add(days);
        for (const rows of edgeRows) add(rows);
        return { start: layout.start, bucketMs: layout.bucketMs, counts, failures, total, partial: false };
      }
    }
    add(await this.bucketRows(trail, resolved, layout));
    return { start: layout.start, bucketMs: layout.bucketMs, counts, failures, total, partial: false };
  }

  /** Per-day counts of one counted test summed per histogram bucket, for UTC days in [from, end); success and source as the filter says. */
  private bucketDays(
    trail: TrailName,
    resolved: ResolvedFilter,
    counted: ColumnTest,
    layout: HistogramLayout,
    from: number | undefined,
    end: number | undefined,
  ): Promise<BucketRow[]> {
    const where = this.countsWhere(trail, counted);
    if (from !== undefined) where.clauses.push(`day >= ${where.param(isoDay(from))}::date`);
    if (end !== undefined) where.clauses.push(`day < ${where.param(isoDay(end))}::date`);
    // A date's epoch is its midnight, UTC.
    return this.bucketSums(this.names.counts, "day", where, resolved, layout);
  }

  /** Matching rows per histogram bucket (within `time` instead of the filter's range when given). */
  private async bucketRows(
    trail: TrailName,
    resolved: ResolvedFilter,
    layout: HistogramLayout,
    time?: { from?: number; to?: number },
  ): Promise<BucketRow[]> {
    const where = conditionsOf(trail, resolved, { time });
    const start = where.param(layout.start);
    const width = where.param(layout.bucketMs);
    const { rows } = await this.sql(
      `SELECT floor((extract(epoch FROM ts) * 1000 - ${start}::float8) / ${width}::float8)::int AS bucket,
              count(*)::bigint AS entries, count(*) FILTER (WHERE success IS FALSE)::bigint AS failures
         FROM ${this.names.entries} ${where.where} GROUP BY 1`,
      where.params,
    );
    return rows;
  }

  /** Slot sums per histogram bucket, for slots in [from, end); success and source as the filter says. */
  private bucketSlots(
    trail: TrailName,
    resolved: ResolvedFilter,
    layout: HistogramLayout,
    from: number | undefined,
    end: number | undefined,
  ): Promise<BucketRow[]> {
    const where = new Conditions();
    if (trail === "security") where.clauses.push("security");
    if (from !== undefined) where.clauses.push(`slot >= ${where.param(new Date(from))}`);
    if (end !== undefined) where.clauses.push(`slot < ${where.param(new Date(end))}`);
    return this.bucketSums(this.names.slots, "slot", where, resolved, layout);
  }

  /** Sums of a table of counts (per day or per slot) per histogram bucket: entries and failures as the filter's success says. */
  private async bucketSums(
    table: string,
    timeColumn: "day" | "slot",
    where: Conditions,
    resolved: ResolvedFilter,
    layout: HistogramLayout,
  ): Promise<BucketRow[]> {
    const success = resolved.filter.success;
    const entries = success === undefined ? "sum(entries)" : success ? "sum(entries - failures)" : "sum(failures)";
    const failures = success === true ? "0" : "sum(failures)";
    const start = where.param(layout.start);
    const width = where.param(layout.bucketMs);
    const { rows } = await this.sql(
      `SELECT floor((extract(epoch FROM ${timeColumn}) * 1000 - ${start}::float8) / ${width}::float8)::int AS bucket,
              ${entries}::bigint AS entries, ${failures}::bigint AS failures
         FROM ${table} ${where.where} GROUP BY 1 HAVING ${entries} > 0`,
      where.params,
    );
    return rows;
  }

  /** The time of the oldest (ASC) or newest (DESC) matching entry, epoch ms; null when none matches. */
  private async edgeTime(trail: TrailName, resolved: ResolvedFilter, order: "ASC" | "DESC"): Promise<number | null> {
    const where = conditionsOf(trail, resolved);
    const { rows } = await this.sql(
      `SELECT ts FROM ${this.names.entries} ${where.where} ORDER BY ts ${order}, id ${order} LIMIT 1`,
      where.params,
    );
    return rows[0] ? (rows[0].ts as Date).getTime() : null;
  }

  /**
   * Entries after the first `cursor` of the trail, oldest first: the trail's
   * entries are numbered in the order the store committed them (the
   * positions table), so a stream resumed from a cursor misses none and
   * repeats none, whichever service wrote them.
   */
  async since(trail: TrailName, cursor: number, limit: number): Promise<EntriesSince> {
    const { rows } = await this.sql(
      `SELECT p.position, ${SELECT_ENTRY_OF("e")} FROM ${this.names.positions} p
         JOIN ${this.names.entries} e ON e.id = p.id AND e.ts = p.ts
        WHERE p.trail = $1 AND p.position > $2 ORDER BY p.position LIMIT $3`,
      [trail, Math.max(0, Math.floor(cursor)), Math.max(0, Math.floor(limit))],
    );
    if (rows.length === 0) return { entries: [], cursor };
    return { entries: rows.map(rowDict), cursor: Number(rows[rows.length - 1].position) };
  }

  async stats(trail: TrailName, scope?: TrailScope): Promise<TrailStats> {
    if (scope?.companyIds !== undefined) return this.scopedStats(trail, scope.companyIds);
    const security = trail === "security" ? "AND security" : "";
    const [counts, latest, shippers, cursor] = await Promise.all([
      this.sql(
        `SELECT dim, value, sum(entries)::bigint AS entries, sum(failures)::bigint AS failures
           FROM ${this.names.counts} WHERE dim IN ('', 'module', 'level') ${security} GROUP BY dim, value`,
      ),
      this.sql(
        `SELECT "timestamp" FROM ${this.names.entries} ${trail === "security" ? "WHERE security" : ""} ORDER BY ts DESC, id DESC LIMIT 1`,
      ),
      this.sql(`SELECT coalesce(sum(skipped), 0)::bigint AS skipped FROM ${this.names.shippers}`).catch(() => ({ rows: [{ skipped: 0 }] })),
      this.sql(`SELECT coalesce(max(position), 0)::bigint AS cursor FROM ${this.names.positions} WHERE trail = $1`, [trail]),
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
    stats.cursor = Number(cursor.rows[0]?.cursor ?? 0);
    return stats;
  }

  /**
   * The stats of a scoped reader: counted from the entries of its companies
   * (the per-day counts are not kept per tenant), so that totals never tell
   * of other tenants' entries.
   */
  private async scopedStats(trail: TrailName, companies: readonly string[]): Promise<TrailStats> {
    const where = `WHERE company_id = ANY($1::text[]) ${trail === "security" ? "AND security" : ""}`;
    const [groups, latest, cursor] = await Promise.all([
      this.sql(
        `SELECT module, level, count(*)::bigint AS entries, count(*) FILTER (WHERE NOT success)::bigint AS failures
           FROM ${this.names.entries} ${where} GROUP BY module, level`,
        [companies],
      ),
      this.sql(`SELECT "timestamp" FROM ${this.names.entries} ${where} ORDER BY ts DESC, id DESC LIMIT 1`, [companies]),
      this.sql(`SELECT coalesce(max(position), 0)::bigint AS cursor FROM ${this.names.positions} WHERE trail = $1`, [trail]),
    ]);
    const stats: TrailStats = { total: 0, failures: 0, modules: {}, levels: {}, latest_timestamp: null, malformed: 0, evicted: 0 };
    for (const row of groups.rows as Array<{ module: string; level: string; entries: string; failures: string }>) {
      const entries = Number(row.entries);
      stats.total += entries;
      stats.failures += Number(row.failures);
      stats.modules[row.module] = (stats.modules[row.module] ?? 0) + entries;
      stats.levels[row.level] = (stats.levels[row.level] ?? 0) + entries;
    }
    stats.latest_timestamp = (latest.rows[0]?.timestamp as string | undefined) ?? null;
    stats.cursor = Number(cursor.rows[0]?.cursor ?? 0);
    return stats;
  }

  async entry(trail: TrailName, id: string, scope?: TrailScope): Promise<TrailEntry | null> {
    if (!UUID.test(id)) return null;
    const companies = scope?.companyIds;
    const { rows } = await this.sql(
      `SELECT ${SELECT_ENTRY} FROM ${this.names.entries} WHERE id = $1::uuid ${trail === "security" ? "AND security" : ""}
         ${companies !== undefined ? "AND company_id = ANY($2::text[])" : ""} ORDER BY ts DESC LIMIT 1`,
      companies !== undefined ? [id.toLowerCase(), companies] : [id.toLowerCase()],
    );
    return rows[0] ? rowDict(rows[0]) : null;
  }

  history(trail: TrailName, entity: EntityRef, page: PageRequest, scope?: TrailScope): Promise<EntryPage> {
    return this.query(trail, { entityType: [entity.type], entityId: [entity.id], scope }, page);
  }

  /** Every matching entry, newest first, a batch at a time by key (never OFFSET): the last batch costs what the first does. */
  async *export(trail: TrailName, filter: EntryFilter, options: StreamOptions = {}): AsyncGenerator<TrailEntry[]> {
    const resolved = await this.resolve(trail, filter);
    let after: { ts: Date; id: string } | null = null;
    while (!options.signal?.aborted) {
      const where = conditionsOf(trail, resolved);
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
    // Each with its trail cursors (its place in each trail it is in).
    const { rows } = await this.sql(
      `SELECT ${SELECT_ENTRY_OF("e")}, a.position AS audit_position, s.position AS security_position
         FROM ${this.names.entries} e
         JOIN ${this.names.positions} a ON a.trail = 'audit' AND a.id = e.id AND a.ts = e.ts
         LEFT JOIN ${this.names.positions} s ON s.trail = 'security' AND s.id = e.id AND s.ts = e.ts
        WHERE e.id = ANY($1::uuid[]) ORDER BY a.position`,
      [ids],
    );
    const batches: AppendedEntries[] = [];
    for (const row of rows) {
      const entry = rowDict(row);
      batches.push({ source: "audit", entries: [entry], cursor: Number(row.audit_position) });
      if (row.security_position !== null) batches.push({ source: "security", entries: [entry], cursor: Number(row.security_position) });
    }
    for (const subscriber of this.subscribers) for (const batch of batches) subscriber.push(batch);
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
