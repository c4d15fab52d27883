/**
 * The store's schema in PostgreSQL: the entries table (a column per trail
 * field, partitioned by month of the entry's time), its indexes (one per
 * viewer filter, trigram for free text), the per-day counts that answer
 * totals and stats without scanning, the append-only triggers, and the
 * functions a writing role may run (partitions, shipper status) without any
 * right to change what is stored.
 */
import type pg from "pg";
import { CASE_INSENSITIVE_FILTERS, COPY_COLUMNS, columnDefinitions, quoteColumn } from "./columns.js";

export const SCHEMA_VERSION = 1;
export const DEFAULT_SCHEMA = "auditx";

/** Filter columns indexed as (value, ts, id), and kept in the per-day counts. */
export const COUNTED_COLUMNS = [
  "module",
  "level",
  "user",
  "action",
  "branch_id",
  "company_id",
  "entity_type",
  "service",
  "hostname",
] as const;
/** Filter columns of mostly unique values: indexed as (value, ts, id), counted by scanning their few rows. */
export const LOOKUP_COLUMNS = ["entity_id", "reference_no", "request_id"] as const;

/**
 * Indexed values are cut to this many characters (btree entries are limited
 * to about 2.7 kB, and a field may hold 32 KiB): a query compares the cut
 * value through the index and the whole value on the row.
 */
export const INDEXED_PREFIX = 200;

/** The width of the store's histogram slots (a quarter hour). */
export const SLOT_SECONDS = 900;

/** The SQL expression a filter on `column` compares through its index. */
export function indexedExpression(column: string, alias = ""): string {
  const ref = `${alias}${quoteColumn(column)}`;
  return CASE_INSENSITIVE_FILTERS.has(column) ? `lower(left(${ref}, ${INDEXED_PREFIX}) COLLATE "C")` : `left(${ref}, ${INDEXED_PREFIX})`;
}

/** The names of the store's objects in one schema, quoted for SQL. */
export class StoreNames {
  readonly schema: string;
  readonly entries: string;
  readonly counts: string;
  readonly meta: string;
  readonly shippers: string;
  readonly retentionLog: string;
  /** Each trail's entries in the order they were stored: the trail cursors of the viewer's streams. */
  readonly positions: string;
  /** Entries and failures per quarter hour: the time histogram of a whole trail without reading its rows. */
  readonly slots: string;
  /** The LISTEN/NOTIFY channel shippers announce new entries on. */
  readonly channel: string;

  constructor(readonly schemaName: string = DEFAULT_SCHEMA) {
    if (!/^[a-z_][a-z0-9_]{0,40}$/.test(schemaName)) {
      throw new TypeError(`schema: expected a lowercase SQL name (letters, digits, _), got ${JSON.stringify(schemaName)}`);
    }
    this.schema = `"${schemaName}"`;
    this.entries = `${this.schema}.entries`;
    this.counts = `${this.schema}.counts`;
    this.meta = `${this.schema}.meta`;
    this.shippers = `${this.schema}.shippers`;
    this.retentionLog = `${this.schema}.retention_log`;
    this.positions = `${this.schema}.positions`;
    this.slots = `${this.schema}.slots`;
    this.channel = `${schemaName}_entries`;
  }

  /** A function or table of the schema, quoted. */
  of(name: string): string {
    return `${this.schema}.${name}`;
  }
}

