/** Databases for the ORM adapter tests: a fresh PostgreSQL database (harness) or a SQLite file, with the scenario schema. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import sqlite3 from "sqlite3";
import type { AuditLogger } from "../../src/index.js";
import { createLogger, createOutboxTableSql, type OutboxConnection, OutboxRelay, pgOutbox, sqliteOutbox } from "../../src/index.js";
import { type CaptureSettings, type Dialect, schemaSql } from "./orm-scenarios.js";
import type { PostgresHarness } from "./postgres.js";

export interface ScenarioDatabase {
  dialect: Dialect;
  /** PostgreSQL URL, or the SQLite file's path. */
  url: string;
  /** Runs SQL on a connection of its own (`$1` parameters on PostgreSQL, `?` on SQLite), as another writer would. */
  query(sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  /** Rows in the outbox. */
  outboxRows(): Promise<number>;
  /** Moves the outbox into the trail through `logger`. */
  relay(logger: AuditLogger, onError?: (error: unknown) => void): Promise<number>;
  relayFailing(onError: (error: unknown) => void): Promise<void>;
  close(): Promise<void>;
}

/** A logger whose trail can no longer be written (it is shut down): every write fails. */
export async function failingLogger(): Promise<AuditLogger> {
  const dir = mkdtempSync(join(tmpdir(), "auditx-orm-failing-"));
  const logger = createLogger({ logDir: dir, console: false });
  await logger.shutdown();
  rmSync(dir, { recursive: true, force: true });
  return logger;
}

/** The adapter options a scenario's settings call for. */
export async function captureOptions(settings: CaptureSettings) {
  const failing = settings.failing;
  return {
    logger: failing && !settings.outbox ? await failingLogger() : settings.logger,
    outbox: settings.outbox ? { table: failing === "fail" ? "auditx_missing" : "auditx_outbox" } : undefined,
    onFailure: failing,
    onError: settings.onError,
    bulkLimit: 5,
  };
}

/**
 * A fresh scenario database. `sqliteLibrary` names the SQLite library the ORM under test uses:
 * two copies of SQLite in one process must not open one file (closing a file in one drops the
 * POSIX locks the other holds, and WAL files get corrupted), so the helper's own connection uses
 * the same library.
 */
export async function scenarioDatabase(
  dialect: Dialect,
  postgres?: PostgresHarness,
  sqliteLibrary: "better-sqlite3" | "sqlite3" = "better-sqlite3",
): Promise<ScenarioDatabase> {
  const statements = [...schemaSql(dialect), createOutboxTableSql(dialect)];
  if (dialect === "postgres") {
    const db = await postgres!.database();
    const client = await db.connect();
    for (const sql of statements) await client.query(sql);
    const pool = new pg.Pool({ connectionString: db.url, max: 2 });
    pool.on("error", () => undefined);
    const connection = pgOutbox(pool);
    return {
      dialect,
      url: db.url,
      query: async (sql, params) => (await client.query(sql, params)).rows,
      outboxRows: async () => Number((await client.query("SELECT count(*) AS n FROM auditx_outbox")).rows[0].n),
      relay: (logger, onError) => relay(connection, logger, onError),
      relayFailing: async (onError) => void (await relay(connection, await failingLogger(), onError)),
      close: () => pool.end(),
    };
  }
  const dir = mkdtempSync(join(tmpdir(), "auditx-orm-sqlite-"));
  const file = join(dir, "erp.db");
  if (sqliteLibrary === "sqlite3") return sqlite3Database(file, statements, () => rmSync(dir, { recursive: true, force: true }));
  const sqlite = new Database(file);
  sqlite.pragma("journal_mode = WAL");
  for (const sql of statements) sqlite.exec(sql);
  const connection = sqliteOutbox(sqlite);
  return {
    dialect,
    url: file,
    query: async (sql, params = []) => {
      const statement = sqlite.prepare(sql);
      if (statement.reader) return statement.all(...params) as Record<string, unknown>[];
      statement.run(...params);
      return [];
    },
    outboxRows: async () => Number((sqlite.prepare("SELECT count(*) AS n FROM auditx_outbox").get() as { n: number }).n),
    relay: (logger, onError) => relay(connection, logger, onError),
    relayFailing: async (onError) => void (await relay(connection, await failingLogger(), onError)),
    close: async () => {
      sqlite.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The scenario database through node-sqlite3 (the library Sequelize uses). */
async function sqlite3Database(file: string, statements: string[], remove: () => void): Promise<ScenarioDatabase> {
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const opened = new sqlite3.Database(file, (error) => (error ? reject(error) : resolve(opened)));
  });
  db.configure("busyTimeout", 10_000);
  const all = (sql: string, params: unknown[] = []) =>
    new Promise<Record<string, unknown>[]>((resolve, reject) =>
      db.all(sql, params, (error, rows) => (error ? reject(error) : resolve(rows as Record<string, unknown>[]))),
    );
  const run = (sql: string, params: unknown[] = []) =>
    new Promise<void>((resolve, reject) => db.run(sql, params, (error) => (error ? reject(error) : resolve())));
  await run("PRAGMA journal_mode = WAL");
  for (const sql of statements) await run(sql);
  const query = async (sql: string, params: unknown[] = []) => {
    if (/^\s*(select|pragma)/i.test(sql)) return all(sql, params);
    await run(sql, params);
    return [];
  };
  const connection: OutboxConnection = {
    dialect: "sqlite",
    async transaction(work) {
      await run("BEGIN IMMEDIATE");
      try {
        const result = await work(query);
        await run("COMMIT");
        return result;
      } catch (error) {
        await run("ROLLBACK");
        throw error;
      }
    },
  };
  return {
    dialect: "sqlite",
    url: file,
    query,
    outboxRows: async () => Number((await all("SELECT count(*) AS n FROM auditx_outbox"))[0].n),
    relay: (logger, onError) => relay(connection, logger, onError),
    relayFailing: async (onError) => void (await relay(connection, await failingLogger(), onError)),
    close: async () => {
      await new Promise<void>((resolve) => db.close(() => resolve()));
      remove();
    },
  };
}

async function relay(connection: OutboxConnection, logger: AuditLogger, onError?: (error: unknown) => void): Promise<number> {
  const relay = new OutboxRelay({ connection, logger, onError });
  try {
    return await relay.drain();
  } catch (error) {
    if (onError) return 0;
    throw error;
  }
}
