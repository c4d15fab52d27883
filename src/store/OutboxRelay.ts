/**
 * Moves committed outbox rows (written by the ORM adapters in atomic mode,
 * in the same transaction as the change) into the trail through the normal
 * logger — journal, OTLP and every other sink — and deletes them.
 *
 * Exactly once by entry id: each row carries its entry's id and time, so the
 * trail line has the id the change got when it happened. A batch is locked
 * (FOR UPDATE SKIP LOCKED on PostgreSQL, so several relays share one table),
 * written, then deleted in the same database transaction. Rows whose line was
 * written but whose delete did not commit (the database went away) are
 * remembered and only deleted on the next pass; after a crash in that
 * window, a restarted relay looks for its first batch's ids in the trail
 * segments written since those rows were made, and skips the ones it finds.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { gunzipSync } from "node:zlib";
import type { AuditLogger } from "../api/AuditLogger.js";
import { audit } from "../api/configure.js";
import type { ChangeOptions } from "../api/options.js";
import { listTrailSegments } from "../trail/segments.js";

type Row = Record<string, unknown>;

/** The relay's access to the application's database. */
export interface OutboxConnection {
  readonly dialect: "postgres" | "sqlite";
  /** Runs `work` in one transaction; `query` returns the rows of a statement. */
  transaction<T>(work: (query: (sql: string, params?: unknown[]) => Promise<Row[]>) => Promise<T>): Promise<T>;
}

/** A node-postgres Pool (or anything with its `connect()`). */
export interface PgPoolLike {
  connect(): Promise<{ query(sql: string, params?: unknown[]): Promise<{ rows: Row[] }>; release(error?: Error | boolean): void }>;
}

/** A better-sqlite3 Database (or anything with its `prepare()` and `transaction()`). */
export interface SqliteDatabaseLike {
  prepare(sql: string): { all(...params: unknown[]): unknown[]; run(...params: unknown[]): unknown; reader: boolean };
  exec(sql: string): unknown;
}

/** The outbox of a PostgreSQL database reached through a node-postgres Pool. */
export function pgOutbox(pool: PgPoolLike): OutboxConnection {
  return {
    dialect: "postgres",
    async transaction(work) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query("BEGIN");
        const result = await work(async (sql, params) => (await client.query(sql, params)).rows);
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch((rollbackError: Error) => {
          broken = rollbackError;
        });
        throw error;
      } finally {
        client.release(broken);
      }
    },
  };
}

/** The outbox of a SQLite database opened with better-sqlite3. */
export function sqliteOutbox(db: SqliteDatabaseLike): OutboxConnection {
  return {
    dialect: "sqlite",
    async transaction(work) {
      // IMMEDIATE: the write lock first, so no other writer slips in between the read and the delete.
      db.exec("BEGIN IMMEDIATE");
      try {
        const result = await work(async (sql, params = []) => {
          const statement = db.prepare(sql);
          if (statement.reader) return statement.all(...params) as Row[];
          statement.run(...params);
          return [];
        });
        db.exec("COMMIT");
        return result;
      } catch (error) {
        db.exec("ROLLBACK");
        throw error;
      }
    },
  };
}

export interface OutboxRelayOptions {
  connection: OutboxConnection;
  /** The logger entries are written through (default: the global `audit`). */
  logger?: AuditLogger;
  /** Default "auditx_outbox". */
  table?: string;
  /** Rows per pass (default 500). */
  batchSize?: number;
  /** Pause between passes when the outbox is empty, in ms (default 1000). */
  intervalMs?: number;
  /** Called when a pass fails (the trail or the database is down); the rows stay and are retried. */
  onError?: (error: unknown) => void;
}

export interface OutboxRelayStats {
  relayed: number;
  skippedAsDuplicates: number;
  failedPasses: number;
  lastError?: string;
}

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/;
const STAMP = /\.(\d{8}T\d{6}\.\d{3}Z)\.[0-9a-f]{6}\./;

export class OutboxRelay {
  private readonly connection: OutboxConnection;
  private readonly options: OutboxRelayOptions;
  private readonly table: string;
  private readonly batchSize: number;
  /** Ids whose line is in the trail but whose row's delete has not committed yet. */
  private readonly written = new Set<string>();
  private recovered = false;
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private stopped = true;
  readonly stats: OutboxRelayStats = { relayed: 0, skippedAsDuplicates: 0, failedPasses: 0 };

  constructor(options: OutboxRelayOptions) {
    this.options = options;
    this.connection = options.connection;
    this.table = options.table ?? "auditx_outbox";
    if (!TABLE_NAME.test(this.table)) throw new TypeError(`OutboxRelay: table must be a plain [schema.]table name, got ${this.table}`);
    this.batchSize = options.batchSize ?? 500;
  }