/** The statements that create the store in an empty schema (idempotent: every object is created only when missing). */
export function schemaStatements(names: StoreNames, trgmSchema: string): string[] {
  const s = names.schema;
  const { entries, counts, meta, shippers, retentionLog, positions, slots } = names;
  const trgm = `"${trgmSchema}".gin_trgm_ops`;
  const indexes = [
    `CREATE INDEX IF NOT EXISTS entries_time ON ${entries} (ts, id)`,
    `CREATE INDEX IF NOT EXISTS entries_security_time ON ${entries} (ts, id) WHERE security`,
    `CREATE INDEX IF NOT EXISTS entries_failure_time ON ${entries} (ts, id) WHERE NOT success`,
    // One person's failures (refused sign-ins, rejected postings), with or without other filters: a few rows of this
    // index instead of the bitmap of every failure. Only failed entries are in it, so shipping hardly pays for it.
    `CREATE INDEX IF NOT EXISTS entries_user_failure_time ON ${entries} ((${indexedExpression("user")}), ts, id) WHERE NOT success`,
    ...[...COUNTED_COLUMNS, ...LOOKUP_COLUMNS].map(
      (column) => `CREATE INDEX IF NOT EXISTS entries_${column} ON ${entries} ((${indexedExpression(column)}), ts, id)`,
    ),
    `CREATE INDEX IF NOT EXISTS entries_search ON ${entries} USING gin (search ${trgm})`,
    // IP and CIDR filters: `ip_addr <<= block` is a range of this index.
    `CREATE INDEX IF NOT EXISTS entries_ip_addr ON ${entries} (ip_addr, ts, id) WHERE ip_addr IS NOT NULL`,
  ];
  const countedValues = COUNTED_COLUMNS.map((column) => `('${column}', left(n.${quoteColumn(column)}, ${INDEXED_PREFIX}))`).join(", ");
  return [
    `CREATE SCHEMA IF NOT EXISTS ${s}`,
    `CREATE TABLE IF NOT EXISTS ${meta} (key text PRIMARY KEY, value text NOT NULL)`,
    `INSERT INTO ${meta} (key, value) VALUES ('store_id', gen_random_uuid()::text), ('created_at', now()::text) ON CONFLICT (key) DO NOTHING`,
    `CREATE TABLE IF NOT EXISTS ${entries} (
       ${columnDefinitions().join(",\n       ")},
       PRIMARY KEY (id, ts)
     ) PARTITION BY RANGE (ts)`,
    `CREATE TABLE IF NOT EXISTS ${names.of("entries_default")} PARTITION OF ${entries} DEFAULT`,
    ...indexes,
    // Totals and stats per UTC day, kept by a statement trigger from the rows each INSERT or COPY added.
    `CREATE TABLE IF NOT EXISTS ${counts} (
       dim text NOT NULL,
       value text NOT NULL,
       day date NOT NULL,
       security boolean NOT NULL,
       entries bigint NOT NULL,
       failures bigint NOT NULL,
       latest timestamptz NOT NULL,
       PRIMARY KEY (dim, value, day, security)
     )`,
    `CREATE INDEX IF NOT EXISTS counts_folded ON ${counts} (dim, (lower(value COLLATE "C")))`,
    // Trail cursors: every stored entry numbered 1, 2, 3… in the audit trail, and the security ones in the
    // security trail, in the order their transactions commit (numbers are taken under a lock held to COMMIT).
    `CREATE TABLE IF NOT EXISTS ${positions} (
       trail text NOT NULL,
       position bigint NOT NULL,
       id uuid NOT NULL,
       ts timestamptz NOT NULL,
       PRIMARY KEY (trail, position)
     )`,
    `CREATE INDEX IF NOT EXISTS positions_entry ON ${positions} (id)`,
    // Quarter hours: every time zone's offset is a multiple of 15 minutes, so any histogram bucket of whole
    // quarter hours, in any zone, is a sum of these.
    `CREATE TABLE IF NOT EXISTS ${slots} (
       slot timestamptz NOT NULL,
       security boolean NOT NULL,
       entries bigint NOT NULL,
       failures bigint NOT NULL,
       PRIMARY KEY (slot, security)
     )`,
    `CREATE OR REPLACE FUNCTION ${names.of("count_entries")}() RETURNS trigger
       LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
     BEGIN
       PERFORM pg_advisory_xact_lock(hashtext('${names.schemaName}.positions'));
       INSERT INTO ${positions} (trail, position, id, ts)
       SELECT 'audit', coalesce((SELECT max(position) FROM ${positions} WHERE trail = 'audit'), 0)
                       + row_number() OVER (ORDER BY n.ts, n.id), n.id, n.ts
         FROM inserted n;
       INSERT INTO ${positions} (trail, position, id, ts)
       SELECT 'security', coalesce((SELECT max(position) FROM ${positions} WHERE trail = 'security'), 0)
                          + row_number() OVER (ORDER BY n.ts, n.id), n.id, n.ts
         FROM inserted n WHERE n.security;
       INSERT INTO ${slots} AS s (slot, security, entries, failures)
       SELECT to_timestamp(floor(extract(epoch FROM n.ts) / ${SLOT_SECONDS}) * ${SLOT_SECONDS}), n.security,
              count(*), count(*) FILTER (WHERE NOT n.success)
         FROM inserted n
        GROUP BY 1, 2
        ORDER BY 1, 2
       ON CONFLICT (slot, security) DO UPDATE
          SET entries = s.entries + EXCLUDED.entries, failures = s.failures + EXCLUDED.failures;
       INSERT INTO ${counts} AS c (dim, value, day, security, entries, failures, latest)
       SELECT d.dim, d.value, (n.ts AT TIME ZONE 'UTC')::date, n.security,
              count(*), count(*) FILTER (WHERE NOT n.success), max(n.ts)
         FROM inserted n
        CROSS JOIN LATERAL (VALUES ('', ''), ${countedValues}) AS d(dim, value)
        WHERE d.value IS NOT NULL
        GROUP BY 1, 2, 3, 4
        -- One order for every writer: concurrent shippers lock the same rows in the same order, never in a cycle.
        ORDER BY 1, 2, 3, 4
       ON CONFLICT (dim, value, day, security) DO UPDATE
          SET entries = c.entries + EXCLUDED.entries,
              failures = c.failures + EXCLUDED.failures,
              latest = greatest(c.latest, EXCLUDED.latest);
       RETURN NULL;
     END $fn$`,
    `DROP TRIGGER IF EXISTS entries_count ON ${entries}`,
    `CREATE TRIGGER entries_count AFTER INSERT ON ${entries} REFERENCING NEW TABLE AS inserted
       FOR EACH STATEMENT EXECUTE FUNCTION ${names.of("count_entries")}()`,
    // Append-only, for every role: the table's privileges keep a writer from UPDATE and DELETE, and these triggers refuse them to anyone.
    `CREATE OR REPLACE FUNCTION ${names.of("refuse_change")}() RETURNS trigger LANGUAGE plpgsql AS $fn$
     BEGIN
       RAISE EXCEPTION 'the audit trail is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
         USING ERRCODE = 'insufficient_privilege', HINT = 'entries leave the store only when the retention policy drops a month';
     END $fn$`,
    `DROP TRIGGER IF EXISTS entries_append_only ON ${entries}`,
    `CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON ${entries} FOR EACH ROW EXECUTE FUNCTION ${names.of("refuse_change")}()`,
    `DROP TRIGGER IF EXISTS entries_no_truncate ON ${entries}`,
    `CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON ${entries} FOR EACH STATEMENT EXECUTE FUNCTION ${names.of("refuse_change")}()`,
    `DROP TRIGGER IF EXISTS entries_no_truncate ON ${names.of("entries_default")}`,
    `CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON ${names.of("entries_default")} FOR EACH STATEMENT EXECUTE FUNCTION ${names.of("refuse_change")}()`,
    // Monthly partitions, made on demand (SECURITY DEFINER: a writing role may add a month, never drop one).
    `CREATE OR REPLACE FUNCTION ${names.of("ensure_partitions")}(times timestamptz[]) RETURNS integer
       LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET TimeZone = 'UTC' AS $fn$
     DECLARE
       month timestamptz;
       upper_bound timestamptz;
       name text;
       made integer := 0;
     BEGIN
       FOR month IN SELECT DISTINCT date_trunc('month', t) FROM unnest(times) AS t WHERE t IS NOT NULL ORDER BY 1 LOOP
         -- Times far from now (a clock gone wrong, an unreadable timestamp) stay in the default partition.
         CONTINUE WHEN month < timestamptz '1990-01-01' OR month > now() + interval '13 months';
         name := 'entries_' || to_char(month, 'YYYY_MM');
         CONTINUE WHEN to_regclass(format('%I.%I', '${names.schemaName}', name)) IS NOT NULL;
         PERFORM pg_advisory_xact_lock(hashtext('${names.schemaName}.partitions'));
         CONTINUE WHEN to_regclass(format('%I.%I', '${names.schemaName}', name)) IS NOT NULL;
         upper_bound := month + interval '1 month';
         -- A month the default partition already holds rows of stays there (moving them would be an UPDATE of the trail).
         CONTINUE WHEN EXISTS (SELECT 1 FROM ${names.of("entries_default")} WHERE ts >= month AND ts < upper_bound);
         EXECUTE format('CREATE TABLE %I.%I PARTITION OF ${entries} FOR VALUES FROM (%L) TO (%L)', '${names.schemaName}', name, month, upper_bound);
         EXECUTE format('CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON %I.%I FOR EACH STATEMENT EXECUTE FUNCTION ${names.of("refuse_change")}()', '${names.schemaName}', name);
         made := made + 1;
       END LOOP;
       RETURN made;
     END $fn$`,
    // Free text's index takes new rows into a pending list (cheap), merged into the index later (the costly part).
    // A shipper's connections that store rows leave that merge to this function, run on a connection of its own
    // while the next batch is stored (SECURITY DEFINER: only the index's owner may clean it).
    `CREATE OR REPLACE FUNCTION ${names.of("clean_search_pending")}(times timestamptz[]) RETURNS bigint
       LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET TimeZone = 'UTC' AS $fn$
     DECLARE
       search_index regclass;
       cleaned bigint := 0;
     BEGIN
       FOR search_index IN
         SELECT i.indexrelid::regclass
           FROM pg_index i
           JOIN pg_inherits h ON h.inhrelid = i.indexrelid AND h.inhparent = to_regclass('${names.of("entries_search")}')
          WHERE i.indrelid IN (
                  SELECT to_regclass(format('%I.%I', '${names.schemaName}', 'entries_' || to_char(t, 'YYYY_MM'))) FROM unnest(times) AS t
                  UNION SELECT to_regclass('${names.of("entries_default")}'))
          ORDER BY 1
       LOOP
         cleaned := cleaned + gin_clean_pending_list(search_index);
       END LOOP;
       RETURN cleaned;
     END $fn$`,
    // What each shipper last reported: the viewer's malformed counts, and lag an operator can query.
    `CREATE TABLE IF NOT EXISTS ${shippers} (
       shipper text PRIMARY KEY,
       host text NOT NULL,
       log_dir text NOT NULL,
       shipped bigint NOT NULL,
       skipped bigint NOT NULL,
       lag_records bigint NOT NULL,
       lag_seconds double precision NOT NULL,
       backlog_bytes bigint NOT NULL,
       updated_at timestamptz NOT NULL
     )`,
    `CREATE OR REPLACE FUNCTION ${names.of("report_shipper")}(
       shipper text, host text, log_dir text, shipped bigint, skipped bigint,
       lag_records bigint, lag_seconds double precision, backlog_bytes bigint) RETURNS void
       LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
       INSERT INTO ${shippers} AS s VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())
       ON CONFLICT (shipper) DO UPDATE SET host = EXCLUDED.host, log_dir = EXCLUDED.log_dir,
         shipped = EXCLUDED.shipped, skipped = EXCLUDED.skipped, lag_records = EXCLUDED.lag_records,
         lag_seconds = EXCLUDED.lag_seconds, backlog_bytes = EXCLUDED.backlog_bytes, updated_at = now()
     $fn$`,
    `CREATE TABLE IF NOT EXISTS ${retentionLog} (
       seq bigserial PRIMARY KEY,
       partition text NOT NULL,
       range_from timestamptz NOT NULL,
       range_to timestamptz NOT NULL,
       entries bigint NOT NULL,
       policy_months integer NOT NULL,
       entry_id uuid NOT NULL,
       dropped_at timestamptz NOT NULL DEFAULT now(),
       dropped_by text NOT NULL DEFAULT session_user
     )`,
    `REVOKE ALL ON FUNCTION ${names.of("ensure_partitions")}(timestamptz[]) FROM PUBLIC`,
    `REVOKE ALL ON FUNCTION ${names.of("report_shipper")}(text, text, text, bigint, bigint, bigint, double precision, bigint) FROM PUBLIC`,
    `REVOKE ALL ON FUNCTION ${names.of("count_entries")}() FROM PUBLIC`,
    `REVOKE ALL ON FUNCTION ${names.of("clean_search_pending")}(timestamptz[]) FROM PUBLIC`,
    `INSERT INTO ${meta} (key, value) VALUES ('schema_version', '${SCHEMA_VERSION}')
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
  ];
}

/** Grants for a role that ships entries: INSERT and the store's functions, nothing that reads or changes the trail. */
export function writerGrants(names: StoreNames, role: string): string[] {
  return [
    `GRANT USAGE ON SCHEMA ${names.schema} TO ${role}`,
    `GRANT INSERT ON ${names.entries} TO ${role}`,
    `GRANT SELECT ON ${names.meta} TO ${role}`,
    `GRANT EXECUTE ON FUNCTION ${names.of("ensure_partitions")}(timestamptz[]) TO ${role}`,
    `GRANT EXECUTE ON FUNCTION ${names.of("report_shipper")}(text, text, text, bigint, bigint, bigint, double precision, bigint) TO ${role}`,
    `GRANT EXECUTE ON FUNCTION ${names.of("clean_search_pending")}(timestamptz[]) TO ${role}`,
  ];
}

/** Grants for a role that reads the store (the viewer). */
export function readerGrants(names: StoreNames, role: string): string[] {
  return [
    `GRANT USAGE ON SCHEMA ${names.schema} TO ${role}`,
    `GRANT SELECT ON ${names.entries}, ${names.counts}, ${names.meta}, ${names.shippers}, ${names.retentionLog}, ${names.positions}, ${names.slots} TO ${role}`,
  ];
}

export interface InitStoreOptions {
  schema?: string;
  /** Roles to grant the writing privileges (INSERT only) and the reading ones. */
  writers?: string[];
  readers?: string[];
  /** Months kept by the retention policy (`auditx pg prune`); unset: nothing is ever dropped. */
  retentionMonths?: number;
}

export interface StoreInfo {
  storeId: string;
  schemaVersion: number;
  retentionMonths: number | null;
}

/** A lock every init takes, so that two first-use inits in two processes do not race. */
const INIT_LOCK = "SELECT pg_advisory_xact_lock(hashtext('auditx.init.' || $1))";

/**
 * Creates (or completes) the store in `client`'s database, in one
 * transaction: pg_trgm, the schema, this month's and the next two months'
 * partitions, grants. Needs a role that may create in the database (the
 * store's owner); shipping roles should be others, given `writers`.
 */
export async function initStore(client: pg.Client, options: InitStoreOptions = {}): Promise<StoreInfo> {
  const names = new StoreNames(options.schema);
  await client.query("BEGIN");
  try {
    await client.query(INIT_LOCK, [names.schemaName]);
    await client.query("CREATE EXTENSION IF NOT EXISTS pg_trgm");
    const { rows } = await client.query(
      "SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'",
    );
    for (const statement of schemaStatements(names, rows[0].schema)) await client.query(statement);
    await client.query(`SELECT ${names.of("ensure_partitions")}(ARRAY[now(), now() + interval '1 month', now() + interval '2 months'])`);
    if (options.retentionMonths !== undefined) {
      if (!Number.isInteger(options.retentionMonths) || options.retentionMonths < 1) {
        throw new TypeError(`retentionMonths: expected a whole number of months >= 1, got ${options.retentionMonths}`);
      }
      await client.query(
        `INSERT INTO ${names.meta} (key, value) VALUES ('retention_months', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
        [String(options.retentionMonths)],
      );
    }
    for (const role of options.writers ?? [])
      for (const grant of writerGrants(names, client.escapeIdentifier(role))) await client.query(grant);
    for (const role of options.readers ?? [])
      for (const grant of readerGrants(names, client.escapeIdentifier(role))) await client.query(grant);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
  const info = await readStoreInfo(client, names);
  if (!info) throw new Error(`the store in schema ${names.schemaName} was created but cannot be read back`);
  return info;
}

/** The store's identity and version, or null when the schema has no store (42P01: no meta table). */
export async function readStoreInfo(client: pg.Client, names: StoreNames): Promise<StoreInfo | null> {
  try {
    const { rows } = await client.query(`SELECT key, value FROM ${names.meta}`);
    const values = new Map(rows.map((row: { key: string; value: string }) => [row.key, row.value]));
    const storeId = values.get("store_id");
    if (!storeId || !values.has("schema_version")) return null;
    const retention = values.get("retention_months");
    return { storeId, schemaVersion: Number(values.get("schema_version")), retentionMonths: retention ? Number(retention) : null };
  } catch (error) {
    if ((error as { code?: string }).code === "42P01" || (error as { code?: string }).code === "3F000") return null;
    throw error;
  }
}

/** The COPY statement of the shipper's rows into `table`. */
export function copyStatement(table: string): string {
  return `COPY ${table} (${COPY_COLUMNS.map(quoteColumn).join(", ")}) FROM STDIN`;
}
