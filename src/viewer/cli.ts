import { parseArgs } from "node:util";
import { describeTarget, postgresTarget } from "../store/connect.js";
import { startViewer } from "./startViewer.js";

const USAGE = `Usage: auditx ui [options]   (also: auditx-ui [options])

Serves the read-only audit trail viewer over a log folder, or over the
PostgreSQL store that many services ship into (auditx ship).

Options:
  --log-dir DIR     folder with audit.jsonl and security.jsonl (default: logs)
  --audit-log-file NAME      the audit trail's file name in the folder (default: audit.jsonl)
  --security-log-file NAME   the security trail's file name in the folder (default: security.jsonl)
  --postgres URL    read the PostgreSQL store instead of a folder
  --store           the same, with the store named by $AUDITX_POSTGRES_URL, else $DATABASE_URL, else
                    the PG* variables (keeps the password off the command line)
  --schema NAME     schema of the store (default: auditx)
  --host HOST       address to bind (default: 127.0.0.1; 0.0.0.0 only on trusted networks)
  --port PORT       HTTP port (default: 8080; 0 picks a free port)
  --api-key KEY     require this key (X-API-Key header or ?api_key=); also read from AUDITX_API_KEY
  --no-realtime     no in-process push: live streams carry what the file tail reads
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
        postgres: { type: "string" },
        store: { type: "boolean" },
        schema: { type: "string" },
        host: { type: "string" },
        port: { type: "string" },
        "api-key": { type: "string" },
        realtime: { type: "boolean" },
        "no-realtime": { type: "boolean" },
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
  const useStore = values.postgres !== undefined || values.store === true;
  if (useStore && values["log-dir"] !== undefined) {
    process.stderr.write("auditx ui: give --log-dir or --postgres, not both\n");
    return 2;
  }
  const store = useStore
    ? { postgres: postgresTarget(values.postgres as string | undefined), schema: values.schema as string | undefined }
    : undefined;
  const running = await startViewer({
    logDir: (values["log-dir"] as string | undefined) ?? "logs",
    auditLogFile: values["audit-log-file"] as string | undefined,
    securityLogFile: values["security-log-file"] as string | undefined,
    store,
    host: (values.host as string | undefined) ?? "127.0.0.1",
    port,
    apiKey,
    realtime: !values["no-realtime"],
  });
  if (store) {
    try {
      await running.viewer.ready;
    } catch (error) {
      await running.close();
      process.stderr.write(`auditx ui: the store at ${describeTarget(store.postgres)} cannot be read: ${(error as Error).message}\n`);
      return 1;
    }
  }
  // The key is never printed: whoever started the viewer knows it.
  process.stdout.write(
    `auditx viewer: ${running.url}  (${store ? "store" : "log dir"}: ${running.viewer.trailName}${apiKey ? "; API key required" : ""}${values["no-realtime"] ? "; realtime off" : ""})\n`,
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
