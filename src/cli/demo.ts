/**
 * `auditx demo [--log-dir logs] [--serve] [--host 127.0.0.1] [--port 8080] [--interval 1500]`:
 * imports the previous business day of a multi-branch ERP company (as from its
 * legacy audit table), then writes the original's demo scenario; with --serve,
 * also serves the viewer and keeps writing live activity until Ctrl+C.
 */

import { parseArgs } from "node:util";
import { AuditLogger } from "../api/AuditLogger.js";
import { DEFAULT_LOG_DIR } from "../api/settings.js";
import { hubFor } from "../processors/AuditHub.js";
import { lastBusinessDay, startLiveActivity, writeBusinessDay, writeOriginalScenario } from "./demoScenario.js";

export async function runDemoCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      "log-dir": { type: "string", default: DEFAULT_LOG_DIR },
      serve: { type: "boolean", default: false },
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "8080" },
      "api-key": { type: "string" },
      interval: { type: "string", default: "1500" },
      day: { type: "string", default: "240" },
    },
    strict: true,
  });
  const logDir = values["log-dir"] as string;
  const port = Number(values.port);
  const interval = Number(values.interval);
  const dayCount = Number(values.day);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0-65535, got ${values.port}`);
  if (!(interval >= 50)) throw new Error(`--interval must be at least 50 ms, got ${values.interval}`);
  if (!Number.isInteger(dayCount) || dayCount < 0) throw new Error(`--day must be a whole number, got ${values.day}`);

  // The previous business day first, so that the trail's order is time order; then the walkthrough and live
  // activity, now. Console lines for the walkthrough and live events; the day's bulk is written quietly.
  // Sealed into hash chains, so that `auditx verify` has something to check.
  const narrated = new AuditLogger({ logDir, console: true, integrity: true });
  const quiet = new AuditLogger({ logDir, console: false, integrity: true });
  process.stdout.write(`auditx demo: writing the audit trail to ${narrated.logDir}\n\n`);
  const day = lastBusinessDay(Date.now());
  const written = writeBusinessDay(quiet, dayCount);
  process.stdout.write(
    `Imported ${written} entries of the business day of ${day.toDateString()} from the legacy audit table, each at its own time\n` +
      "(branches BR-YGN, BR-MDY and BR-NPT; metadata.imported says so, as `auditx import` does).\n\n" +
      "Now, the original's walkthrough:\n",
  );
  writeOriginalScenario(narrated);
  if (!values.serve) {
    await Promise.all([narrated.shutdown(), quiet.shutdown()]);
    process.stdout.write(`\nDone: see ${narrated.logDir}/audit.jsonl, security.jsonl and app.log, or run: auditx ui --log-dir ${logDir}\n`);
    return 0;
  }

  const { startViewer } = await import("../viewer/index.js");
  narrated.connectHub(hubFor(logDir));
  quiet.connectHub(hubFor(logDir));
  const viewer = await startViewer({
    logDir,
    host: values.host as string,
    port,
    apiKey: values["api-key"] as string | undefined,
    realtime: true,
  });
  const stopActivity = startLiveActivity(narrated, interval);
  process.stdout.write(`\nViewer: ${viewer.url}  (live activity every ${interval} ms; Ctrl+C to stop)\n\n`);

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  stopActivity();
  await viewer.close();
  await Promise.all([narrated.shutdown(), quiet.shutdown()]);
  process.stdout.write("\nauditx demo: stopped.\n");
  return 0;
}
