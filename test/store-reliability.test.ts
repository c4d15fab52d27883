/**
 * The store under failure, against a real PostgreSQL: four services writing
 * (two hosts' folders, rotating), two `auditx ship` sidecars, PostgreSQL
 * restarted mid-stream, a shipper killed with SIGKILL in the middle of a
 * batch, the database read-only and full for a while. Afterwards the table
 * holds every journal line exactly once, and the store's totals equal the
 * journal's. The writers and shippers run the compiled code (npm run build).
 */
import { execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import type pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { PostgresTrailSource } from "../src/viewer/PostgresTrailSource.js";
import { DIST_INDEX, FIXTURES, ROOT, type RunningChild, spawnFixture, tempDir } from "./support/core-trail.js";
import { eventually } from "./support/eventually.js";
import { usePostgres } from "./support/postgres.js";
import { connectClient } from "./support/postgres-discovery.js";
import { countedTotal, expectStoredExactlyOnce, journalIds } from "./support/store.js";
import { TcpProxy } from "./support/tcp-proxy.js";

const CLI = join(ROOT, "dist", "cli", "main.js");
const children: RunningChild[] = [];
const cleanups: Array<() => unknown> = [];

afterEach(async () => {
  for (const child of children.splice(0)) child.stop();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function folder(): string {
  const temp = tempDir("auditx-reliable-");
  cleanups.push(temp.cleanup);
  return temp.dir;
}

function writer(logDir: string, tag: string, count: number, rate: number, hostname: string): RunningChild {
  const child = spawnFixture("store-writer.mjs", [
    JSON.stringify({ logDir, tag, count, rate, maxFileBytes: 256 * 1024, serviceName: `svc-${tag}`, hostname }),
  ]);
  children.push(child);
  return child;
}

/** `auditx ship` as a separate process (a sidecar), its status as JSON lines on stdout. */
function sidecar(name: string, url: string, dirs: string[], extra: string[] = []): RunningChild {
  const args = [
    CLI,
    "ship",
    ...dirs.flatMap((dir) => ["--log-dir", dir]),
    "--name",
    name,
    "--json",
    "--status-every",
    "1",
    "--batch-rows",
    "500",
    "--poll-ms",
    "50",
    ...extra,
  ];
  const child = spawnFixture(relative(FIXTURES, CLI), args.slice(1), { AUDITX_POSTGRES_URL: url });
  children.push(child);
  return child;
}

async function storedCount(client: pg.Client): Promise<number> {
  try {
    return (await client.query("SELECT count(*)::int AS n FROM auditx.entries")).rows[0].n;
  } catch (error) {
    if ((error as { code?: string }).code === "42P01") return 0;
    throw error;
  }
}

/** The store holds every line of these folders once, and its totals say so. */
async function expectComplete(client: pg.Client, url: string, dirs: string[]): Promise<void> {
  const expected = dirs.flatMap((dir) => journalIds(dir).ids);
  try {
    await eventually(
      async () => (await storedCount(client)) >= expected.length,
      120_000,
      `all ${expected.length} entries in the store`,
      200,
    );
  } catch (error) {
    // What the sidecars said, to tell why.
    const said = children
      .filter((child) => child.child.spawnargs.includes("ship"))
      .map(
        (child) =>
          `${child.child.spawnargs.slice(-12).join(" ")}\n${child.stderr.slice(-2000)}\n${child.stdout.split("\n").slice(-3).join("\n")}`,
      );
    throw new Error(`${(error as Error).message}; ${await storedCount(client)} stored\n${said.join("\n---\n")}`);
  }
  await expectStoredExactlyOnce(client, expected);
  expect(await countedTotal(client)).toBe(expected.length);
  // What the viewer shows: its totals equal the journal's, for the whole trail and for the security trail.
  const viewer = new PostgresTrailSource({ postgres: url, live: false });
  try {
    const security = dirs.flatMap((dir) => journalIds(dir, "security.jsonl").ids).length;
    expect((await viewer.count("audit", {})).total).toBe(expected.length);
    expect((await viewer.stats("audit")).total).toBe(expected.length);
    expect((await viewer.query("security", {}, { offset: 0, limit: 1 })).total).toBe(security);
  } finally {
    await viewer.close();
  }
  // No line was misread: the cursors in the folders count no skipped line (the writers wrote none malformed).
  for (const dir of dirs) {
    const cursor = readdirSync(dir).find((name) => name.includes(".shipped-")) as string;
    expect(JSON.parse(readFileSync(join(dir, cursor), "utf8")).skipped).toBe(0);
  }
}

describe("the store under failure", () => {
  const postgres = usePostgres({ restartable: true });

  it("4 writers, 2 shippers: PostgreSQL restarted mid-stream and a shipper killed mid-batch lose and duplicate nothing", {
    timeout: 300_000,
  }, async () => {
    const db = await postgres.database();
    const admin = await db.connect();
    const hostA = folder();
    const hostB = folder();
    // Both sidecars are given both folders: each folder is shipped by one of them at a time, the other stands by.
    const first = sidecar("one", db.url, [hostA, hostB]);
    const second = sidecar("two", db.url, [hostA, hostB]);
    const writers = [
      writer(hostA, "a1", 4000, 800, "host-a"),
      writer(hostA, "a2", 4000, 800, "host-a"),
      writer(hostB, "b1", 4000, 800, "host-b"),
      writer(hostB, "b2", 4000, 800, "host-b"),
    ];
    await eventually(async () => (await storedCount(admin)) > 1000, 60_000, "shipping under way", 100);

    // PostgreSQL goes away mid-stream and comes back (a real restart when the tests own the server).
    if (postgres.canRestart) {
      await postgres.restart("immediate");
    } else {
      expect(postgres.cannotRestartBecause).toMatch(/did not start/);
      // A server the tests may not restart: every shipper session is cut, as a restart would.
      await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'auditx-ship%' AND datname = $1",
        [db.name],
      );
    }
    const afterRestart = await db.connect();

    // A shipper killed with SIGKILL while its COPY is running: its transaction dies with its session.
    const victim = await eventually(
      async () => {
        const { rows } = await afterRestart.query(
          "SELECT application_name FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'auditx-ship%' AND state = 'active' AND query LIKE 'COPY%'",
          [db.name],
        );
        return rows[0]?.application_name as string | undefined;
      },
      60_000,
      "a shipper in the middle of a COPY",
      5,
    );
    const killed = victim === "auditx-ship one" ? first : second;
    killed.child.kill("SIGKILL");
    expect((await killed.exited).signal).toBe("SIGKILL");
    // The sidecar is restarted, as a supervisor would.
    sidecar(victim === "auditx-ship one" ? "one-again" : "two-again", db.url, [hostA, hostB]);

    const results = await Promise.all(writers.map((child) => child.exited));
    expect(results.map((result) => result.code)).toEqual([0, 0, 0, 0]);
    // Rotation happened: the journal is more than the live files.
    expect(journalIds(hostA).ids.length).toBe(8000);
    expect(readdirSync(hostA).some((name) => /^audit\.\d{8}T.*\.jsonl(\.gz)?$/.test(name))).toBe(true);
    await expectComplete(afterRestart, db.url, [hostA, hostB]);
    const { rows } = await afterRestart.query("SELECT service, hostname, count(*)::int AS n FROM auditx.entries GROUP BY 1, 2 ORDER BY 1");
    expect(rows).toEqual([
      { service: "svc-a1", hostname: "host-a", n: 4000 },
      { service: "svc-a2", hostname: "host-a", n: 4000 },
      { service: "svc-b1", hostname: "host-b", n: 4000 },
      { service: "svc-b2", hostname: "host-b", n: 4000 },
    ]);
  });

  it("a read-only database holds the lines back until it takes writes again, and loses none", { timeout: 180_000 }, async () => {
    const db = await postgres.database();
    const admin = await db.connect();
    const dir = folder();
    const url = new URL(db.url);
    // Through a relay, so the shipper's sessions can be cut when the database changes mode.
    const proxy = await new TcpProxy(url.hostname, Number(url.port)).open();
    cleanups.push(() => proxy.close());
    const ship = sidecar("ro", proxy.url(db.url), [dir]);
    const writing = writer(dir, "r1", 600, 1000, "host-r");
    await eventually(async () => (await storedCount(admin)) > 0, 60_000, "shipping under way", 100);

    await admin.query(`ALTER DATABASE ${admin.escapeIdentifier(db.name)} SET default_transaction_read_only = on`);
    await proxy.cut();
    await proxy.open();
    const frozen = await eventually(
      () => /read-only transaction/.test(ship.stderr) && ship.stdout,
      60_000,
      "the shipper to meet the read-only database",
      50,
    );
    expect(frozen).toBeTruthy();
    const heldBack = await storedCount(admin);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await storedCount(admin)).toBe(heldBack);

    await admin.query(`ALTER DATABASE ${admin.escapeIdentifier(db.name)} RESET default_transaction_read_only`);
    expect((await writing.exited).code).toBe(0);
    await expectComplete(admin, db.url, [dir]);
  });

  it("a full disk holds the lines back until there is room again, and loses none", { timeout: 180_000 }, async () => {
    // A tablespace on a small tmpfs fills up for real. That needs a server the tests own (its files on this
    // machine) and the right to mount (root, outside a container that forbids it): without them the test says
    // which is missing, and the read-only case above is the store refusing writes for a while.
    if (!postgres.canRestart) {
      expect(postgres.cannotRestartBecause).toMatch(/did not start/);
      return;
    }
    const mountPoint = mkdtempSync(join(tmpdir(), "auditx-full-"));
    cleanups.push(() => rmSync(mountPoint, { recursive: true, force: true }));
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=3m,mode=0700", "tmpfs", mountPoint], { stdio: "pipe" });
    } catch (error) {
      expect(String((error as { stderr?: Buffer }).stderr ?? error)).toMatch(
        /permission denied|must be superuser|not permitted|only root/i,
      );
      return;
    }
    cleanups.push(() => execFileSync("umount", ["-l", mountPoint]));
    // The tablespace's folder belongs to the account the server runs as (the owner of its data folder).
    const probe = await connectClient(postgres.adminUrl);
    const dataDirectory = (await probe.query("SHOW data_directory")).rows[0].data_directory as string;
    await probe.end();
    const { uid, gid } = statSync(dataDirectory);
    chownSync(mountPoint, uid, gid);
    const space = join(mountPoint, "space");
    mkdirSync(space);
    chownSync(space, uid, gid);

    const db = await postgres.database();
    const admin = await db.connect();
    const tablespace = `${db.name}_full`;
    await admin.query(`CREATE TABLESPACE ${tablespace} LOCATION '${space}'`);
    cleanups.push(async () => {
      // The database goes first (its tables are in the tablespace), then the tablespace, then the mount.
      const cleanup = await connectClient(postgres.adminUrl);
      try {
        await cleanup.query(`DROP DATABASE IF EXISTS ${cleanup.escapeIdentifier(db.name)} WITH (FORCE)`);
        await cleanup.query(`DROP TABLESPACE IF EXISTS ${tablespace}`);
      } finally {
        await cleanup.end();
      }
    });
    // The store, with this month's entries (and their indexes) on the small tablespace.
    execFileSync(process.execPath, [CLI, "pg", "init", "--url", db.url]);
    const { rows } = await admin.query(
      "SELECT 'auditx.' || c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'auditx.entries'::regclass",
    );
    for (const { name } of rows) {
      await admin.query(`ALTER TABLE ${name} SET TABLESPACE ${tablespace}`);
      const { rows: indexes } = await admin.query(
        "SELECT indexrelid::regclass::text AS index FROM pg_index WHERE indrelid = $1::regclass",
        [name],
      );
      for (const { index } of indexes) await admin.query(`ALTER INDEX ${index} SET TABLESPACE ${tablespace}`);
    }

    const dir = folder();
    const ship = sidecar("full", db.url, [dir]);
    const writing = writer(dir, "f1", 6000, 3000, "host-f");
    await eventually(() => /No space left on device|could not extend/.test(ship.stderr), 120_000, "the disk to fill", 100);
    const heldBack = await storedCount(admin);
    expect(heldBack).toBeLessThan(6000);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await storedCount(admin)).toBe(heldBack);

    execFileSync("mount", ["-o", "remount,size=256m", mountPoint]);
    expect((await writing.exited).code).toBe(0);
    await expectComplete(admin, db.url, [dir]);
    expect(existsSync(DIST_INDEX)).toBe(true);
  });
});
