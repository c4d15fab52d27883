/**
 * Finds a PostgreSQL server the tests may use: the one DATABASE_URL names,
 * else the one the PG* variables name, else a local server on the default
 * socket or port. A server qualifies when it answers and its role may create
 * databases and roles (every test gets a database of its own).
 *
 * AUDITX_TEST_POSTGRES chooses: `auto` (the default: the first of those that
 * answers, else an embedded server), `external` (the server the environment
 * names, or the local one when it names none, or fail: CI uses it so that a run
 * never tests another server than the one it names), or `embedded` (ignore the
 * environment).
 */
import { existsSync } from "node:fs";
import { userInfo } from "node:os";
import pg from "pg";

export type ServerSource = "DATABASE_URL" | "PG variables" | "local server" | "embedded";
export type DiscoveryMode = "auto" | "external" | "embedded";

export interface FoundServer {
  source: ServerSource;
  /** URL of the maintenance database, as a role that may create databases and roles. */
  adminUrl: string;
  /** `server_version`, e.g. "18.4" or "15.14 (Debian 15.14-0+deb12u1)". */
  version: string;
  /** `server_version_num`, e.g. 180004. */
  versionNum: number;
}

interface Candidate {
  source: ServerSource;
  url: string;
}

const PG_VARIABLES = ["PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE"];

export function discoveryMode(env: NodeJS.ProcessEnv = process.env): DiscoveryMode {
  const mode = env.AUDITX_TEST_POSTGRES || "auto";
  if (mode === "auto" || mode === "external" || mode === "embedded") return mode;
  throw new Error(`AUDITX_TEST_POSTGRES=${mode}: expected auto, external or embedded`);
}

/** The URL with its password masked, for messages. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(an unparsable URL)";
  }
}

/** The same server and credentials, another database and optionally another role. */
export function urlFor(url: string, database: string, credentials?: { user: string; password: string }): string {
  const parsed = new URL(url);
  // A socket URL (postgresql:///db?host=/run/postgresql) has no host to hang credentials on; the host parameter wins anyway.
  if (!parsed.hostname) parsed.hostname = "localhost";
  parsed.pathname = `/${encodeURIComponent(database)}`;
  if (credentials) {
    parsed.username = encodeURIComponent(credentials.user);
    parsed.password = encodeURIComponent(credentials.password);
    // A socket usually admits only the OS user's own role (peer); other roles log in with their password over loopback.
    if (parsed.searchParams.get("host")?.startsWith("/")) {
      parsed.searchParams.delete("host");
      parsed.hostname = "127.0.0.1";
    }
  }
  return parsed.toString();
}

function urlFromPgVariables(env: NodeJS.ProcessEnv): string {
  const host = env.PGHOSTADDR || env.PGHOST || "localhost";
  const user = env.PGUSER || userInfo().username;
  const url = new URL("postgresql://localhost");
  url.username = encodeURIComponent(user);
  if (env.PGPASSWORD) url.password = encodeURIComponent(env.PGPASSWORD);
  url.port = env.PGPORT || "5432";
  url.pathname = `/${encodeURIComponent(env.PGDATABASE || user)}`;
  if (host.startsWith("/")) url.searchParams.set("host", host);
  else url.hostname = host;
  return url.toString();
}

function candidates(env: NodeJS.ProcessEnv, mode: DiscoveryMode): Candidate[] {
  const list: Candidate[] = [];
  if (env.DATABASE_URL) list.push({ source: "DATABASE_URL", url: env.DATABASE_URL });
  else if (PG_VARIABLES.some((name) => env[name])) list.push({ source: "PG variables", url: urlFromPgVariables(env) });
  // `external` never replaces the server the environment names.
  if (mode === "external" && list.length > 0) return list;
  const user = encodeURIComponent(userInfo().username);
  for (const socketDir of ["/var/run/postgresql", "/tmp"]) {
    if (existsSync(`${socketDir}/.s.PGSQL.5432`)) {
      list.push({ source: "local server", url: `postgresql://${user}@localhost:5432/postgres?host=${encodeURIComponent(socketDir)}` });
    }
  }
  list.push({ source: "local server", url: `postgresql://${user}@127.0.0.1:5432/postgres` });
  return list;
}

type Probe = { answered: false; reason: string } | { answered: true; server: FoundServer; missing: string[] };

/** A connected client whose idle-connection errors (a restart, a drop) do not crash the process; queries still reject. */
export async function connectClient(url: string, connectionTimeoutMillis = 10_000): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis });
  client.on("error", () => undefined);
  try {
    await client.connect();
  } catch (error) {
    // pg keeps the socket after a failure on its side (no password for a SCRAM request): the server's
    // backend would wait in authentication for a minute, and DROP DATABASE waits for every backend.
    await client.end().catch(() => undefined);
    throw error;
  }
  return client;
}

async function probe(candidate: Candidate): Promise<Probe> {
  let client: pg.Client;
  try {
    client = await connectClient(candidate.url, 3000);
  } catch (error) {
    return { answered: false, reason: (error as Error).message };
  }
  try {
    const { rows } = await client.query(
      `SELECT current_setting('server_version') AS version, current_setting('server_version_num')::int AS num,
              r.rolsuper, r.rolcreatedb, r.rolcreaterole
         FROM pg_roles r WHERE r.rolname = current_user`,
    );
    const row = rows[0];
    const missing: string[] = [];
    if (!row.rolsuper && !row.rolcreatedb) missing.push("CREATEDB");
    if (!row.rolsuper && !row.rolcreaterole) missing.push("CREATEROLE");
    // DROP DATABASE ... WITH (FORCE) appeared in 13; 12 and older are out of support.
    if (row.num < 130000) missing.push(`PostgreSQL 13 or newer (it is ${row.version})`);
    return {
      answered: true,
      server: { source: candidate.source, adminUrl: candidate.url, version: row.version, versionNum: row.num },
      missing,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The first usable server of the environment, or undefined when the caller should start an embedded
 * one. Throws when a server named explicitly answers but cannot be used, or when mode is `external`
 * and none answers. `notice` receives why a named server was passed over.
 */
export async function findServer(env: NodeJS.ProcessEnv, notice: (message: string) => void): Promise<FoundServer | undefined> {
  const mode = discoveryMode(env);
  if (mode === "embedded") return undefined;
  const tried: string[] = [];
  for (const candidate of candidates(env, mode)) {
    const result = await probe(candidate);
    const where = `${candidate.source} (${redact(candidate.url)})`;
    if (!result.answered) {
      tried.push(`${where}: ${result.reason}`);
      continue;
    }
    if (result.missing.length === 0) {
      const passedOver = tried.filter((line) => !line.startsWith("local server"));
      if (passedOver.length > 0) notice(`using ${where} instead of:\n  ${passedOver.join("\n  ")}`);
      return result.server;
    }
    const problem = `${where} answers, but the tests need ${result.missing.join(", ")}`;
    if (candidate.source !== "local server") {
      throw new Error(`${problem}: use a superuser's URL, or AUDITX_TEST_POSTGRES=embedded to use an embedded server`);
    }
    tried.push(problem);
  }
  if (mode === "external") {
    throw new Error(`AUDITX_TEST_POSTGRES=external, but no PostgreSQL server could be used:\n  ${tried.join("\n  ")}`);
  }
  const named = tried.filter((line) => !line.startsWith("local server"));
  if (named.length > 0) notice(`using an embedded PostgreSQL instead of:\n  ${named.join("\n  ")}`);
  return undefined;
}
