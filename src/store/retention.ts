/**
 * The store's retention policy: the months of entries older than the policy
 * keeps are dropped, a month (partition) at a time, and only after the drop
 * is itself written to the trail (an entry in the store) and to the
 * retention log, in the same transaction. Nothing else ever removes entries.
 */
import { hostname } from "node:os";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { AuditAction, BusinessModule, LogLevel } from "../entry/enums.js";
import { formatTimestamp } from "../internal/timestamp.js";
import { uuidv7 } from "../internal/uuid.js";
import { copyRowOf } from "./copyRow.js";
import { copyStatement, readStoreInfo, StoreNames } from "./schema.js";

export interface PruneOptions {
  schema?: string;
  /** List what the policy would drop, drop nothing. */
  dryRun?: boolean;
  /** The present, for tests (default now). */
  now?: Date;
}

export interface PrunedPartition {
  partition: string;
  from: string;
  to: string;
  entries: number;
  /** The trail entry that records the drop (absent on a dry run). */
  entryId?: string;
}

interface Partition {
  name: string;
  from: Date;
  to: Date;
}

const BOUND = /FROM \('([^']+)'\) TO \('([^']+)'\)/;

async function monthlyPartitions(client: pg.Client, names: StoreNames): Promise<Partition[]> {
  const { rows } = await client.query(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = $1::regclass`,
    [`${names.schema}.entries`],
  );
  const partitions: Partition[] = [];
  for (const row of rows as Array<{ name: string; bound: string }>) {
    const match = BOUND.exec(row.bound);
    if (!match) continue; // the default partition: never dropped
    partitions.push({ name: row.name, from: new Date(match[1] as string), to: new Date(match[2] as string) });
  }
  return partitions.sort((a, b) => a.from.getTime() - b.from.getTime());
}

function copyRows(client: pg.Client, statement: string, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = client.query(copyFrom(statement));
    stream.on("error", reject);
    stream.on("finish", () => resolve());
    stream.end(text);
  });
}

/**
 * Applies the store's retention policy (`auditx pg init --retention-months N`):
 * every month that ended more than N months ago is dropped. Needs the
 * store's owner. Throws when the store has no policy.
 */
export async function pruneStore(client: pg.Client, options: PruneOptions = {}): Promise<PrunedPartition[]> {
  const names = new StoreNames(options.schema);
  const info = await readStoreInfo(client, names);
  if (!info) throw new Error(`no auditx store in schema ${names.schemaName}`);
  if (info.retentionMonths === null) {
    throw new Error("the store has no retention policy, so nothing is ever dropped: set one with `auditx pg init --retention-months N`");
  }
  const now = options.now ?? new Date();
  const cutoff = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - info.retentionMonths, 1));
  const pruned: PrunedPartition[] = [];
  await client.query("BEGIN");
  try {
    // The same lock as ensure_partitions: no month is made while months are dropped.
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`${names.schemaName}.partitions`]);
    for (const partition of await monthlyPartitions(client, names)) {
      if (partition.to.getTime() > cutoff.getTime()) continue;
      const table = `${names.schema}.${client.escapeIdentifier(partition.name)}`;
      const { rows } = await client.query(`SELECT count(*)::bigint AS n FROM ${table}`);
      const entries = Number(rows[0].n);
      const record: PrunedPartition = {
        partition: partition.name,
        from: partition.from.toISOString(),
        to: partition.to.toISOString(),
        entries,
      };
      pruned.push(record);
      if (options.dryRun) continue;
      const millis = Date.now();
      const month = partition.from.toISOString().slice(0, 7);
      const dict = {
        timestamp: formatTimestamp(millis),
        level: LogLevel.SECURITY,
        module: BusinessModule.SYSTEM,
        action: AuditAction.DELETE,
        description: `Retention policy: dropped the store's entries of ${month} (${entries} entries, kept ${info.retentionMonths} months)`,
        user: client.user ?? "",
        entity_type: "audit_partition",
        entity_id: partition.name,
        metadata: { partition: partition.name, from: record.from, to: record.to, entries, retention_months: info.retentionMonths },
        hostname: hostname(),
        status: null,
        success: true,
        service: "auditx",
        id: uuidv7(millis),
      };
      const row = copyRowOf(dict, JSON.stringify(dict));
      // Written first: the trail says what is about to go, in the transaction that drops it.
      await copyRows(client, copyStatement(names.entries), row.text);
      await client.query(
        `INSERT INTO ${names.retentionLog} (partition, range_from, range_to, entries, policy_months, entry_id) VALUES ($1, $2, $3, $4, $5, $6)`,
        [partition.name, partition.from, partition.to, entries, info.retentionMonths, row.id],
      );
      await client.query(`DELETE FROM ${names.counts} WHERE day >= $1::date AND day < $2::date`, [
        record.from.slice(0, 10),
        record.to.slice(0, 10),
      ]);
      // Their trail cursors go with them; the numbering goes on from the newest (the entry written above).
      await client.query(`DELETE FROM ${names.positions} WHERE ts >= $1 AND ts < $2`, [partition.from, partition.to]);
      await client.query(`DELETE FROM ${names.slots} WHERE slot >= $1 AND slot < $2`, [partition.from, partition.to]);
      await client.query(`DROP TABLE ${table}`);
      record.entryId = row.id;
    }
    await client.query(options.dryRun ? "ROLLBACK" : "COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
  return pruned;
}
