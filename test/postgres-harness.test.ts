/** The PostgreSQL test harness: a real server, a database per test, COPY, roles, restarts, and clear failures. */
import { createServer } from "node:net";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { from as copyFrom } from "pg-copy-streams";
import { describe, expect, it } from "vitest";
import { usePostgres } from "./support/postgres.js";
import { connectClient, findServer } from "./support/postgres-discovery.js";

/** One row of COPY's text format: tab-separated, with backslash, tab, newline and carriage return escaped, \N for NULL. */
function copyLine(values: Array<string | number | null>): string {
  const field = (value: string | number | null) =>
    value === null ? "\\N" : String(value).replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(/\n/g, "\\n").replace(/\r/g, "\\r");
  return values.map(field).join("\t") + "\n";
}

/** A port on 127.0.0.1 where nothing listens. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe("PostgreSQL harness", () => {
  const postgres = usePostgres();
  let previousDatabase = "";

  it("connects to a real server and says which", async () => {
    const db = await postgres.database();
    const client = await db.connect();
    const { rows } = await client.query(
      "SELECT version() AS banner, current_setting('server_version_num')::int AS num, current_database() AS name",
    );
    console.log(`PostgreSQL for the tests: ${postgres.source}, ${rows[0].banner}`);
    expect(rows[0].banner).toMatch(/^PostgreSQL \d+/);
    expect(rows[0].num).toBe(postgres.versionNum);
    expect(postgres.versionNum).toBeGreaterThanOrEqual(130000);
    expect(rows[0].name).toBe(db.name);
    // A run told to use the environment's server must not have quietly used another.
    const mode = process.env.AUDITX_TEST_POSTGRES;
    if (mode === "embedded") expect(postgres.source).toBe("embedded");
    if (mode === "external") expect(postgres.source).not.toBe("embedded");
    if (postgres.source === "embedded") expect(postgres.version).toMatch(/^18\./);
    previousDatabase = db.name;
  });

  it("gives each test fresh databases of its own and drops them after the test", async () => {
    const first = await postgres.database();
    const second = await postgres.database();
    expect(first.name).not.toBe(second.name);
    const a = await first.connect();
    const b = await second.connect();
    await a.query("CREATE TABLE entries (id int PRIMARY KEY)");
    await a.query("INSERT INTO entries VALUES (1)");
    const elsewhere = await b.query("SELECT to_regclass('public.entries') AS found");
    expect(elsewhere.rows[0].found).toBeNull();

    // The previous test's database is gone, though its test left no cleanup of its own.
    expect(previousDatabase).not.toBe("");
    const left = await a.query("SELECT count(*)::int AS n FROM pg_database WHERE datname = $1", [previousDatabase]);
    expect(left.rows[0].n).toBe(0);
  });

  it("loads rows with COPY FROM STDIN through pg-copy-streams, and a bad row loads nothing", async () => {
    const db = await postgres.database();
    const client = await db.connect();
    await client.query("CREATE TABLE entries (id int PRIMARY KEY, actor text, note text, data jsonb)");
    const rows = 20_000;
    function* lines() {
      for (let id = 1; id <= rows; id++) {
        yield copyLine([
          id,
          id % 7 === 0 ? null : `user-${id % 50}`,
          `tab\there\nnew line \\ back-slash ünïcödé ${id}`,
          JSON.stringify({ amount: id * 10 }),
        ]);
      }
    }
    const copy = client.query(copyFrom("COPY entries (id, actor, note, data) FROM STDIN"));
    await pipeline(Readable.from(lines()), copy);
    expect(copy.rowCount).toBe(rows);

    const { rows: counted } = await client.query(
      "SELECT count(*)::int AS n, count(actor)::int AS actors, sum((data->>'amount')::bigint)::text AS total FROM entries",
    );
    expect(counted[0]).toEqual({ n: rows, actors: rows - Math.floor(rows / 7), total: String((10 * rows * (rows + 1)) / 2) });
    const { rows: one } = await client.query("SELECT note FROM entries WHERE id = 42");
    expect(one[0].note).toBe("tab\there\nnew line \\ back-slash ünïcödé 42");

    // A malformed row fails the whole COPY: nothing of it stays, and the connection stays usable.
    const bad = client.query(copyFrom("COPY entries (id, actor, note, data) FROM STDIN"));
    await expect(
      pipeline(Readable.from([copyLine([rows + 1, "a", "b", "{}"]), copyLine(["not a number", "a", "b", "{}"])]), bad),
    ).rejects.toThrow(/invalid input syntax for type integer/);
    const after = await client.query("SELECT count(*)::int AS n FROM entries");
    expect(after.rows[0].n).toBe(rows);
  });

  it("creates a role without privileges that is refused what it was not granted", async () => {
    const db = await postgres.database();
    const owner = await db.connect();
    await owner.query("CREATE TABLE entries (id int PRIMARY KEY, note text)");
    const writer = await postgres.role();
    await owner.query(`GRANT INSERT, SELECT ON entries TO ${writer.name}`);

    const asWriter = await db.connect(writer);
    const me = await asWriter.query(
      "SELECT current_user AS name, rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user",
    );
    expect(me.rows[0]).toEqual({ name: writer.name, rolsuper: false, rolcreatedb: false, rolcreaterole: false });

    await asWriter.query("INSERT INTO entries VALUES (1, 'granted')");
    expect((await asWriter.query("SELECT note FROM entries")).rows).toEqual([{ note: "granted" }]);
    const refusals = [
      "UPDATE entries SET note = 'rewritten'",
      "DELETE FROM entries",
      "TRUNCATE entries",
      "ALTER TABLE entries ADD COLUMN x int",
      `CREATE DATABASE ${writer.name}_own`,
    ];
    for (const sql of refusals) {
      await expect(asWriter.query(sql), sql).rejects.toMatchObject({ code: "42501" });
    }
    expect((await owner.query("SELECT note FROM entries")).rows).toEqual([{ note: "granted" }]);

    // The role's password is what lets it in: a wrong one is refused.
    await expect(connectClient(db.urlFor({ name: writer.name, password: "wrong" }))).rejects.toMatchObject({ code: "28P01" });
  });

  it("cannot restart the server shared by every test file, and says so", async () => {
    expect(postgres.canRestart).toBe(false);
    expect(postgres.cannotRestartBecause).toMatch(/shared server|did not start/);
    await expect(postgres.restart()).rejects.toThrow(/cannot stop or restart PostgreSQL/);
  });
});

describe("PostgreSQL harness, a server the test file may restart", () => {
  const postgres = usePostgres({ restartable: true });

  it("restarts a server it started, keeping data, port and URLs; a server it did not start it refuses to touch", async () => {
    // The capability follows from where the server comes from, and is asserted, not skipped over.
    expect(postgres.canRestart).toBe(postgres.source === "embedded");
    if (!postgres.canRestart) {
      expect(postgres.cannotRestartBecause).toMatch(/did not start/);
      await expect(postgres.restart()).rejects.toThrow(/cannot stop or restart PostgreSQL/);
      return;
    }
    const db = await postgres.database();
    const before = await db.connect();
    await before.query("CREATE TABLE entries (id int PRIMARY KEY)");
    await before.query("INSERT INTO entries SELECT generate_series(1, 1000)");

    await postgres.restart();
    // The restart cut the old connection: its queries fail instead of hanging.
    await expect(before.query("SELECT 1")).rejects.toThrow();
    const after = await db.connect();
    expect((await after.query("SELECT count(*)::int AS n FROM entries")).rows[0].n).toBe(1000);

    // A crash (immediate stop) loses no committed row: the next start recovers from the WAL.
    await after.query("INSERT INTO entries SELECT generate_series(1001, 1500)");
    await postgres.stop("immediate");
    await expect(connectClient(db.url, 2000)).rejects.toThrow(/ECONNREFUSED/);
    await postgres.start();
    const recovered = await db.connect();
    expect((await recovered.query("SELECT count(*)::int AS n FROM entries")).rows[0].n).toBe(1500);
  });

  it("leaves the server up for the cleanup even when a test ends with it stopped", async () => {
    expect(postgres.canRestart).toBe(postgres.source === "embedded");
    if (postgres.canRestart) {
      await postgres.database();
      await postgres.stop();
    }
  });
});

describe("PostgreSQL server discovery", () => {
  const postgres = usePostgres();

  it("fails with a clear message, password hidden, when the named server does not answer and the environment's server is required", async () => {
    const url = `postgresql://auditor:s3cret@127.0.0.1:${await closedPort()}/audit`;
    const notices: string[] = [];
    const failure = findServer({ DATABASE_URL: url, AUDITX_TEST_POSTGRES: "external" }, (message) => notices.push(message));
    await expect(failure).rejects.toThrow(
      /AUDITX_TEST_POSTGRES=external, but no PostgreSQL server could be used:\n {2}DATABASE_URL \(postgresql:\/\/auditor:\*\*\*@127\.0\.0\.1/,
    );
    await expect(failure).rejects.not.toThrow(/s3cret/);
    await expect(failure).rejects.toThrow(/ECONNREFUSED/);
  });

  it("passes over a server that does not answer with a notice, unless told otherwise", async () => {
    const url = `postgresql://auditor:s3cret@127.0.0.1:${await closedPort()}/audit`;
    const notices: string[] = [];
    const found = await findServer({ DATABASE_URL: url }, (message) => notices.push(message));
    // Nothing answers on this machine's default port for this account either: the caller starts an embedded server.
    if (found === undefined)
      expect(notices.join("\n")).toMatch(/using an embedded PostgreSQL instead of:\n {2}DATABASE_URL .*ECONNREFUSED/);
    else expect(notices.join("\n")).toMatch(/using local server .* instead of:\n {2}DATABASE_URL/);
    expect(notices.join("\n")).not.toMatch(/s3cret/);
    expect(await findServer({ DATABASE_URL: url, AUDITX_TEST_POSTGRES: "embedded" }, () => undefined)).toBeUndefined();
  });

  it("uses a named server that answers, and refuses one whose role may not create databases and roles", async () => {
    const found = await findServer({ DATABASE_URL: postgres.adminUrl, AUDITX_TEST_POSTGRES: "external" }, () => undefined);
    expect(found).toEqual({
      source: "DATABASE_URL",
      adminUrl: postgres.adminUrl,
      version: postgres.version,
      versionNum: postgres.versionNum,
    });

    const db = await postgres.database();
    const plain = await postgres.role();
    await expect(findServer({ DATABASE_URL: db.urlFor(plain) }, () => undefined)).rejects.toThrow(
      /DATABASE_URL \(.*:\*\*\*@.*\) answers, but the tests need CREATEDB, CREATEROLE: use a superuser's URL/,
    );
  });

  it("rejects an unknown AUDITX_TEST_POSTGRES", async () => {
    await expect(findServer({ AUDITX_TEST_POSTGRES: "mock" }, () => undefined)).rejects.toThrow(/expected auto, external or embedded/);
  });
});
