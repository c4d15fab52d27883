/**
 * Shipping the journal into a real PostgreSQL: in process and as the
 * `auditx ship` sidecar, every line exactly once, through rotation,
 * compression, restarts, torn and malformed lines, and with PostgreSQL away.
 */
import { execFile } from "node:child_process";
import { appendFileSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import type pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { AuditAction, AuditConfigError, type AuditEntry, type AuditLogger, BusinessModule, createLogger, entryIdOf } from "../src/index.js";
import { DICT_COLUMNS, rowDict } from "../src/store/rowDict.js";
import { Shipper, type ShipperOptions } from "../src/store/Shipper.js";
import { initStore } from "../src/store/schema.js";
import { ROOT, tempDir } from "./support/core-trail.js";
import { eventually } from "./support/eventually.js";
import { usePostgres } from "./support/postgres.js";
import { countedTotal, expectStoredExactlyOnce, journalIds } from "./support/store.js";
import { TcpProxy } from "./support/tcp-proxy.js";

const run = promisify(execFile);
const CLI = join(ROOT, "dist", "cli", "main.js");

const temps: Array<{ cleanup(): void }> = [];
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  for (const temp of temps.splice(0)) temp.cleanup();
});

function folder(): string {
  const temp = tempDir("auditx-ship-");
  temps.push(temp);
  return temp.dir;
}

function shipper(options: ShipperOptions): Shipper {
  const running = new Shipper({ pollIntervalMs: 20, settleMs: 300, ...options });
  closers.push(() => running.close());
  return running;
}

function logger(options: Parameters<typeof createLogger>[0]): AuditLogger {
  // Only the entries a test writes: it counts them (the logger's own START/STOP entries are tested elsewhere).
  const created = createLogger({ auditLifecycle: false, ...options });
  closers.push(() => created.shutdown());
  return created;
}

/** Rows in the store (0 until the shipper has made it). */
async function storedCount(client: pg.Client): Promise<number> {
  try {
    return (await client.query("SELECT count(*)::int AS n FROM auditx.entries")).rows[0].n;
  } catch (error) {
    if ((error as { code?: string }).code === "42P01") return 0;
    throw error;
  }
}

/** A line as the Python auditX wrote it: no id, no service, microseconds, no offset. */
function pythonLine(n: number): string {
  return JSON.stringify({
    timestamp: `2026-06-28T16:10:${String(n % 60).padStart(2, "0")}.123456`,
    level: "AUDIT",
    module: "sales",
    action: "POST",
    description: `Legacy invoice ${n}`,
    user: "admin",
    reference_no: `OLD-${n}`,
    amount: 100 + n,
    currency: "MMK",
    status: null,
    success: true,
  });
}

