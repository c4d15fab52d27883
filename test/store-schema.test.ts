/**
 * The PostgreSQL store's schema on a real server: a column per trail field,
 * monthly partitions, an index per viewer filter, append-only for every role,
 * partitions made on demand by a writing role and dropped only by the
 * retention policy, each drop recorded first.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { describe, expect, it } from "vitest";
import { TRAIL_FIELDS } from "../src/index.js";
import { COPY_COLUMN_LIST, COPY_COLUMNS } from "../src/store/columns.js";
import { copyRowOf } from "../src/store/copyRow.js";
import { pruneStore } from "../src/store/retention.js";
import { copyStatement, initStore, readStoreInfo, StoreNames } from "../src/store/schema.js";
import { ROOT } from "./support/core-trail.js";
import { usePostgres } from "./support/postgres.js";
import { countedTotal } from "./support/store.js";

const run = promisify(execFile);
const CLI = join(ROOT, "dist", "cli", "main.js");
const names = new StoreNames();

/** A trail line's dict as auditx writes it, at `millis`. */
function entryDict(millis: number, n: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    timestamp: new Date(millis).toISOString().replace("Z", "+00:00"),
    level: n % 10 === 0 ? "SECURITY" : "AUDIT",
    module: n % 2 ? "sales" : "inventory",
    action: "POST",
    description: `Entry ${n}`,
    user: `user${n % 3}`,
    company_id: "CO-001",
    branch_id: n % 2 ? "BR-YGN" : "BR-MDY",
    reference_no: `SI-${n}`,
    amount: n * 1.5,
    currency: "MMK",
    metadata: { n },
    hostname: "host-a",
    status: null,
    success: n % 7 !== 0,
    service: "sales-api",
    ...extra,
  };
}

async function copyDicts(client: pg.Client, dicts: Array<Record<string, unknown>>): Promise<void> {
  const text = dicts.map((dict) => copyRowOf(dict, JSON.stringify(dict)).text).join("");
  await new Promise<void>((resolve, reject) => {
    const stream = client.query(copyFrom(copyStatement(names.entries)));
    stream.on("error", reject);
    stream.on("finish", () => resolve());
    stream.end(text);
  });
}

describe("a trail line as a row of the store", () => {
  it("leaves the counted columns' whole values and the machine identifiers out of the search text, and keeps every other value", () => {
    const dict = entryDict(Date.UTC(2026, 6, 2), 3, {
      request_id: "req-77",
      entity_type: "Customer",
      entity_id: "CUST-0042",
      metadata: { party: "Golden Trading Co.", note: "Credit Hold" },
    });
    const search = (row: Record<string, unknown>) => copyRowOf(row, JSON.stringify(row)).text.split("\t")[COPY_COLUMNS.indexOf("search")];
    const values = (search(dict) as string).split("\u0001");
    // Free text finds module, level, user, action, branch, company, entity type, service and host through the
    // per-day counts and their indexes; the request id through its index.
    expect(values).toEqual(["entry 3", "cust-0042", "si-3", "4.5", "mmk", "golden trading co.", "credit hold", "true"]);
    // A value longer than its index's prefix is not whole there: it stays in the search text.
    const longModule = `Module ${"x".repeat(240)}`;
    expect(search({ ...dict, module: longModule })).toContain(longModule.toLowerCase());
  });
});

