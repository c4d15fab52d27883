/** `auditx ship`: the shipping sidecar, several log folders into one PostgreSQL store. */
import { parseArgs } from "node:util";
import { MAX_SHIP_CONNECTIONS, type ShipStats } from "../api/shipping.js";
import { describeTarget, postgresTarget } from "../store/connect.js";
import { Shipper } from "../store/Shipper.js";
import { formatBytes, listOption } from "./options.js";

const USAGE = `Usage: auditx ship --log-dir DIR [--log-dir DIR ...] [options]

Ships the audit trail (audit.jsonl and its rotated and compressed segments) of
each log folder into the PostgreSQL store: COPY batches, a cursor per segment
kept in the folder, every entry exactly once. While PostgreSQL is away nothing
is lost: the lines wait in the folder and the backlog is reported.

Options:
  --log-dir DIR           a log folder to ship (repeat for several: other services, other hosts' mounts)
  --audit-log-file NAME   the audit trail's file name in the folders (default: audit.jsonl)
  --postgres URL          the store (default: $AUDITX_POSTGRES_URL, else $DATABASE_URL, else the PG* variables)
  --schema NAME           schema of the store (default: auditx)
  --service NAME          the service of lines that name none (folders of one service written without serviceName)
  --name NAME             this shipper's name in PostgreSQL (application_name "auditx-ship NAME")
  --no-init               do not create the store when it is missing (it is made by \`auditx pg init\`)
  --batch-rows N          most lines per COPY (default: 10000)
  --poll-ms N             look for new lines every N ms (default: 200)
  --connections N         connections that store each batch at once, a share each (default: 2)
  --no-clean-search       leave the free-text index's new entries to each batch (no connection of its own merging them)
  --synchronous-commit    each batch's COMMIT waits for the server's disk and synchronous standbys (default: the
                          cursor waits for the disk instead; set it where the store fails over to a standby)
  --status-every SECONDS  print the status every SECONDS (default: 10; 0: only at exit)
  --once                  ship what the folders hold, then exit (0 once everything is stored)
  --json                  status lines as JSON
  -h, --help              this text
`;

function whole(name: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,9}$/.test(text) || Number(text) < min) throw new Error(`--${name}: expected a whole number >= ${min}, got "${text}"`);
  return Number(text);
}

function statusLine(stats: ShipStats, perSecond: number): string {
  const lag = `lag ${stats.lag.records} record${stats.lag.records === 1 ? "" : "s"}, ${stats.lag.seconds.toFixed(1)} s`;
  const backlog = `backlog ${formatBytes(stats.backlog.bytes)} in ${stats.backlog.segments} segment${stats.backlog.segments === 1 ? "" : "s"}`;
  const standing = stats.folders.filter((folder) => !folder.active).length;
  return `${stats.state}; shipped ${stats.shipped} (${perSecond.toFixed(0)}/s), skipped ${stats.skipped}, replayed ${stats.replayed}; ${lag}; ${backlog}${standing > 0 ? `; ${standing} folder(s) shipped by another process` : ""}${stats.lastError ? `; last error: ${stats.lastError}` : ""}`;
}

export async function runShipCommand(args: string[]): Promise<number> {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        "log-dir": { type: "string", multiple: true },
        "audit-log-file": { type: "string" },
        postgres: { type: "string" },
        schema: { type: "string" },
        service: { type: "string" },
        name: { type: "string" },
        "no-init": { type: "boolean" },
        "batch-rows": { type: "string" },
        "poll-ms": { type: "string" },
        connections: { type: "string" },
        "no-clean-search": { type: "boolean" },
        "synchronous-commit": { type: "boolean" },
        "status-every": { type: "string" },
        once: { type: "boolean" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    process.stderr.write(`auditx ship: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const logDirs = listOption(values["log-dir"]);
  if (logDirs.length === 0) {
    process.stderr.write(`auditx ship: give at least one --log-dir\n\n${USAGE}`);
    return 2;
  }
  let batchRows: number | undefined;
  let pollIntervalMs: number | undefined;
  let connections: number | undefined;
  let statusEvery: number;
  try {
    batchRows = whole("batch-rows", values["batch-rows"] as string | undefined, 1);
    pollIntervalMs = whole("poll-ms", values["poll-ms"] as string | undefined, 10);
    connections = whole("connections", values.connections as string | undefined, 1);
    if (connections !== undefined && connections > MAX_SHIP_CONNECTIONS) {
      throw new Error(`--connections: expected at most ${MAX_SHIP_CONNECTIONS}, got "${connections}"`);
    }
    statusEvery = whole("status-every", values["status-every"] as string | undefined, 0) ?? 10;
  } catch (error) {
    process.stderr.write(`auditx ship: ${(error as Error).message}\n`);
    return 2;
  }
  const json = values.json === true;
  const target = postgresTarget(values.postgres as string | undefined);
  const service = values.service as string | undefined;
  const shipper = new Shipper({
    postgres: target,
    folders: logDirs.map((logDir) => ({ logDir, service })),
    schema: values.schema as string | undefined,
    trail: values["audit-log-file"] as string | undefined,
    initSchema: values["no-init"] !== true,
    applicationName: values.name ? `auditx-ship ${values.name as string}` : undefined,
    batchRows,
    pollIntervalMs,
    connections,
    cleanSearchIndex: values["no-clean-search"] !== true,
    synchronousCommit: values["synchronous-commit"] === true,
    onEvent: (event) => {
      const line = json
        ? JSON.stringify({ time: new Date().toISOString(), event: event.level, message: event.message })
        : `${new Date().toISOString()} ${event.level.toUpperCase()} ${event.message}`;
      (event.level === "info" ? process.stdout : process.stderr).write(`${line}\n`);
    },
  });
  let lastShipped = 0;
  let lastTime = Date.now();
  const printStatus = () => {
    const stats = shipper.stats();
    const now = Date.now();
    const perSecond = ((stats.shipped - lastShipped) * 1000) / Math.max(1, now - lastTime);
    lastShipped = stats.shipped;
    lastTime = now;
    process.stdout.write(
      json
        ? `${JSON.stringify({ time: new Date(now).toISOString(), ...stats })}\n`
        : `${new Date(now).toISOString()} ${statusLine(stats, perSecond)}\n`,
    );
  };
  if (!json) process.stdout.write(`auditx ship: ${logDirs.join(", ")} -> ${describeTarget(target)}\n`);
  const timer = statusEvery > 0 ? setInterval(printStatus, statusEvery * 1000) : null;

  let stopRequested = false;
  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      stopRequested = true;
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  let code = 0;
  if (values.once) {
    let drained = false;
    while (!drained && !stopRequested) drained = await Promise.race([shipper.drained(5000), stopped.then(() => false)]);
    code = drained ? 0 : 1;
  } else {
    await stopped;
  }
  if (timer) clearInterval(timer);
  // A signal: ship what is in flight for a moment, then let go; the rest waits in the folders.
  await shipper.close(stopRequested ? 5000 : 0);
  printStatus();
  return code;
}
