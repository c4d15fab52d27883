// Fills a store with N entries for the viewer benchmark, inside PostgreSQL:
// INSERT ... SELECT from generate_series (nothing crosses the wire), the
// indexes built once after the load (a sorted build is far faster than N
// inserts into each), then the per-day counts and VACUUM ANALYZE. The values
// follow the viewer benchmark's trail (bench/support/viewer-trail.mjs): 10
// modules, 16 actions, 200 users, 12 branches, 3 companies, 8 parties; here
// also 6 services on 12 hosts, over one year.
import { initStore } from "../../dist/store/schema.js";

export const DATA_START = Date.UTC(2025, 11, 1);
export const DATA_SPAN_MS = 365 * 24 * 3600 * 1000;
export const SERVICES = ["sales-api", "purchase-api", "inventory-api", "accounting-api", "crm-api", "hr-api"];

const array = (values) => `ARRAY[${values.map((v) => `'${v}'`).join(",")}]`;
const MODULES = ["sales", "purchase", "inventory", "accounting", "service", "crm", "hr", "reporting", "system", "auth"];
const ACTIONS = [
  "CREATE",
  "READ",
  "UPDATE",
  "DELETE",
  "APPROVE",
  "REJECT",
  "VOID",
  "POST",
  "PAYMENT",
  "REFUND",
  "TRANSFER",
  "ADJUST",
  "LOGIN",
  "LOGOUT",
  "EXPORT",
  "IMPORT",
];
const BRANCHES = ["BR-YGN", "BR-MDY", "BR-NPT", "BR-BGO", "BR-MLM", "BR-TGI", "BR-PTN", "BR-LSO", "BR-MGW", "BR-SGG", "BR-HPA", "BR-KTN"];
const PARTIES = [
  "Golden Trading Co.",
  "Shwe Pyi Distribution",
  "Ayeyar Logistics",
  "Mandalay Hardware Ltd",
  "Irrawaddy Foods",
  "Royal Ruby Traders",
  "Sunrise Pharma",
  "Delta Agro Supply",
];
const ROLES = ["manager", "cashier", "accountant", "storekeeper", "admin", "auditor"];
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
 * Loads n entries into an empty store at `client`'s database; `log` hears of
 * each step. The indexes are dropped for the load and made again by the
 * store's own init (the same definitions a shipped store has).
 */
export async function loadBenchStore(client, n, log) {
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
  await client.query("SET synchronous_commit = off");
  await client.query("SELECT setseed(0.42)");
  const chunk = 1_000_000;
  let t = performance.now();
  for (let from = 0; from < n; from += chunk) {
    await client.query(insertChunk(from, Math.min(n, from + chunk), n));
    log(`  loaded ${Math.min(n, from + chunk).toLocaleString("en")} rows (${((performance.now() - t) / 1000).toFixed(0)} s)`);
  }
  t = performance.now();
  await client.query("SET maintenance_work_mem = '1GB'");
  await client.query("ALTER TABLE auditx.entries ADD PRIMARY KEY (id, ts)");
  // The store's own definitions: init makes every missing index, and turns the count trigger on again.
  await initStore(client);
  log(`  indexes built in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  t = performance.now();
  await client.query(`
    INSERT INTO auditx.counts (dim, value, day, security, entries, failures, latest)
    SELECT d.dim, d.value, (n.ts AT TIME ZONE 'UTC')::date, n.security, count(*), count(*) FILTER (WHERE NOT n.success), max(n.ts)
      FROM auditx.entries n
     CROSS JOIN LATERAL (VALUES ('', ''), ('module', left(n.module, 200)), ('level', left(n.level, 200)), ('user', left(n."user", 200)),
       ('action', left(n.action, 200)), ('branch_id', left(n.branch_id, 200)), ('company_id', left(n.company_id, 200)),
       ('entity_type', left(n.entity_type, 200)), ('service', left(n.service, 200)), ('hostname', left(n.hostname, 200))) AS d(dim, value)
     WHERE d.value IS NOT NULL
     GROUP BY 1, 2, 3, 4`);
  // What the trigger keeps for shipped rows: quarter-hour slots, and each trail's positions in time order.
  await client.query(`
    INSERT INTO auditx.slots (slot, security, entries, failures)
    SELECT to_timestamp(floor(extract(epoch FROM ts) / 900) * 900), security, count(*), count(*) FILTER (WHERE NOT success)
      FROM auditx.entries GROUP BY 1, 2`);
  await client.query(`
    INSERT INTO auditx.positions (trail, position, id, ts)
    SELECT 'audit', row_number() OVER (ORDER BY ts, id), id, ts FROM auditx.entries
    UNION ALL
    SELECT 'security', row_number() OVER (ORDER BY ts, id), id, ts FROM auditx.entries WHERE security`);
  for (const table of ["entries", "counts", "slots", "positions"]) await client.query(`VACUUM ANALYZE auditx.${table}`);
  log(`  per-day counts, slots, positions and VACUUM ANALYZE in ${((performance.now() - t) / 1000).toFixed(0)} s`);
}
