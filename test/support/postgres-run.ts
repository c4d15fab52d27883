/**
 * One test run's PostgreSQL. The global setup makes a run folder. The first
 * test file that needs PostgreSQL finds a server or starts an embedded one,
 * once for the whole run, and records it in that folder; files in other
 * workers wait for the record. The global teardown stops every server the run
 * started and drops what the run left on a server it did not start. A run
 * that was killed before its teardown is cleaned up by the next run.
 */
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectClient, type FoundServer, findServer } from "./postgres-discovery.js";
import { initOwnedServer, OwnedServer, type OwnedServerRecord } from "./postgres-owned.js";

export interface PostgresRun {
  dir: string;
  /** Lowercase hex: every database and role the run creates is named `auditx_t_<id>_…`. */
  id: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    auditxPostgresRun: PostgresRun;
  }
}

/** The run's server; `owned` when the run started it. */
export interface RunServer extends FoundServer {
  owned?: OwnedServerRecord;
}

const RUN_PREFIX = "auditx-pg-run-";
const OWNED_SUFFIX = ".owned.json";

export function namePrefix(run: PostgresRun): string {
  return `auditx_t_${run.id}_`;
}

function pidNamespace(): string {
  try {
    return readlinkSync("/proc/self/ns/pid");
  } catch {
    return "";
  }
}

function writeJson(file: string, value: unknown): void {
  writeFileSync(`${file}.tmp`, JSON.stringify(value));
  renameSync(`${file}.tmp`, file);
}

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, "utf8")) as T;
}

export function createRun(): PostgresRun {
  sweepAbandonedRuns();
  const dir = mkdtempSync(join(tmpdir(), RUN_PREFIX));
  // As root the server runs as another account, which must reach its folder inside (but not list ours).
  chmodSync(dir, 0o711);
  const run = { dir, id: randomBytes(4).toString("hex") };
  writeJson(join(dir, "owner.json"), { pid: process.pid, pidNamespace: pidNamespace(), id: run.id });
  return run;
}

/** The run's shared server: found or started by the first caller of the run, read by the others. */
export async function runServer(run: PostgresRun): Promise<RunServer> {
  const recordFile = join(run.dir, "shared.json");
  try {
    mkdirSync(join(run.dir, "shared.lock"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    return waitForRecord(recordFile);
  }
  let outcome: { server?: RunServer; error?: string };
  try {
    outcome = { server: await findOrStart(run) };
  } catch (error) {
    outcome = { error: (error as Error).message };
  }
  writeJson(recordFile, outcome);
  if (outcome.error !== undefined) throw new Error(outcome.error);
  return outcome.server!;
}

async function findOrStart(run: PostgresRun): Promise<RunServer> {
  const found = await findServer(process.env, (message) => console.warn(`PostgreSQL for the tests: ${message}`));
  if (found) return found;
  const { server, info } = await startOwnedServer(run, "shared");
  return { ...info, owned: server.record };
}

async function waitForRecord(file: string): Promise<RunServer> {
  const deadline = Date.now() + 120_000;
  while (!existsSync(file)) {
    if (Date.now() > deadline)
      throw new Error(`no PostgreSQL server was recorded in ${file} within 120 s: the test file starting it may have died`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const outcome = readJson<{ server?: RunServer; error?: string }>(file);
  if (outcome.error !== undefined) throw new Error(outcome.error);
  return outcome.server!;
}

/**
 * Starts a server from the embedded binaries in the run folder. Its record is kept there from
 * before the first start, so that the teardown stops it even if its test file dies.
 */
export async function startOwnedServer(run: PostgresRun, name: string): Promise<{ server: OwnedServer; info: FoundServer }> {
  const server = await initOwnedServer(run.dir);
  const recordFile = join(run.dir, name + OWNED_SUFFIX);
  writeJson(recordFile, server.record);
  try {
    await server.start();
    writeJson(recordFile, server.record);
    const client = await connectClient(server.url());
    try {
      const { rows } = await client.query(
        "SELECT current_setting('server_version') AS version, current_setting('server_version_num')::int AS num",
      );
      return { server, info: { source: "embedded", adminUrl: server.url(), version: rows[0].version, versionNum: rows[0].num } };
    } finally {
      await client.end();
    }
  } catch (error) {
    await server.destroy();
    rmSync(recordFile, { force: true });
    throw error;
  }
}

/** Stops and removes a server started by startOwnedServer. */
export async function destroyOwnedServer(run: PostgresRun, name: string, server: OwnedServer): Promise<void> {
  await server.destroy();
  rmSync(join(run.dir, name + OWNED_SUFFIX), { force: true });
}

/** The global teardown: every server the run started is stopped and removed, leftovers on another server dropped. */
export async function finishRun(run: PostgresRun): Promise<void> {
  if (!existsSync(run.dir)) return;
  const problems: string[] = [];
  for (const file of readdirSync(run.dir).filter((name) => name.endsWith(OWNED_SUFFIX))) {
    await new OwnedServer(readJson<OwnedServerRecord>(join(run.dir, file))).destroy().catch((error) => problems.push(error.message));
  }
  const sharedFile = join(run.dir, "shared.json");
  const shared = existsSync(sharedFile) ? readJson<{ server?: RunServer }>(sharedFile).server : undefined;
  if (shared && !shared.owned) await dropLeftovers(shared.adminUrl, namePrefix(run)).catch((error) => problems.push(error.message));
  rmSync(run.dir, { recursive: true, force: true });
  if (problems.length > 0) console.warn(`PostgreSQL test teardown: ${problems.join("; ")}`);
}

/** Databases and roles a run made and did not drop (a test file that died): dropped by name prefix. */
async function dropLeftovers(adminUrl: string, prefix: string): Promise<void> {
  const client = await connectClient(adminUrl, 3000);
  try {
    const databases = await client.query("SELECT datname FROM pg_database WHERE starts_with(datname, $1)", [prefix]);
    for (const { datname } of databases.rows)
      await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(datname)} WITH (FORCE)`);
    const roles = await client.query("SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)", [prefix]);
    for (const { rolname } of roles.rows) await client.query(`DROP ROLE IF EXISTS ${client.escapeIdentifier(rolname)}`);
  } finally {
    await client.end();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Runs whose test process is gone (killed before its teardown): their servers would otherwise live on. */
function sweepAbandonedRuns(): void {
  const namespace = pidNamespace();
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith(RUN_PREFIX)) continue;
    const dir = join(tmpdir(), entry);
    let owner: { pid: number; pidNamespace: string; id: string };
    try {
      owner = readJson(join(dir, "owner.json"));
    } catch {
      continue;
    }
    // A process id means something only in its own namespace.
    if (owner.pidNamespace !== namespace || isAlive(owner.pid)) continue;
    finishRun({ dir, id: owner.id }).catch(() => undefined);
  }
}