  private get logger(): AuditLogger {
    return this.options.logger ?? audit;
  }

  /** Relays continuously: a pass, then the next at once while rows were found, else after intervalMs. */
  start(): this {
    if (!this.stopped) return this;
    this.stopped = false;
    const loop = async () => {
      if (this.stopped) return;
      let moved = 0;
      try {
        moved = await this.relayOnce();
      } catch {
        // Counted and reported in relayOnce; the rows stay for the next pass.
      }
      if (!this.stopped) {
        this.timer = setTimeout(
          () => {
            this.running = loop();
          },
          moved > 0 ? 0 : (this.options.intervalMs ?? 1000),
        );
        this.timer.unref();
      }
    };
    this.running = loop();
    return this;
  }

  /** Stops after the pass under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Relays until the outbox is empty; resolves to the number of entries moved. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const moved = await this.relayOnce();
      total += moved;
      if (moved < this.batchSize) return total;
    }
  }

  /** One pass: up to batchSize rows, oldest first. Resolves to the number of rows moved. */
  async relayOnce(): Promise<number> {
    const table = this.table
      .split(".")
      .map((part) => `"${part}"`)
      .join(".");
    const postgres = this.connection.dialect === "postgres";
    try {
      return await this.connection
        .transaction(async (query) => {
          const rows = await query(
            postgres
              ? `SELECT seq, id::text AS id, created_at, change FROM ${table} ORDER BY seq LIMIT ${this.batchSize} FOR UPDATE SKIP LOCKED`
              : `SELECT seq, id, created_at, change FROM ${table} ORDER BY seq LIMIT ${this.batchSize}`,
          );
          if (rows.length === 0) return 0;
          const inTrail = this.recovered ? new Set<string>() : this.findInTrail(rows);
          this.recovered = true;
          const done: unknown[] = [];
          let failure: unknown;
          for (const row of rows) {
            const id = String(row.id);
            if (!this.written.has(id)) {
              if (inTrail.has(id)) this.stats.skippedAsDuplicates++;
              else {
                const change = (typeof row.change === "string" ? JSON.parse(row.change) : row.change) as {
                  description: string;
                  options: ChangeOptions;
                };
                try {
                  this.logger.relayChange(change.description, change.options, { id, at: String(row.created_at), via: "outbox" });
                } catch (error) {
                  failure = error;
                  break;
                }
              }
              this.written.add(id);
            }
            done.push(row.seq);
          }
          if (done.length > 0) {
            const placeholders = done.map((_, i) => (postgres ? `$${i + 1}` : "?")).join(", ");
            await query(`DELETE FROM ${table} WHERE seq IN (${placeholders})`, done);
          }
          if (failure !== undefined) throw failure;
          return done.length;
        })
        .then((moved) => {
          // Committed: those rows are gone, their ids need no remembering.
          this.written.clear();
          this.stats.relayed += moved;
          return moved;
        });
    } catch (error) {
      this.stats.failedPasses++;
      this.stats.lastError = error instanceof Error ? error.message : String(error);
      try {
        this.options.onError?.(error);
      } catch {
        // A failing report hook must not stop the relay.
      }
      throw error;
    }
  }

  /**
   * Ids of `rows` already in the trail: lines a relay wrote before it died
   * without deleting their rows. Only segments written since the oldest row
   * was made are read.
   */
  private findInTrail(rows: Row[]): Set<string> {
    const found = new Set<string>();
    const oldest = Math.min(...rows.map((row) => new Date(row.created_at as string).getTime()));
    const wanted = rows.map((row) => String(row.id));
    let segments: ReturnType<typeof listTrailSegments>;
    try {
      segments = listTrailSegments(this.logger.logDir, "audit.jsonl");
    } catch {
      return found;
    }
    for (const segment of segments.reverse()) {
      const stamp = STAMP.exec(basename(segment.name))?.[1];
      if (stamp && stampMillis(stamp) < oldest) break;
      let text: string;
      try {
        const bytes = readFileSync(segment.path);
        text = (segment.compressed ? gunzipSync(bytes) : bytes).toString("utf8");
      } catch {
        continue;
      }
      for (const id of wanted) if (!found.has(id) && text.includes(`"id":"${id}"`)) found.add(id);
      if (found.size === wanted.length) break;
    }
    return found;
  }
}

function stampMillis(stamp: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z$/.exec(stamp);
  return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], +m[7]) : 0;
}
