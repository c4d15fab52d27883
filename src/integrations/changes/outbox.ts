/**
 * The outbox: entries of a change inserted into a table of the
 * application's database in the same transaction as the change, so that
 * change and audit commit (or roll back) together. OutboxRelay moves them
 * into the trail. One row per entry, keyed by the entry's id.
 */
import type { ChangeOptions } from "../../api/options.js";
import type { PendingChange } from "./PendingChange.js";

export type OutboxDialect = "postgres" | "sqlite";

/** What an outbox row's `change` column holds: everything logChange needs. */
export interface OutboxChange {
  description: string;
  options: ChangeOptions;
}

function quoted(table: string): string {
  return table
    .split(".")
    .map((part) => `"${part}"`)
    .join(".");
}

/** The DDL of the outbox table (idempotent). */
export function createOutboxTableSql(dialect: OutboxDialect, table = "auditx_outbox"): string {
  const name = quoted(table);
  return dialect === "postgres"
    ? `CREATE TABLE IF NOT EXISTS ${name} (seq bigserial PRIMARY KEY, id uuid NOT NULL UNIQUE, created_at timestamptz NOT NULL, change jsonb NOT NULL)`
    : `CREATE TABLE IF NOT EXISTS ${name} (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, change TEXT NOT NULL)`;
}

/** One INSERT of all `changes` (parameters `$n` for PostgreSQL, `?` for SQLite). */
export function outboxInsert(dialect: OutboxDialect, table: string, changes: readonly PendingChange[]): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const rows: string[] = [];
  for (const change of changes) {
    const body: OutboxChange = { description: change.description, options: change.options };
    params.push(change.id, new Date(change.at).toISOString(), JSON.stringify(body));
    const n = params.length;
    rows.push(dialect === "postgres" ? `($${n - 2}::uuid, $${n - 1}::timestamptz, $${n}::jsonb)` : "(?, ?, ?)");
  }
  return { sql: `INSERT INTO ${quoted(table)} (id, created_at, change) VALUES ${rows.join(", ")}`, params };
}