describe("the store's schema", () => {
  const postgres = usePostgres();

  it("pg init makes a column per trail field, partitions by month, indexes every filter, and is idempotent", async () => {
    const db = await postgres.database();
    const { stdout } = await run(process.execPath, [CLI, "pg", "init", "--url", db.url]);
    expect(stdout).toMatch(/auditx store ready .* store id [0-9a-f-]{36}, schema version 1, retention none/);
    const client = await db.connect();
    const first = await readStoreInfo(client, names);
    // A second init (every shipper's first use does one) keeps the store and its id.
    const again = await initStore(client);
    expect(again.storeId).toBe(first?.storeId);

    const { rows: columns } = await client.query(
      "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'auditx' AND table_name = 'entries' ORDER BY ordinal_position",
    );
    expect(columns.map((column) => column.column_name)).toEqual([
      ...TRAIL_FIELDS,
      "ts",
      "extra",
      "search",
      "id_derived",
      "ip_addr",
      "security",
      "stored_at",
    ]);
    const types = Object.fromEntries(columns.map((column) => [column.column_name, column.data_type]));
    expect(types).toMatchObject({
      id: "uuid",
      old_values: "jsonb",
      new_values: "jsonb",
      metadata: "jsonb",
      amount: "numeric",
      status: "integer",
      success: "boolean",
      seq: "bigint",
      ts: "timestamp with time zone",
    });
    const { rows: key } = await client.query(
      "SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'auditx.entries'::regclass AND contype = 'p'",
    );
    expect(key[0].def).toBe("PRIMARY KEY (id, ts)");
    const { rows: partitioning } = await client.query("SELECT pg_get_partkeydef('auditx.entries'::regclass) AS def");
    expect(partitioning[0].def).toBe("RANGE (ts)");
    const { rows: indexes } = await client.query(
      "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'auditx' AND tablename = 'entries'",
    );
    const defs = indexes.map((index) => index.indexdef).join("\n");
    for (const column of [
      "module",
      "level",
      '"user"',
      "action",
      "branch_id",
      "company_id",
      "entity_type",
      "service",
      "hostname",
      "entity_id",
      "reference_no",
      "request_id",
    ]) {
      expect(defs).toContain(`(${column}, 200)`);
    }
    expect(defs).toMatch(/USING gin \(search (public\.)?gin_trgm_ops\)/);
    expect(defs).toContain("(ip_addr, ts, id) WHERE (ip_addr IS NOT NULL)");
    // One person's failures have an index of their own (failures only).
    expect(defs).toMatch(/entries_user_failure_time ON .*\("user", 200\).*, ts, id\) WHERE \(NOT success\)/);
    expect(types.ip_addr).toBe("inet");
    const { rows: months } = await client.query(
      "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'auditx.entries'::regclass ORDER BY 1",
    );
    const now = new Date();
    const monthName = (offset: number) => {
      const date = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1));
      return `entries_${date.getUTCFullYear()}_${String(date.getUTCMonth() + 1).padStart(2, "0")}`;
    };
    expect(months.map((row) => row.relname)).toEqual(expect.arrayContaining([monthName(0), monthName(1), monthName(2), "entries_default"]));
  });

  it("lets a writing role add entries and months, and refuses it reading, changing or removing any", async () => {
    const db = await postgres.database();
    const writer = await postgres.role();
    const owner = await db.connect();
    await initStore(owner, { writers: [writer.name] });
    const asWriter = await db.connect(writer);
    const july = Date.UTC(2026, 6, 15, 9, 30);
    // A month with no partition yet: the writer may make it (and only make it) through the store's function.
    await asWriter.query(`SELECT ${names.of("ensure_partitions")}($1::timestamptz[])`, [[new Date(july).toISOString()]]);
    await copyDicts(asWriter, [entryDict(july, 1), entryDict(july + 1000, 2)]);
    const { rows: stored } = await owner.query(
      "SELECT (SELECT c.relname FROM pg_class c WHERE c.oid = e.tableoid) AS part, count(*)::int AS n FROM auditx.entries e GROUP BY 1",
    );
    expect(stored).toEqual([{ part: "entries_2026_07", n: 2 }]);
    // It may merge the free-text index's pending entries of the months it writes (the shipper's cleaner), and only so.
    await owner.query("CREATE EXTENSION IF NOT EXISTS pgstattuple");
    const pendingInJuly = async () =>
      (
        await owner.query(
          "SELECT (pgstatginindex(i.indexrelid)).pending_tuples::int AS n FROM pg_index i JOIN pg_inherits h ON h.inhrelid = i.indexrelid WHERE h.inhparent = 'auditx.entries_search'::regclass AND i.indrelid = 'auditx.entries_2026_07'::regclass",
        )
      ).rows.map((row) => row.n);
    expect((await pendingInJuly())[0]).toBeGreaterThan(0);
    await asWriter.query(`SELECT ${names.of("clean_search_pending")}($1::timestamptz[])`, [[new Date(july).toISOString()]]);
    expect(await pendingInJuly()).toEqual([0]);

    const refusedToWriter = async (sql: string) => {
      await expect(asWriter.query(sql)).rejects.toMatchObject({ code: "42501" });
    };
    await refusedToWriter("SELECT * FROM auditx.entries");
    await refusedToWriter("UPDATE auditx.entries SET description = 'rewritten'");
    await refusedToWriter("DELETE FROM auditx.entries");
    await refusedToWriter("TRUNCATE auditx.entries");
    await refusedToWriter("DROP TABLE auditx.entries_2026_07");
    await refusedToWriter("UPDATE auditx.counts SET entries = 0");
    await refusedToWriter("SELECT gin_clean_pending_list('auditx.entries_2026_07_search_idx')");

    // The owner too: the trail is append-only by trigger, whoever asks.
    await expect(owner.query("UPDATE auditx.entries SET description = 'rewritten'")).rejects.toThrow(/append-only: UPDATE/);
    await expect(owner.query("DELETE FROM auditx.entries WHERE true")).rejects.toThrow(/append-only: DELETE/);
    await expect(owner.query("TRUNCATE auditx.entries")).rejects.toThrow(/append-only: TRUNCATE/);
    await expect(owner.query("TRUNCATE auditx.entries_2026_07")).rejects.toThrow(/append-only: TRUNCATE/);
    expect((await owner.query("SELECT count(*)::int AS n FROM auditx.entries")).rows[0].n).toBe(2);
  });

  it("keeps per-day counts that equal the rows, by every counted filter, through replays", async () => {
    const db = await postgres.database();
    const client = await db.connect();
    await initStore(client);
    const base = Date.now() - 3 * 24 * 3600 * 1000;
    // Lines without an id (as the Python original writes them): the id is derived from each line.
    const dicts = Array.from({ length: 300 }, (_, n) => entryDict(base + n * 17 * 60_000, n));
    await client.query(`SELECT ${names.of("ensure_partitions")}($1::timestamptz[])`, [dicts.map((dict) => dict.timestamp)]);
    await copyDicts(client, dicts.slice(0, 200));
    // A replay of rows already there, through the shipper's path: nothing is counted twice.
    await client.query("BEGIN");
    await client.query("CREATE TEMP TABLE staging (LIKE auditx.entries) ON COMMIT DROP");
    await client.query("ALTER TABLE staging DROP COLUMN security, DROP COLUMN stored_at");
    const text = dicts
      .slice(100)
      .map((dict) => copyRowOf(dict, JSON.stringify(dict)).text)
      .join("");
    await new Promise<void>((resolve, reject) => {
      const stream = client.query(copyFrom(copyStatement("staging")));
      stream.on("error", reject);
      stream.on("finish", () => resolve());
      stream.end(text);
    });
    const replay = await client.query(`INSERT INTO auditx.entries (${COPY_COLUMN_LIST}) SELECT * FROM staging ON CONFLICT DO NOTHING`);
    await client.query("COMMIT");
    expect(replay.rowCount).toBe(100);
    expect(await countedTotal(client)).toBe(300);
    for (const column of ["module", "level", "user", "branch_id", "service"]) {
      const { rows: actual } = await client.query(
        `SELECT "${column}" AS value, count(*)::int AS n, count(*) FILTER (WHERE NOT success)::int AS failures FROM auditx.entries GROUP BY 1 ORDER BY 1`,
      );
      const { rows: counted } = await client.query(
        "SELECT value, sum(entries)::int AS n, sum(failures)::int AS failures FROM auditx.counts WHERE dim = $1 GROUP BY 1 ORDER BY 1",
        [column],
      );
      expect(counted).toEqual(actual);
    }
  });

  it("drops only months past the retention policy, each drop written to the trail and the retention log first", async () => {
    const db = await postgres.database();
    const client = await db.connect();
    await initStore(client, { retentionMonths: 12 });
    const now = new Date(Date.UTC(2026, 11, 2, 12));
    const old = [Date.UTC(2024, 2, 10), Date.UTC(2025, 10, 20), Date.UTC(2025, 11, 5), Date.UTC(2026, 10, 1)];
    await client.query(`SELECT ${names.of("ensure_partitions")}($1::timestamptz[])`, [old.map((t) => new Date(t).toISOString())]);
    await copyDicts(
      client,
      old.flatMap((t, k) => [entryDict(t, k * 10 + 1), entryDict(t + 60_000, k * 10 + 2)]),
    );
    expect(await countedTotal(client)).toBe(8);

    const dry = await pruneStore(client, { now, dryRun: true });
    expect(dry.map((month) => [month.partition, month.entries])).toEqual([
      ["entries_2024_03", 2],
      ["entries_2025_11", 2],
    ]);
    expect((await client.query("SELECT count(*)::int AS n FROM auditx.entries")).rows[0].n).toBe(8);

    const dropped = await pruneStore(client, { now });
    expect(dropped.map((month) => month.partition)).toEqual(["entries_2024_03", "entries_2025_11"]);
    const { rows: log } = await client.query(
      "SELECT partition, entries::int, policy_months, entry_id::text FROM auditx.retention_log ORDER BY seq",
    );
    expect(log).toEqual([
      { partition: "entries_2024_03", entries: 2, policy_months: 12, entry_id: dropped[0]?.entryId },
      { partition: "entries_2025_11", entries: 2, policy_months: 12, entry_id: dropped[1]?.entryId },
    ]);
    // The trail records each drop: a SECURITY entry about the partition, in a month that stays.
    const { rows: records } = await client.query(
      "SELECT id::text, level, module, action, entity_id, description, metadata FROM auditx.entries WHERE entity_type = 'audit_partition' ORDER BY ts, id",
    );
    expect(records.map((row) => [row.id, row.level, row.module, row.action, row.entity_id])).toEqual([
      [dropped[0]?.entryId, "SECURITY", "system", "DELETE", "entries_2024_03"],
      [dropped[1]?.entryId, "SECURITY", "system", "DELETE", "entries_2025_11"],
    ]);
    expect(records[0].description).toMatch(/dropped the store's entries of 2024-03 \(2 entries, kept 12 months\)/);
    const { rows: left } = await client.query(
      "SELECT count(*)::int AS n FROM auditx.entries WHERE entity_type IS DISTINCT FROM 'audit_partition'",
    );
    expect(left[0].n).toBe(4);
    expect(await countedTotal(client)).toBe(6);
    expect(await pruneStore(client, { now })).toEqual([]);
  });

  it("pg status tells the store's id, policy, months, totals and shippers", async () => {
    const db = await postgres.database();
    const client = await db.connect();
    const info = await initStore(client, { retentionMonths: 84 });
    const now = Date.now();
    await copyDicts(client, [entryDict(now, 1), entryDict(now + 1, 10)]);
    await client.query(`SELECT ${names.of("report_shipper")}('h|/srv/logs|audit.jsonl', 'h', '/srv/logs', 2, 0, 0, 0, 0)`);
    const { stdout } = await run(process.execPath, [CLI, "pg", "status", "--url", db.url]);
    expect(stdout).toContain(`store ${info.storeId} (schema auditx, version 1)`);
    expect(stdout).toContain("retention: 84 months");
    expect(stdout).toMatch(/entries: 2 \(security 1, failures 0\)/);
    expect(stdout).toMatch(/entries_\d{4}_\d{2}/);
    expect(stdout).toMatch(/h \/srv\/logs: shipped 2, skipped 0/);
    // The password masked, whatever it is (the role's name too).
    const { username, password } = new URL(db.url);
    if (password) expect(stdout).toContain(`${username}:***@`);
    if (password) expect(stdout).not.toContain(`:${password}@`);
    const json = JSON.parse((await run(process.execPath, [CLI, "pg", "status", "--url", db.url, "--json"])).stdout);
    expect(json).toMatchObject({ storeId: info.storeId, retentionMonths: 84, totals: { entries: "2" } });
  });

  it("drops nothing without a retention policy", async () => {
    const db = await postgres.database();
    const client = await db.connect();
    await initStore(client);
    await expect(pruneStore(client)).rejects.toThrow(/no retention policy, so nothing is ever dropped/);
    const result = await run(process.execPath, [CLI, "pg", "prune", "--url", db.url]).catch((error) => error);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no retention policy/);
  });
});
