/**
 * Writes batches of COPY rows into the store over one connection: each batch
 * one transaction (COPY straight into the entries, or, when some may be there
 * already, through a temporary table and ON CONFLICT DO NOTHING), the ids
 * announced with NOTIFY at commit, monthly partitions made before they are
 * needed, and rows PostgreSQL refuses as data isolated from their batch.
 */
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { COPY_COLUMN_LIST, columnDefinitions } from "./columns.js";
import { sqlState } from "./connect.js";
import type { CopyRow } from "./copyRow.js";
import { copyStatement, type StoreNames } from "./schema.js";

/** Ids per NOTIFY payload (32 hex digits and a comma each, under PostgreSQL's 8000-byte limit). */
const NOTIFY_IDS_PER_PAYLOAD = 240;

export interface WrittenBatch {
  /** Rows the batch added. */
  inserted: number;
  /** Rows the store had already (a replay after a crash or a lost cursor). */
  replayed: number;
  /** Rows PostgreSQL refused for their data, with why. */
  refused: Array<{ row: CopyRow; error: Error }>;
  /**
   * Committed without waiting for the disk: the WAL position past the
   * batch's commits, which the server's flush position must reach before
   * the batch is durable (null: the commits waited, or nothing was committed).
   */
  flushNeeded: bigint | null;
}

/** A WAL position as PostgreSQL writes it (`16/B374D848`), as a number. */
export function walPosition(text: string): bigint {
  const [high, low] = text.split("/");
  return (BigInt(`0x${high}`) << 32n) | BigInt(`0x${low}`);
}

/** Errors about the rows themselves (bad data, a value PostgreSQL cannot take): retrying cannot help, isolating the row can. */
export function isDataError(error: unknown): boolean {
  const state = sqlState(error);
  if (!state) return false;
  const errorClass = state.slice(0, 2);
  return errorClass === "22" || (errorClass === "23" && state !== "23505") || errorClass === "54";
}

/** A month as one number (year × 12 + month, UTC). */
export function monthOf(millis: number): number {
  const date = new Date(millis);
  return date.getUTCFullYear() * 12 + date.getUTCMonth();
}

export class BatchWriter {
  private stagingReady = false;

  constructor(
    private readonly client: pg.Client,
    private readonly names: StoreNames,
    private readonly notify: boolean,
    /** Months known to have their partition (shared by the writers of one shipper). */
    private readonly knownMonths = new Set<number>(),
    /** Commit without waiting for the WAL to reach the disk; the caller waits for durability (WrittenBatch.flushNeeded). */
    private readonly asyncCommit = false,
  ) {}

  /** Stores the rows; throws when the connection or the server fails (nothing of the batch is then stored). */
  async write(rows: CopyRow[]): Promise<WrittenBatch> {
    const written: WrittenBatch = { inserted: 0, replayed: 0, refused: [], flushNeeded: null };
    if (rows.length === 0) return written;
    await this.ensurePartitions(rows.map((row) => row.ts));
    try {
      written.inserted = await this.transaction(rows, false, written);
    } catch (error) {
      if (sqlState(error) === "23505") written.inserted = await this.transaction(rows, true, written);
      else if (isDataError(error)) written.inserted = await this.isolate(rows, written);
      else throw error;
    }
    return written;
  }

  /** Makes the monthly partitions of these times that this writer has not seen yet (the store's function: a writer may add a month, never drop one). */
  async ensurePartitions(times: number[]): Promise<void> {
    const missing = new Map<number, number>();
    for (const time of times) {
      const month = monthOf(time);
      if (!this.knownMonths.has(month) && !missing.has(month)) missing.set(month, time);
    }
    if (missing.size === 0) return;
    await this.client.query(`SELECT ${this.names.of("ensure_partitions")}($1::timestamptz[])`, [
      [...missing.values()].map((time) => new Date(time).toISOString()),
    ]);
    for (const month of missing.keys()) this.knownMonths.add(month);
  }

