/**
 * Connections to the store: a pg Client whose failures stay contained (an
 * idle connection's error never reaches the process as an uncaught event),
 * ended when its connect fails (else the server's backend waits out its
 * authentication timeout, and a DROP DATABASE waits for it), and whose socket
 * can stop keeping the process alive.
 */
import type { Socket } from "node:net";
import pg from "pg";

/** A connection URL, or node-postgres client settings (unset ones come from the PG* variables, as psql's do). */
export type PostgresTarget = string | pg.ClientConfig;

export interface ConnectOptions {
  applicationName: string;
  connectionTimeoutMillis?: number;
  /** Server-side limit of one statement, in ms (0: none). */
  statementTimeoutMillis?: number;
}

export function clientConfig(target: PostgresTarget, options: ConnectOptions): pg.ClientConfig {
  const base: pg.ClientConfig = typeof target === "string" ? { connectionString: target } : { ...target };
  return {
    application_name: options.applicationName,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 10_000,
    keepAlive: true,
    ...(options.statementTimeoutMillis ? { statement_timeout: options.statementTimeoutMillis } : {}),
    ...base,
  };
}

/** A connected client; `onError` hears of the connection's failures after connect. */
export async function connectPostgres(
  target: PostgresTarget,
  options: ConnectOptions,
  onError?: (error: Error) => void,
): Promise<pg.Client> {
  const client = new pg.Client(clientConfig(target, options));
  client.on("error", (error) => onError?.(error));
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return client;
}

/** The client's socket, to ref or unref it (node-postgres keeps it in its connection). */
function socketOf(client: pg.Client): Socket | undefined {
  return (client as unknown as { connection?: { stream?: Socket } }).connection?.stream;
}

/** Whether an open connection keeps the event loop (and so the process) alive. */
export function holdProcess(client: pg.Client, hold: boolean): void {
  const socket = socketOf(client);
  if (typeof socket?.ref !== "function") return;
  if (hold) socket.ref();
  else socket.unref();
}

/** Where a target points, without its password, for messages. */
export function describeTarget(target: PostgresTarget): string {
  if (typeof target !== "string") {
    const host = target.host ?? process.env.PGHOST ?? "localhost";
    return `postgresql://${target.user ?? process.env.PGUSER ?? ""}@${host}:${target.port ?? process.env.PGPORT ?? 5432}/${target.database ?? process.env.PGDATABASE ?? ""}`;
  }
  try {
    const url = new URL(target);
    if (url.password) url.password = "***";
    return url.toString();
  } catch {
    return "(an unparsable URL)";
  }
}

/** SQLSTATE of a PostgreSQL error, or undefined for a network or client error. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

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
