/**
 * SQL that lists a table's primary-key columns in key order, for adapters
 * whose ORM does not know them (Knex, Drizzle tables without a declared key).
 */
import type { OutboxDialect } from "./outbox.js";

export function primaryKeySql(dialect: OutboxDialect, table: string): { sql: string; params: unknown[] } {
  if (dialect === "postgres") {
    return {
      sql: `SELECT a.attname AS name FROM pg_index i
              JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
             WHERE i.indrelid = to_regclass($1) AND i.indisprimary
             ORDER BY array_position(i.indkey, a.attnum)`,
      params: [table],
    };
  }
  return { sql: "SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk", params: [table] };
}