  /** One transaction: COPY the rows (through the staging table with `dedupe`), announce their ids, COMMIT. Returns the rows inserted. */
  private async transaction(rows: CopyRow[], dedupe: boolean, written: WrittenBatch): Promise<number> {
    // Made outside the batch's transaction, which a refused row rolls back.
    if (dedupe) await this.prepareStaging();
    await this.client.query(this.asyncCommit ? "BEGIN; SET LOCAL synchronous_commit = off" : "BEGIN");
    try {
      let inserted: number;
      if (dedupe) {
        await this.copy(copyStatement("pg_temp.auditx_staging"), rows);
        const result = await this.client.query(
          `INSERT INTO ${this.names.entries} (${COPY_COLUMN_LIST}) SELECT ${COPY_COLUMN_LIST} FROM pg_temp.auditx_staging ON CONFLICT DO NOTHING`,
        );
        inserted = result.rowCount ?? 0;
      } else {
        inserted = await this.copy(copyStatement(this.names.entries), rows);
      }
      if (this.notify && inserted > 0) await this.announce(rows);
      if (this.asyncCommit) {
        // The position read after COMMIT is past its commit record.
        const results = (await this.client.query("COMMIT; SELECT pg_current_wal_insert_lsn()::text AS lsn")) as unknown as pg.QueryResult[];
        const position = walPosition(results[1]?.rows[0].lsn as string);
        if (written.flushNeeded === null || position > written.flushNeeded) written.flushNeeded = position;
      } else {
        await this.client.query("COMMIT");
      }
      written.replayed += rows.length - inserted;
      return inserted;
    } catch (error) {
      await this.client.query("ROLLBACK").catch(() => undefined);
      throw error;
    }
  }

  private copy(statement: string, rows: CopyRow[]): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const stream = this.client.query(copyFrom(statement));
      stream.on("error", reject);
      stream.on("finish", () => resolve(stream.rowCount));
      let text = "";
      for (const row of rows) text += row.text;
      stream.end(text);
    });
  }

  /** The session's staging table for replays (temporary: nothing to clean up, no privilege on the schema needed). */
  private async prepareStaging(): Promise<void> {
    if (this.stagingReady) return;
    const columns = columnDefinitions()
      .filter((definition) => !/GENERATED|DEFAULT now\(\)/.test(definition))
      .map((definition) => definition.replace(/ NOT NULL/g, ""));
    await this.client.query(`CREATE TEMP TABLE IF NOT EXISTS auditx_staging (${columns.join(", ")}) ON COMMIT DELETE ROWS`);
    this.stagingReady = true;
  }

  /** Sends the new entries' ids to the viewers that LISTEN (delivered at COMMIT). */
  private async announce(rows: CopyRow[]): Promise<void> {
    const payloads: string[] = [];
    for (let i = 0; i < rows.length; i += NOTIFY_IDS_PER_PAYLOAD) {
      payloads.push(
        rows
          .slice(i, i + NOTIFY_IDS_PER_PAYLOAD)
          .map((row) => row.id.replace(/-/g, ""))
          .join(","),
      );
    }
    await this.client.query("SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload", [this.names.channel, payloads]);
  }

  /**
   * A batch PostgreSQL refuses for the data of some row: halves are stored
   * on their own until the refused rows are found; those are left out, the
   * rest stored.
   */
  private async isolate(rows: CopyRow[], written: WrittenBatch): Promise<number> {
    try {
      return await this.transaction(rows, true, written);
    } catch (error) {
      if (!isDataError(error)) throw error;
      if (rows.length === 1) {
        written.refused.push({ row: rows[0] as CopyRow, error: error as Error });
        return 0;
      }
      const middle = rows.length >> 1;
      return (await this.isolate(rows.slice(0, middle), written)) + (await this.isolate(rows.slice(middle), written));
    }
  }
}
