/**
 * One trail for many services: two services write their own trails, one
 * `auditx ship` sidecar ships both folders into PostgreSQL, and the viewer
 * reads the store (every service's entries, filterable by service and host,
 * live as the shipper stores them).
 *
 *   AUDITX_POSTGRES_URL=postgresql://user:pass@127.0.0.1:5432/erp \
 *     npm run build && node examples/multi-service-store/main.mjs
 *
 * AUDITX_POSTGRES_URL (else DATABASE_URL) names the database; AUDITX_LOG_DIR
 * the folder under which each service gets its own (default ./logs-multi);
 * PORT the viewer's port (default 8080; 0 picks a free one). Ctrl-C stops
 * everything.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { initStore } from "auditx/store";
import { startViewer } from "auditx/web";
import pg from "pg";

const postgres = process.env.AUDITX_POSTGRES_URL ?? process.env.DATABASE_URL;
if (!postgres) {
  console.error("Set AUDITX_POSTGRES_URL (or DATABASE_URL) to a PostgreSQL database, e.g. postgresql://user:pass@127.0.0.1:5432/erp");
  process.exit(2);
}
const base = process.env.AUDITX_LOG_DIR ?? "logs-multi";
const here = fileURLToPath(new URL(".", import.meta.url));
const cli = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));

// 1. The store: `auditx pg init` does the same from the command line (run it as the database's owner).
const admin = new pg.Client({ connectionString: postgres });
await admin.connect();
await initStore(admin);
await admin.end();

// 2. Two services, each with its own trail folder (in production: their own hosts).
const children = [];
function start(args, env, name) {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  child.stdout.setEncoding("utf8").on("data", (text) => process.stdout.write(text));
  return new Promise((resolve) => {
    child.stdout.on("data", (text) => {
      const url = /listening on (http:\S+)/.exec(text)?.[1];
      if (url) resolve(url);
    });
    if (name) resolve(name);
  });
}
const salesDir = join(base, "sales");
const stockDir = join(base, "stock");
const salesUrl = await start([join(here, "sales-service.mjs")], { AUDITX_LOG_DIR: salesDir, PORT: "0" });
const stockUrl = await start([join(here, "stock-service.mjs")], { AUDITX_LOG_DIR: stockDir, PORT: "0" });

// 3. One shipper for both folders: the sidecar, a process of its own (a systemd unit or a container in production).
await start(
  [cli, "ship", "--log-dir", salesDir, "--log-dir", stockDir, "--status-every", "30"],
  { AUDITX_POSTGRES_URL: postgres },
  "shipper",
);

// 4. The viewer over the store: `auditx ui --store` does the same from the command line. Who read what
//    goes into a folder of its own, which it ships into the same store.
const viewer = await startViewer({ store: { postgres }, auditLogDir: join(base, "viewer"), port: Number(process.env.PORT ?? 8080) });
await viewer.viewer.ready;
console.log(`viewer listening on ${viewer.url}  (the store: every service's entries)`);
console.log(
  `try: curl -X POST ${salesUrl}/invoices -H 'X-User: aye' -H 'content-type: application/json' -d '{"customerId":"C-100","amount":250000}'`,
);
console.log(
  `     curl -X POST ${stockUrl}/stock-moves -H 'X-User: zaw' -H 'content-type: application/json' -d '{"productId":"P-001","from":"WH-YGN","to":"WH-MDY","quantity":4}'`,
);

async function stop() {
  await viewer.close();
  // The services close their loggers; the shipper ships what is left, then lets go.
  await Promise.all(
    children.map(
      (child) =>
        new Promise((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once("exit", resolve);
          child.kill("SIGTERM");
        }),
    ),
  );
  process.exit(0);
}
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
