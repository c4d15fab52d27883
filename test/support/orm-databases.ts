/** Databases for the ORM adapter tests: a fresh PostgreSQL database (harness) or a SQLite file, with the scenario schema. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
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

export async function scenarioDatabase(dialect: Dialect, postgres?: PostgresHarness): Promise<ScenarioDatabase> {
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

async function relay(connection: OutboxConnection, logger: AuditLogger, onError?: (error: unknown) => void): Promise<number> {
  const relay = new OutboxRelay({ connection, logger, onError });
  try {
    return await relay.drain();
  } catch (error) {
    if (onError) return 0;
    throw error;
  }
}
