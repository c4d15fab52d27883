import type { PostgresTarget } from "../store/connect.js";

/**
 * The store a command works on: the URL given, else $AUDITX_POSTGRES_URL,
 * else $DATABASE_URL, else node-postgres's own defaults (the PG* variables,
 * as psql reads them). A URL on the command line is visible to other users of
 * the machine (ps): the variables keep the password out of sight.
 */
export function postgresTarget(url: string | undefined): PostgresTarget {
  const chosen = url ?? process.env.AUDITX_POSTGRES_URL ?? process.env.DATABASE_URL;
  return chosen && chosen.trim() !== "" ? chosen : {};
}

/** Repeated options of parseArgs as a list. */
export function listOption(value: unknown): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? (value as string[]) : [value as string];
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}
