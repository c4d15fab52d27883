// Fills a store with N entries for the viewer benchmark, inside PostgreSQL:
// INSERT ... SELECT from generate_series (nothing crosses the wire), the
// indexes built once after the load (a sorted build is far faster than N
// inserts into each), then the per-day counts and VACUUM ANALYZE. The values
// follow the viewer benchmark's trail (bench/support/viewer-trail.mjs): 10
// modules, 16 actions, 200 users, 12 branches, 3 companies, 8 parties; here
// also 6 services on 12 hosts, over one year.
import pg from "pg";
import { initStore, StoreNames, schemaStatements } from "../../dist/store/schema.js";
import { ACTIONS, BRANCHES, MODULES, PARTIES, ROLES } from "./viewer-trail.mjs";

export const DATA_START = Date.UTC(2025, 11, 1);
export const DATA_SPAN_MS = 365 * 24 * 3600 * 1000;
export const SERVICES = ["sales-api", "purchase-api", "inventory-api", "accounting-api", "crm-api", "hr-api"];

const array = (values) => `ARRAY[${values.map((v) => `'${v}'`).join(",")}]`;
const ENTITIES = [
  "sales_invoice",
  "purchase_order",
  "stock_item",
  "journal_entry",
  "service_ticket",
  "customer",
  "employee",
  "report",
  "setting",
  "session",
];

/** The INSERT of entries [from, to) of n. */
function insertChunk(from, to, n) {
  return `
INSERT INTO auditx.entries ("timestamp", level, module, action, description, "user", user_role, company_id, branch_id,
  entity_type, entity_id, reference_no, amount, currency, old_values, new_values, metadata, request_id, session_id, ip,
  hostname, method, endpoint, status, success, service, id, ts, search, id_derived, ip_addr)
SELECT ts_text, level, module, action, description, usr, role, company, branch, entity_type, entity_id, ref, amount, 'MMK',
  old_values, new_values, metadata, request_id, session_id, ip, hostname, method, endpoint, status, success, service, id, ts,
  lower(concat_ws(E'\\x01', level, module, action, description, usr, role, company, branch, entity_type, entity_id, ref,
    amount::text, 'MMK', old_values->>'status', (old_values->>'total'), old_values->>'party', new_values->>'status',
    (new_values->>'total'), new_values->>'party', metadata->>'channel', (metadata->>'items'), request_id, session_id, ip,
    hostname, method, endpoint, status::text, success::text, service)),
  false, ('::ffff:' || ip)::inet
FROM (
  SELECT *,
    to_char((ts AT TIME ZONE 'UTC') + interval '390 minutes', 'YYYY-MM-DD"T"HH24:MI:SS.MS') || '+06:30' AS ts_text,
    upper(left(module, 2)) || '-2026-' || lpad(i::text, 8, '0') AS ref,
    CASE WHEN level IN ('ERROR', 'CRITICAL') THEN false ELSE rs > 0.03 END AS success
  FROM (
    SELECT i, ts,
      (${array(MODULES)})[m + 1] AS module,
      (${array(ACTIONS)})[a + 1] AS action,
      (${array(ENTITIES)})[m + 1] AS entity_type,
      CASE WHEN rl < 0.02 THEN 'SECURITY' WHEN rl < 0.025 THEN 'CRITICAL' WHEN rl < 0.06 THEN 'ERROR'
           WHEN rl < 0.12 THEN 'WARNING' WHEN rl < 0.5 THEN 'INFO' ELSE 'AUDIT' END AS level,
      rs,
      lower((${array(ACTIONS)})[a + 1]) || ' ' || upper(left((${array(MODULES)})[m + 1], 2)) || '-2026-' || lpad(i::text, 8, '0')
        || ' ' || (${array(PARTIES)})[p + 1] AS description,
      'user' || lpad(u::text, 3, '0') AS usr,
      (${array(ROLES)})[1 + (i % 6)] AS role,
      'CO-00' || (1 + c) AS company,
      (${array(BRANCHES)})[b + 1] AS branch,
      left((${array(MODULES)})[m + 1], 3) || '-' || lpad(e::text, 6, '0') AS entity_id,
      amount,
      CASE WHEN a = 2 THEN jsonb_build_object('status', 'draft', 'total', amount - 1000, 'party', (${array(PARTIES)})[p + 1]) END AS old_values,
      CASE WHEN a = 2 THEN jsonb_build_object('status', 'posted', 'total', amount, 'party', (${array(PARTIES)})[p + 1]) END AS new_values,
      CASE WHEN rm < 0.3 THEN jsonb_build_object('channel', CASE WHEN rm < 0.15 THEN 'pos' ELSE 'web' END, 'items', 1 + (i % 20)) END AS metadata,
      lpad(to_hex(i), 8, '0') || '-4b1d-4c2a-9e3f-' || lpad(to_hex((rq * 1e12)::bigint), 12, '0') AS request_id,
      'sess-' || lpad(((rq * 5000)::int)::text, 5, '0') AS session_id,
      '10.' || (i % 255) || '.' || ((i / 255) % 255) || '.' || ((i / 65025) % 255) AS ip,
      (${array(SERVICES)})[s + 1] AS service,
      'erp-app-' || lpad((1 + s * 2 + (i % 2))::text, 2, '0') AS hostname,
      CASE WHEN a IN (1, 14) THEN 'GET' ELSE 'POST' END AS method,
      '/api/' || (${array(MODULES)})[m + 1] AS endpoint,
      CASE WHEN rl >= 0.025 AND rl < 0.06 THEN 500 WHEN rs <= 0.03 THEN 403 ELSE 200 END AS status,
      (lpad(to_hex((extract(epoch FROM ts) * 1000)::bigint), 12, '0') || '7' || lpad(to_hex((ri * 4095)::int), 3, '0')
        || to_hex(8 + (i % 4)) || lpad(to_hex((ri * 1152921504606846975)::bigint), 15, '0'))::uuid AS id
    FROM (
      SELECT i,
        date_trunc('milliseconds', timestamptz '${new Date(DATA_START).toISOString()}' + floor(i::float8 / ${n} * ${DATA_SPAN_MS}) * interval '1 millisecond') AS ts,
        floor(random() * 10)::int AS m, floor(random() * 16)::int AS a, random() AS rl, random() AS rs,
        floor(random() * 8)::int AS p, floor(random() * 200)::int AS u, floor(random() * 3)::int AS c,
        floor(random() * 12)::int AS b, floor(random() * 100000)::int AS e, round(random() * 5000000)::bigint AS amount,
        random() AS rm, random() AS rq, random() AS ri, floor(random() * 6)::int AS s
      FROM generate_series(${from}, ${to - 1}) AS i
    ) raw
  ) shaped
) rows`;
}