describe("shipping the trail into PostgreSQL", () => {
  const postgres = usePostgres();

  it("configure({ ship }) stores every entry once, as its line reads, without the log call waiting", async () => {
    const db = await postgres.database();
    const dir = folder();
    const audit = logger({ logDir: dir, serviceName: "sales-api", ship: { postgres: db.url, pollIntervalMs: 20 } });
    const written: AuditEntry[] = [];
    for (let i = 0; i < 300; i++) {
      written.push(
        audit.logTransaction(`Sales invoice SI-${i} posted`, {
          module: BusinessModule.SALES,
          action: AuditAction.POST,
          referenceNo: `SI-${i}`,
          amount: 1250.5 * i,
          user: `user${i % 4}`,
          branchId: "BR-YGN",
          companyId: "CO-001",
          party: "Golden Trading Co.",
          metadata: {
            tabs: "a\tb",
            newline: "line1\nline2",
            backslash: "C:\\erp\\",
            nul: "x\u0000y",
            unicode: "မင်္ဂလာပါ 🧾",
            nested: { list: [1, "two", { three: 3 }] },
          },
        }),
      );
    }
    written.push(
      audit.logChange("Credit limit changed", {
        entityType: "customer",
        entityId: "C-1",
        oldValues: { limit: 1000 },
        newValues: { limit: 5000 },
      }),
    );
    written.push(audit.logSecurity("Login failed", { action: AuditAction.LOGIN, user: "mallory", success: false, ip: "10.1.2.3" }));
    written.push(audit.log("Report exported", { status: 200, method: "GET", endpoint: "/reports/42" }));

    const stats = await eventually(
      () => {
        const ship = audit.stats().ship;
        return ship && ship.shipped === written.length && ship.lag.records === 0 && ship.state === "idle" ? ship : false;
      },
      60_000,
      "the shipper to store every entry",
    );
    expect(stats).toMatchObject({ state: "idle", skipped: 0, replayed: 0, lastError: null, backlog: { bytes: 0, segments: 0 } });

    const client = await db.connect();
    await expectStoredExactlyOnce(client, journalIds(dir).ids);
    const { rows } = await client.query(`SELECT ${DICT_COLUMNS.map((c) => `"${c}"`).join(", ")}, security FROM auditx.entries`);
    const byId = new Map(rows.map((row) => [row.id, row]));
    for (const entry of written) {
      const row = byId.get(entry.id);
      const expected = entry.toDict() as Record<string, unknown>;
      // PostgreSQL cannot hold U+0000: it is stored as U+FFFD.
      const metadata = expected.metadata as Record<string, unknown> | undefined;
      if (metadata?.nul) expected.metadata = { ...metadata, nul: "x\ufffdy" };
      expect(rowDict(row)).toEqual(expected);
      expect(row.security).toBe(entry.level === "SECURITY" || entry.level === "CRITICAL");
    }
    expect(await countedTotal(client)).toBe(written.length);
    // The cursor lives beside the trail, one per store.
    const { rows: meta } = await client.query("SELECT value FROM auditx.meta WHERE key = 'store_id'");
    expect(readdirSync(dir)).toContain(`audit.jsonl.shipped-${meta[0].value}.json`);
  });

  it("shutdown() ships what is left for up to drainMs; bad ship options are refused with a clear error", async () => {
    const db = await postgres.database();
    await initStore(await db.connect());
    const dir = folder();
    const audit = createLogger({ logDir: dir, auditLifecycle: false, ship: { postgres: db.url, pollIntervalMs: 60_000, drainMs: 30_000 } });
    for (let i = 0; i < 250; i++) audit.log(`entry ${i}`);
    // The poll interval is a minute: only the drain at shutdown can ship these now.
    await audit.shutdown();
    const client = await db.connect();
    await expectStoredExactlyOnce(client, journalIds(dir).ids);
    expect(audit.stats().ship?.state).toBe("closed");

    expect(() => createLogger({ logDir: dir, ship: {} as never })).toThrow(AuditConfigError);
    expect(() => createLogger({ logDir: dir, ship: { postgres: "" } })).toThrow(/ship.postgres must be a postgresql:\/\/ URL/);
    expect(() => createLogger({ logDir: dir, ship: { postgres: db.url, batchRows: 0 } })).toThrow(/ship.batchRows must be a number > 0/);
    expect(() => createLogger({ logDir: dir, ship: { postgres: db.url, connections: 0 } })).toThrow(
      /ship.connections must be a whole number from 1 to 16/,
    );
    expect(() => createLogger({ logDir: dir, ship: { postgres: db.url, connections: 2.5 } })).toThrow(/ship.connections/);
    expect(() => createLogger({ logDir: dir, ship: { postgres: db.url, cleanSearchIndex: "yes" as never } })).toThrow(
      /ship.cleanSearchIndex must be true or false/,
    );
    expect(() => createLogger({ logDir: dir, ship: { postgres: db.url, synchronousCommit: 1 as never } })).toThrow(
      /ship.synchronousCommit must be true or false/,
    );
    expect(() => createLogger({ logDir: dir, ship: { postgres: db.url, schema: "Audit Trail" } })).toThrow(
      /ship.schema must be a lowercase SQL name/,
    );
  });

  it("keeps lines in the trail while PostgreSQL is away, reports the backlog and lag, and loses none", async () => {
    const db = await postgres.database();
    const url = new URL(db.url);
    const proxy = await new TcpProxy(url.hostname, Number(url.port)).open();
    closers.push(() => proxy.close());
    const viaProxy = proxy.url(db.url);
    await proxy.cut();
    const dir = folder();
    const audit = logger({ logDir: dir, ship: { postgres: viaProxy, pollIntervalMs: 20 } });
    for (let i = 0; i < 500; i++) audit.logTransaction(`Invoice ${i}`, { referenceNo: `SI-${i}`, amount: i });
    const size = statSync(join(dir, "audit.jsonl")).size;
    const away = await eventually(
      () => {
        const ship = audit.stats().ship;
        return ship?.state === "retrying" && ship.lag.records === 500 ? ship : false;
      },
      30_000,
      "the shipper to report PostgreSQL away with the whole backlog",
    );
    expect(away.backlog).toEqual({ bytes: size, segments: 1 });
    expect(away.lastError).toMatch(/ECONNREFUSED|connect/);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(audit.stats().ship?.lag.seconds).toBeGreaterThan(1);
    // The failure is reported once in app.log, not once per retry.
    const appLog = readFileSync(join(dir, "app.log"), "utf8");
    expect(appLog.match(/shipping: shipping to .* failed/g)).toHaveLength(1);
    for (let i = 500; i < 700; i++) audit.logTransaction(`Invoice ${i}`, { referenceNo: `SI-${i}`, amount: i });

    await proxy.open();
    await eventually(() => audit.stats().ship?.shipped === 700 && audit.stats().ship?.lag.records === 0, 60_000, "the backlog to drain");
    const client = await db.connect();
    await expectStoredExactlyOnce(client, journalIds(dir).ids);
    expect(audit.stats().ship).toMatchObject({ lastError: null, lag: { records: 0, seconds: 0 }, backlog: { bytes: 0 } });
  });

  it("counts as waiting, with its age, what is appended while a batch is being stored", async () => {
    const db = await postgres.database();
    const dir = folder();
    const audit = logger({ logDir: dir });
    for (let i = 0; i < 10; i++) audit.log(`first ${i}`);
    const client = await db.connect();
    await initStore(client);
    // The store's table locked: the shipper's first batch waits in COPY while more is written.
    await client.query("BEGIN");
    await client.query("LOCK TABLE auditx.entries IN ACCESS EXCLUSIVE MODE");
    const ship = shipper({ postgres: db.url, folders: [dir], settleMs: 0 });
    await eventually(
      async () =>
        (await client.query("SELECT count(*)::int AS n FROM pg_locks WHERE relation = 'auditx.entries'::regclass AND NOT granted")).rows[0]
          .n > 0,
      30_000,
      "the shipper's batch to wait for the lock",
    );
    for (let i = 0; i < 200; i++) audit.log(`meanwhile ${i}`);
    await new Promise((resolve) => setTimeout(resolve, 600));
    let seen = { records: 0, seconds: 0 };
    const sampler = setInterval(() => {
      const { lag } = ship.stats();
      if (lag.records > seen.records) seen = lag;
    }, 2);
    try {
      await client.query("COMMIT");
      await eventually(() => ship.stats().shipped === 210 && ship.stats().lag.records === 0, 30_000, "everything shipped");
    } finally {
      clearInterval(sampler);
    }
    // Once the first batch is stored, the 200 lines written meanwhile are reported as waiting, with the age of the oldest
    // (and the first batch's 10 until the server's WAL is on disk past its commit: the cursor waits for that).
    expect([200, 210]).toContain(seen.records);
    expect(seen.seconds).toBeGreaterThanOrEqual(0.5);
    await expectStoredExactlyOnce(client, journalIds(dir).ids);
  });

  it("stores a batch over two connections at once; when one share fails, the batch is sent again and each line is kept once", async () => {
    const db = await postgres.database();
    const dir = folder();
    const audit = logger({ logDir: dir });
    for (let i = 0; i < 2000; i++) audit.logTransaction(`Invoice ${i}`, { referenceNo: `SI-${i}`, amount: i });
    const client = await db.connect();
    await initStore(client);
    await client.query("BEGIN");
    await client.query("LOCK TABLE auditx.entries IN ACCESS EXCLUSIVE MODE");
    const events: string[] = [];
    const ship = shipper({
      postgres: db.url,
      folders: [dir],
      settleMs: 0,
      batchRows: 2000,
      applicationName: "auditx-ship-shares",
      onEvent: (event) => events.push(event.message),
    });
    // Both halves of the one batch wait in their COPY, each on a connection of its own (seen from another
    // connection: inside its transaction, the locking one sees activity as it was when the transaction began).
    const observer = await db.connect();
    const waiting = async () =>
      (
        await observer.query(
          "SELECT pid FROM pg_stat_activity WHERE application_name = 'auditx-ship-shares' AND wait_event_type = 'Lock' ORDER BY pid",
        )
      ).rows.map((row: { pid: number }) => row.pid);
    await eventually(async () => (await waiting()).length === 2, 30_000, "both shares to wait for the lock");
    // One share's connection dies; the other commits its half once the lock is released.
    const [, victim] = await waiting();
    await client.query("SELECT pg_terminate_backend($1)", [victim]);
    await client.query("COMMIT");
    await eventually(() => ship.stats().shipped === 2000 && ship.stats().lag.records === 0, 30_000, "everything shipped");
    // The half stored before the failure was sent again with the other and ignored.
    expect(ship.stats().replayed).toBe(1000);
    expect(events.some((message) => /terminat/i.test(message))).toBe(true);
    await expectStoredExactlyOnce(client, journalIds(dir).ids);
    expect(await countedTotal(client)).toBe(2000);
  });

  it("merges the free-text index's new entries on a connection of its own, so none are left pending once shipped", async () => {
    const pendingAfterShipping = async (cleanSearchIndex: boolean) => {
      const db = await postgres.database();
      const dir = folder();
      const audit = logger({ logDir: dir });
      for (let i = 0; i < 300; i++) audit.logTransaction(`Invoice ${i} for Golden Trading`, { referenceNo: `SI-${i}`, amount: i });
      const ship = shipper({ postgres: db.url, folders: [dir], settleMs: 0, cleanSearchIndex });
      expect(await ship.drained(30_000)).toBe(true);
      const client = await db.connect();
      await client.query("CREATE EXTENSION IF NOT EXISTS pgstattuple");
      const pending = async () =>
        (
          await client.query(
            `SELECT coalesce(sum((pgstatginindex(i.indexrelid)).pending_tuples), 0)::int AS n
               FROM pg_index i JOIN pg_inherits h ON h.inhrelid = i.indexrelid WHERE h.inhparent = 'auditx.entries_search'::regclass`,
          )
        ).rows[0].n;
      if (cleanSearchIndex) await eventually(async () => (await pending()) === 0, 30_000, "the pending entries to be merged");
      // Found through the index either way: pending entries are searched too.
      const { rows } = await client.query("SELECT count(*)::int AS n FROM auditx.entries WHERE search LIKE '%golden trading%'");
      expect(rows[0].n).toBe(300);
      return pending();
    };
    // Without the cleaner, a batch this small stays in the pending list (under PostgreSQL's 4 MB): searches scan it.
    expect(await pendingAfterShipping(false)).toBeGreaterThan(0);
    expect(await pendingAfterShipping(true)).toBe(0);
  });

  it("ships rotated, renamed and compressed segments once each, following them by fingerprint", async () => {
    const db = await postgres.database();
    const dir = folder();
    const audit = logger({ logDir: dir });
    const write = (from: number, to: number) => {
      for (let i = from; i < to; i++)
        audit.logTransaction(`Invoice ${i}`, { referenceNo: `SI-${i}`, amount: i, metadata: { pad: "x".repeat(i % 97) } });
    };
    // Legacy numbered backups (the original's rotation), oldest first: .2 then .1.
    writeFileSync(join(dir, "audit.jsonl.2"), `${[1, 2, 3].map(pythonLine).join("\n")}\n`);
    writeFileSync(join(dir, "audit.jsonl.1"), `${[4, 5].map(pythonLine).join("\n")}\n`);
    write(0, 400);
    const ship = shipper({ postgres: db.url, folders: [dir], batchRows: 50 });
    const client = await db.connect();
    await eventually(async () => (await storedCount(client)) >= 100, 60_000, "part of the live file to be shipped");

    // The live file is rotated (renamed to a time-named segment) while the shipper is inside it; the
    // writer notices within a second and reopens audit.jsonl.
    const rotated = "audit.20261202T174345.123Z.4f2a9c.jsonl";
    renameSync(join(dir, "audit.jsonl"), join(dir, rotated));
    await new Promise((resolve) => setTimeout(resolve, 1100));
    write(400, 500);
    await eventually(() => ship.stats().lag.records === 0 && ship.stats().shipped === 505, 60_000, "the rotated and the new live file");
    // Compressed later (as the rotation does in the background): same content, new inode, new name.
    writeFileSync(join(dir, `${rotated}.gz`), gzipSync(readFileSync(join(dir, rotated))));
    unlinkSync(join(dir, rotated));
    write(500, 550);
    await eventually(() => ship.stats().shipped === 555 && ship.stats().lag.records === 0, 60_000, "the lines after the compression");
    expect(ship.stats()).toMatchObject({ replayed: 0, skipped: 0 });
    await expectStoredExactlyOnce(client, journalIds(dir).ids);

    // A compressed segment the shipper never saw (shipped after an outage longer than the rotation) is read too.
    await ship.close();
    write(550, 600);
    const second = "audit.20261202T180000.000Z.abcdef.jsonl";
    renameSync(join(dir, "audit.jsonl"), join(dir, second));
    await new Promise((resolve) => setTimeout(resolve, 1100));
    writeFileSync(join(dir, `${second}.gz`), gzipSync(readFileSync(join(dir, second))));
    unlinkSync(join(dir, second));
    write(600, 610);
    const next = shipper({ postgres: db.url, folders: [dir] });
    await eventually(() => next.stats().shipped === 60 && next.stats().lag.records === 0, 60_000, "the compressed segment");
    expect(next.stats().replayed).toBe(0);
    await expectStoredExactlyOnce(client, journalIds(dir).ids);
  });

  it("skips torn, malformed and overlong lines (counted), waits for an unfinished line, and stores odd values safely", async () => {
    const db = await postgres.database();
    const dir = folder();
    const good = (n: number, extra: Record<string, unknown> = {}) =>
      JSON.stringify({
        timestamp: `2026-12-01T10:00:${String(n).padStart(2, "0")}.000+06:30`,
        level: "AUDIT",
        description: `good ${n}`,
        status: null,
        success: true,
        ...extra,
      });
    const lines = [
      `\ufeff${good(1)}`, // a byte order mark before the first line
      "this is not json",
      "[1, 2, 3]",
      good(2).slice(0, 40), // torn: a crash mid-line on a system without append atomicity
      "",
      `${good(3)}\r`, // CRLF
      good(4, { user: "u".repeat(20_000), status: 7_000_000_000 }), // a value past btree's entry size, a status no column can hold
      good(5, { custom_field: { deep: ["kept"] } }), // a field the trail does not know
      good(6, { description: "x".repeat(70_000) }), // longer than the shipper's line limit (64 KiB here)
    ];
    writeFileSync(join(dir, "audit.jsonl"), `${lines.join("\n")}\n`);
    const invalidUtf8 = Buffer.concat([Buffer.from('{"description":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n')]);
    appendFileSync(join(dir, "audit.jsonl"), invalidUtf8);
    // The live file ends inside a line: it is not shipped until its newline arrives.
    appendFileSync(join(dir, "audit.jsonl"), good(7).slice(0, 30));

    const ship = shipper({ postgres: db.url, folders: [dir], maxLineBytes: 64 * 1024 });
    await eventually(() => ship.stats().shipped === 4 && ship.stats().state === "idle", 60_000, "the good lines");
    expect(ship.stats().skipped).toBe(5); // not json, array, torn, overlong, invalid UTF-8
    expect(ship.stats().lag.records).toBe(0);
    appendFileSync(join(dir, "audit.jsonl"), `${good(7).slice(30)}\n`);
    await eventually(() => ship.stats().shipped === 5, 60_000, "the finished line");

    const client = await db.connect();
    const { rows } = await client.query(`SELECT ${DICT_COLUMNS.map((c) => `"${c}"`).join(", ")} FROM auditx.entries ORDER BY ts`);
    const dicts = rows.map(rowDict);
    expect(dicts.map((dict) => dict.description)).toEqual(["good 1", "good 3", "good 4", "good 5", "good 7"]);
    expect(String(dicts[2]?.user).length).toBe(20_000);
    expect(dicts[2]?.status).toBe(7_000_000_000);
    expect(dicts[3]?.custom_field).toEqual({ deep: ["kept"] });
    // Lines without an id get the id every reader derives from the line.
    expect(rows[1].id).toBe(entryIdOf(JSON.parse(good(3)), good(3)));
    // The skipped lines are counted in the cursor too, for the store's stats (written once drained).
    expect(await ship.drained()).toBe(true);
    const cursorFile = readdirSync(dir).find((name) => name.includes(".shipped-")) as string;
    expect(JSON.parse(readFileSync(join(dir, cursorFile), "utf8"))).toMatchObject({ shipped: 5, skipped: 5 });
  });

  it("isolates a row PostgreSQL refuses, stores the rest of its batch, and reports it", async () => {
    const db = await postgres.database();
    const client = await db.connect();
    await initStore(client);
    // Whatever the reason a server refuses one row (here a constraint of the operator's), its batch is not stuck behind it.
    await client.query("ALTER TABLE auditx.entries ADD CONSTRAINT no_poison CHECK (description IS DISTINCT FROM 'poison')");
    const dir = folder();
    const audit = logger({ logDir: dir });
    for (let i = 0; i < 40; i++) audit.log(i === 17 ? "poison" : `entry ${i}`);
    const events: string[] = [];
    const ship = shipper({ postgres: db.url, folders: [dir], onEvent: (event) => events.push(event.message) });
    await eventually(() => ship.stats().shipped === 39 && ship.stats().state === "idle", 60_000, "the 39 good entries");
    expect(ship.stats().skipped).toBe(1);
    expect(events.join("\n")).toMatch(/refused by PostgreSQL and skipped: .*no_poison/);
    expect(await storedCount(client)).toBe(39);
  });

  it("resumes from its cursor after a restart, and a lost cursor only replays what the store ignores", async () => {
    const db = await postgres.database();
    const dir = folder();
    const audit = logger({ logDir: dir });
    for (let i = 0; i < 200; i++) audit.log(`entry ${i}`);
    const first = shipper({ postgres: db.url, folders: [dir] });
    await eventually(() => first.stats().shipped === 200 && first.stats().state === "idle", 60_000, "the first 200");
    await first.close();

    for (let i = 200; i < 250; i++) audit.log(`entry ${i}`);
    const second = shipper({ postgres: db.url, folders: [dir] });
    await eventually(() => second.stats().shipped === 50 && second.stats().state === "idle", 60_000, "the next 50");
    expect(second.stats().replayed).toBe(0);
    await second.close();

    // The cursor is lost (or unreadable): everything is sent again, and the store keeps each entry once.
    const cursorFile = readdirSync(dir).find((name) => name.includes(".shipped-")) as string;
    writeFileSync(join(dir, cursorFile), "{ torn");
    const events: string[] = [];
    const third = shipper({ postgres: db.url, folders: [dir], onEvent: (event) => events.push(event.message) });
    await eventually(() => third.stats().replayed === 250 && third.stats().state === "idle", 60_000, "the replay");
    expect(third.stats().shipped).toBe(0);
    expect(events.join("\n")).toMatch(/unreadable .*shipping .* from its start/);
    const client = await db.connect();
    await expectStoredExactlyOnce(client, journalIds(dir).ids);
    expect(await countedTotal(client)).toBe(250);
  });

  it("a cursor it cannot write is reported once, shipping goes on, and it is written once it can be", async () => {
    const db = await postgres.database();
    const client = await db.connect();
    await initStore(client);
    const { rows: meta } = await client.query("SELECT value FROM auditx.meta WHERE key = 'store_id'");
    const dir = folder();
    // A directory where the cursor file goes: every write of the cursor fails (as on a full or read-only disk).
    const cursorPath = join(dir, `audit.jsonl.shipped-${meta[0].value}.json`);
    mkdirSync(join(cursorPath, "in-the-way"), { recursive: true });
    const audit = logger({ logDir: dir });
    for (let i = 0; i < 300; i++) audit.log(`entry ${i}`);
    const events: string[] = [];
    const ship = shipper({ postgres: db.url, folders: [dir], batchRows: 50, onEvent: (event) => events.push(event.message) });
    await eventually(() => /the shipping cursor could not be written/.test(events.join("\n")), 60_000, "the failed write reported");
    // Shipping goes on meanwhile (the store has every entry), and the failure is told once, not per batch.
    await eventually(() => ship.stats().shipped === 300, 60_000, "the entries shipped meanwhile");
    expect(events.filter((message) => message.includes("could not be written"))).toHaveLength(1);
    rmSync(cursorPath, { recursive: true });
    for (let i = 300; i < 350; i++) audit.log(`entry ${i}`);
    expect(await ship.drained(60_000)).toBe(true);
    expect(JSON.parse(readFileSync(cursorPath, "utf8"))).toMatchObject({ shipped: 350, skipped: 0 });
    await expectStoredExactlyOnce(client, journalIds(dir).ids);
    expect(await countedTotal(client)).toBe(350);
  });

  it("one shipper per folder ships, another stands by and takes over from the cursor", async () => {
    const db = await postgres.database();
    const dir = folder();
    const audit = logger({ logDir: dir });
    for (let i = 0; i < 100; i++) audit.log(`entry ${i}`);
    const a = shipper({ postgres: db.url, folders: [dir], applicationName: "auditx-ship-a" });
    await eventually(() => a.stats().state === "idle", 60_000, "the first shipper");
    const b = shipper({ postgres: db.url, folders: [dir], applicationName: "auditx-ship-b" });
    await eventually(() => b.stats().state === "standby", 30_000, "the second to stand by");
    for (let i = 100; i < 150; i++) audit.log(`entry ${i}`);
    await eventually(() => a.stats().shipped === 150, 30_000, "the active shipper");
    expect(b.stats()).toMatchObject({ shipped: 0, folders: [{ active: false }] });
    // The one shipping holds its three connections (two storing, one merging the free-text index); the one standing by, one.
    const client = await db.connect();
    const connections = async () =>
      Object.fromEntries(
        (
          await client.query(
            "SELECT application_name AS name, count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE 'auditx-ship-_' GROUP BY 1",
          )
        ).rows.map((row: { name: string; n: number }) => [row.name, row.n]),
      );
    expect(await connections()).toEqual({ "auditx-ship-a": 3, "auditx-ship-b": 1 });
    await a.close();
    for (let i = 150; i < 180; i++) audit.log(`entry ${i}`);
    await eventually(() => b.stats().shipped === 30, 30_000, "the standby to take over");
    expect(b.stats().replayed).toBe(0);
    expect(await connections()).toEqual({ "auditx-ship-b": 3 });
    await expectStoredExactlyOnce(client, journalIds(dir).ids);
  });

  it("auditx ship sends several folders into one store, naming the service of lines without one", async () => {
    const db = await postgres.database();
    const sales = folder();
    const legacy = folder();
    const audit = logger({ logDir: sales, serviceName: "sales-api" });
    for (let i = 0; i < 120; i++) audit.logTransaction(`Invoice ${i}`, { referenceNo: `SI-${i}` });
    await audit.flush();
    writeFileSync(join(legacy, "audit.jsonl"), `${Array.from({ length: 30 }, (_, n) => pythonLine(n)).join("\n")}\n`);
    const { stdout } = await run(
      process.execPath,
      [CLI, "ship", "--log-dir", sales, "--log-dir", legacy, "--service", "legacy-erp", "--once", "--status-every", "0"],
      {
        env: { ...process.env, AUDITX_POSTGRES_URL: db.url },
      },
    );
    expect(stdout).toMatch(/shipped 150 .*lag 0 records, 0\.0 s; backlog 0 B in 0 segments/);
    const client = await db.connect();
    await expectStoredExactlyOnce(client, [...journalIds(sales).ids, ...journalIds(legacy).ids]);
    const { rows } = await client.query("SELECT service, count(*)::int AS n FROM auditx.entries GROUP BY 1 ORDER BY 1");
    expect(rows).toEqual([
      { service: "legacy-erp", n: 30 },
      { service: "sales-api", n: 120 },
    ]);
    const { rows: shippers } = await client.query("SELECT log_dir, shipped::int FROM auditx.shippers ORDER BY shipped");
    expect(shippers).toEqual([
      { log_dir: legacy, shipped: 30 },
      { log_dir: sales, shipped: 120 },
    ]);
    // Run again, each COMMIT waiting for the disk: only what is new, nothing replayed.
    for (let i = 120; i < 130; i++) audit.logTransaction(`Invoice ${i}`, { referenceNo: `SI-${i}` });
    await audit.flush();
    const again = await run(process.execPath, [
      CLI,
      "ship",
      "--log-dir",
      sales,
      "--log-dir",
      legacy,
      "--synchronous-commit",
      "--once",
      "--status-every",
      "0",
      "--postgres",
      db.url,
    ]);
    expect(again.stdout).toMatch(/shipped 10 .*replayed 0/);
    await expectStoredExactlyOnce(client, [...journalIds(sales).ids, ...journalIds(legacy).ids]);
    const { rows: after } = await client.query("SELECT log_dir, shipped::int FROM auditx.shippers ORDER BY shipped");
    expect(after).toEqual([
      { log_dir: legacy, shipped: 30 },
      { log_dir: sales, shipped: 130 },
    ]);
  });
});
