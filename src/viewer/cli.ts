import { parseArgs } from "node:util";
import { startViewer } from "./startViewer.js";

const USAGE = `Usage: auditx ui [options]   (also: auditx-ui [options])

Serves the read-only audit trail viewer over a log folder.

Options:
  --log-dir DIR     folder with audit.jsonl and security.jsonl (default: logs)
  --audit-log-file NAME      the audit trail's file name in the folder (default: audit.jsonl)
  --security-log-file NAME   the security trail's file name in the folder (default: security.jsonl)
  --host HOST       address to bind (default: 127.0.0.1; 0.0.0.0 only on trusted networks)
  --port PORT       HTTP port (default: 8080; 0 picks a free port)
  --api-key KEY     require this key (X-API-Key header or ?api_key=); also read from AUDITX_API_KEY
  --no-realtime     no in-process push: live streams carry what the file tail reads
  --index-dir DIR   where the index is kept between runs (default: ~/.cache/auditx/viewer/<folder id>)
  --no-index-cache  keep the index in memory only (rebuilt at each start)
  -h, --help        this text
`;

/** `auditx ui`: starts the viewer, prints its URL, and resolves with the exit code once SIGINT/SIGTERM stopped it. */
export async function runUiCommand(args: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        "log-dir": { type: "string" },
        "audit-log-file": { type: "string" },
        "security-log-file": { type: "string" },
        host: { type: "string" },
        port: { type: "string" },
        "api-key": { type: "string" },
        realtime: { type: "boolean" },
        "no-realtime": { type: "boolean" },
        "index-dir": { type: "string" },
        "no-index-cache": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    process.stderr.write(`auditx ui: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const portText = (values.port as string | undefined) ?? "8080";
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
  if (!(port >= 0 && port <= 65535)) {
    process.stderr.write(`auditx ui: --port: expected a number from 0 to 65535, got "${portText}"\n`);
    return 2;
  }
  const apiKey = (values["api-key"] as string | undefined) ?? (process.env.AUDITX_API_KEY || undefined);
  if (apiKey === "") {
    process.stderr.write("auditx ui: --api-key: must not be empty\n");
    return 2;
  }
  const indexDir = values["no-index-cache"] ? false : (values["index-dir"] as string | undefined);
  if (indexDir === "") {
    process.stderr.write("auditx ui: --index-dir: must not be empty\n");
    return 2;
  }
  const running = await startViewer({
    indexDir,
    logDir: (values["log-dir"] as string | undefined) ?? "logs",
    auditLogFile: values["audit-log-file"] as string | undefined,
    securityLogFile: values["security-log-file"] as string | undefined,
    host: (values.host as string | undefined) ?? "127.0.0.1",
    port,
    apiKey,
    realtime: !values["no-realtime"],
  });
  // The key is never printed: whoever started the viewer knows it.
  process.stdout.write(
    `auditx viewer: ${running.url}  (log dir: ${running.viewer.logDir}${apiKey ? "; API key required" : ""}${values["no-realtime"] ? "; realtime off" : ""})\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  await running.close();
  process.stdout.write("auditx viewer: stopped\n");
  return 0;
}