/**
 * What a kept store's stamp must say to be reused: change it whenever the
 * generated data or the store's schema changes, so an old store is loaded again.
 */
export const BENCH_DATA_FORMAT = "auditx-bench-data-2";

async function connect(url) {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => undefined);
  await client.connect();
  return client;
}

/** Runs `jobs` (async functions of a client) on `clients`, each client taking the next job when its last one ends. */
async function runOn(clients, jobs) {
  let next = 0;
  await Promise.all(
    clients.map(async (client) => {
      while (next < jobs.length) await jobs[next++](client);
    }),
  );
}

const secondsSince = (t) => ((performance.now() - t) / 1000).toFixed(1);

/**
 * Loads n entries into an empty store at `url`'s database, on `connections`
 * connections at once (each month's partition is its own unit of work: the
 * rows, then each index, are made on whichever connection is free); `log`
 * hears of each step and its time. The indexes are built on each partition
 * and then attached by the store's own init (the same definitions a shipped
 * store has). Returns the time of each step, in seconds.
 */
export async function loadBenchStore(url, n, log, { connections = 2 } = {}) {
  const steps = {};
  const clients = [];
  for (let c = 0; c < Math.max(1, connections); c++) clients.push(await connect(url));
  const [client] = clients;
  try {
    await initStore(client);
    const months = [];
    for (let t = DATA_START; t <= DATA_START + DATA_SPAN_MS; t += 28 * 24 * 3600 * 1000) months.push(new Date(t).toISOString());
    await client.query("SELECT auditx.ensure_partitions($1::timestamptz[])", [months]);
    const { rows: indexes } = await client.query(
      "SELECT indexname FROM pg_indexes WHERE schemaname = 'auditx' AND tablename = 'entries' AND indexname <> 'entries_pkey'",
    );
    for (const { indexname } of indexes) await client.query(`DROP INDEX auditx.${indexname}`);
    await client.query("ALTER TABLE auditx.entries DROP CONSTRAINT entries_pkey");
    await client.query("ALTER TABLE auditx.entries DISABLE TRIGGER entries_count");
    // Partitions in time order, each with its range (the default one last, empty).
    const { rows: partitions } = await client.query(`
      SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'auditx.entries'::regclass
       ORDER BY c.relname = 'entries_default', c.relname`);
    for (const each of clients) {
      await each.query("SET synchronous_commit = off");
      await each.query("SET maintenance_work_mem = '1GB'");
      await each.query("SET max_parallel_maintenance_workers = 0");
      await each.query("SET work_mem = '256MB'");
    }

    // 1. The rows: chunks of 1M, each with its own seed, so the data does not depend on which connection loads which chunk.
    let t = performance.now();
    const chunk = 1_000_000;
    const chunks = [];
    for (let from = 0, k = 0; from < n; from += chunk, k++) {
      const to = Math.min(n, from + chunk);
      chunks.push(async (each) => {
        const started = performance.now();
        await each.query(`SELECT setseed(${((k * 7919) % 10_000) / 10_000 - 0.5})`);
        await each.query(insertChunk(from, to, n));
        log(`  rows ${from.toLocaleString("en")}–${to.toLocaleString("en")} in ${secondsSince(started)} s`);
      });
    }
    await runOn(clients, chunks);
    steps.rows = secondsSince(t);
    log(`  rows loaded in ${steps.rows} s`);

    // 2. VACUUM before any index: it sets the visibility map (index-only scans need it) without walking any index.
    t = performance.now();
    await runOn(
      clients,
      partitions.map(
        ({ name }) =>
          (each) =>
            each.query(`VACUUM (FREEZE) auditx.${name}`),
      ),
    );
    steps.vacuum = secondsSince(t);
    log(`  VACUUM in ${steps.vacuum} s`);

    // 3. Each partition's primary key and indexes, then the parent's (which attach them: nothing is built twice).
    const names = new StoreNames();
    const definitions = schemaStatements(names, "public")
      .filter((sql) => sql.startsWith("CREATE INDEX IF NOT EXISTS entries_"))
      .map((sql) => {
        const [, index] = /^CREATE INDEX IF NOT EXISTS (\w+)/.exec(sql);
        return { index, sql };
      });
    const { rows: trgm } = await client.query(
      "SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'",
    );
    const perIndex = {};
    const timed = (label, sql) => async (each) => {
      const started = performance.now();
      await each.query(sql);
      perIndex[label] = (perIndex[label] ?? 0) + (performance.now() - started) / 1000;
    };
    t = performance.now();
    await runOn(
      clients,
      partitions.map(({ name }) => timed("primary key", `ALTER TABLE auditx.${name} ADD PRIMARY KEY (id, ts)`)),
    );
    // The biggest builds first (the trigram index), so both connections end together.
    const indexJobs = [];
    for (const { index, sql } of [...definitions].sort((a, b) => (b.index === "entries_search") - (a.index === "entries_search")))
      for (const { name } of partitions)
        indexJobs.push(
          timed(
            index,
            sql
              .replace(
                `IF NOT EXISTS ${index} ON ${names.entries}`,
                `IF NOT EXISTS ${name}_${index.slice("entries_".length)} ON auditx.${name}`,
              )
              .replace('"public".gin_trgm_ops', `"${trgm[0].schema}".gin_trgm_ops`),
          ),
        );
    await runOn(clients, indexJobs);
    let attach = performance.now();
    await client.query("ALTER TABLE auditx.entries ADD PRIMARY KEY (id, ts)");
    // The store's own definitions: init attaches each partition's index, and turns the count trigger on again.
    await initStore(client);
    attach = (performance.now() - attach) / 1000;
    steps.indexes = secondsSince(t);
    log(
      `  primary key and indexes in ${steps.indexes} s (summed over partitions: ${Object.entries(perIndex)
        .map(([label, s]) => `${label} ${s.toFixed(1)}`)
        .join(", ")}; attached in ${attach.toFixed(1)} s)`,
    );
    steps.perIndex = Object.fromEntries(Object.entries(perIndex).map(([label, s]) => [label, s.toFixed(1)]));

    // 4. What the trigger keeps for shipped rows, per partition (a UTC day and a quarter hour never cross a month).
    t = performance.now();
    await runOn(
      clients,
      partitions.flatMap(({ name }) => [
        (each) =>
          each.query(`
            INSERT INTO auditx.counts (dim, value, day, security, entries, failures, latest)
            SELECT d.dim, d.value, (n.ts AT TIME ZONE 'UTC')::date, n.security, count(*), count(*) FILTER (WHERE NOT n.success), max(n.ts)
              FROM auditx.${name} n
             CROSS JOIN LATERAL (VALUES ('', ''), ('module', left(n.module, 200)), ('level', left(n.level, 200)), ('user', left(n."user", 200)),
               ('action', left(n.action, 200)), ('branch_id', left(n.branch_id, 200)), ('company_id', left(n.company_id, 200)),
               ('entity_type', left(n.entity_type, 200)), ('service', left(n.service, 200)), ('hostname', left(n.hostname, 200))) AS d(dim, value)
             WHERE d.value IS NOT NULL
             GROUP BY 1, 2, 3, 4`),
        (each) =>
          each.query(`
            INSERT INTO auditx.slots (slot, security, entries, failures)
            SELECT to_timestamp(floor(extract(epoch FROM ts) / 900) * 900), security, count(*), count(*) FILTER (WHERE NOT success)
              FROM auditx.${name} GROUP BY 1, 2`),
      ]),
    );
    steps.counts = secondsSince(t);
    log(`  per-day counts and quarter-hour slots in ${steps.counts} s`);

    // 5. Each trail's positions in time order: a partition's numbers start after the earlier partitions' rows.
    t = performance.now();
    const offsets = [];
    let audit = 0;
    let security = 0;
    for (const { name } of partitions) {
      offsets.push({ name, audit, security });
      const { rows } = await client.query(
        `SELECT count(*)::bigint AS audit, count(*) FILTER (WHERE security)::bigint AS security FROM auditx.${name}`,
      );
      audit += Number(rows[0].audit);
      security += Number(rows[0].security);
    }
    await runOn(
      clients,
      offsets.map(
        ({ name, audit, security }) =>
          (each) =>
            each.query(`
          INSERT INTO auditx.positions (trail, position, id, ts)
          SELECT 'audit', ${audit} + row_number() OVER (ORDER BY ts, id), id, ts FROM auditx.${name}
          UNION ALL
          SELECT 'security', ${security} + row_number() OVER (ORDER BY ts, id), id, ts FROM auditx.${name} WHERE security`),
      ),
    );
    steps.positions = secondsSince(t);
    log(`  trail positions in ${steps.positions} s`);

    // 6. Statistics: ANALYZE of the parent also analyzes each partition (the expression indexes' statistics too), on one
    // connection; the side tables on the others.
    t = performance.now();
    await runOn(clients, [
      (each) => each.query("ANALYZE auditx.entries"),
      ...["counts", "slots", "positions"].map((table) => (each) => each.query(`VACUUM ANALYZE auditx.${table}`)),
    ]);
    // The visibility map once more (index-only scans read it): a page the first VACUUM could not mark yet is marked now,
    // without walking any index (there is nothing to remove).
    await runOn(
      clients,
      partitions.map(
        ({ name }) =>
          (each) =>
            each.query(`VACUUM (FREEZE, INDEX_CLEANUP OFF) auditx.${name}`),
      ),
    );
    steps.analyze = secondsSince(t);
    log(`  ANALYZE, and VACUUM of the side tables and the visibility map, in ${steps.analyze} s`);
    return steps;
  } finally {
    for (const each of clients) await each.end().catch(() => undefined);
  }
}
