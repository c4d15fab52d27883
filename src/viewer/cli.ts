import { parseArgs } from "node:util";
import { describeTarget, postgresTarget } from "../store/connect.js";
import { startViewer } from "./startViewer.js";
import { keysFromEnvironment, readKeysFile, type ViewerKey } from "./ViewerKeys.js";

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
  --keys-file FILE  keys with ids and scopes, as JSON: [{"id","key"|"sha256","companies"?,"sources"?}];
                    also AUDITX_VIEWER_KEYS (the JSON itself) and AUDITX_VIEWER_KEYS_FILE
  --allowed-hosts H names the viewer is reached by besides localhost and its address, comma-separated
                    (".example.com" for a domain and its subdomains); other Host headers get 403
  --max-line-bytes N  longest trail line read whole (default 16777216); longer ones are shown cut, marked
  --audit-log-dir DIR where the viewer records who read what when the log folder is not writable
                    (default: the log folder, else <log-dir>-viewer-audit)
  --no-audit-reads  do not record reads (not for PCI DSS scopes)
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
        postgres: { type: "string" },
        store: { type: "boolean" },
        schema: { type: "string" },
        host: { type: "string" },
        port: { type: "string" },
        "api-key": { type: "string" },
        "keys-file": { type: "string" },
        "allowed-hosts": { type: "string" },
        "max-line-bytes": { type: "string" },
        "audit-log-dir": { type: "string" },
        "no-audit-reads": { type: "boolean" },
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
  const maxLineText = values["max-line-bytes"] as string | undefined;
  const maxLineBytes = maxLineText === undefined ? undefined : /^\d{1,12}$/.test(maxLineText) ? Number(maxLineText) : Number.NaN;
  if (maxLineBytes !== undefined && !(maxLineBytes >= 65536)) {
    process.stderr.write(`auditx ui: --max-line-bytes: expected a number of bytes of at least 65536, got "${maxLineText}"\n`);
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
  const indexDir = values["no-index-cache"] ? false : (values["index-dir"] as string | undefined);
  if (indexDir === "") {
    process.stderr.write("auditx ui: --index-dir: must not be empty\n");
    return 2;
  }
  let running: Awaited<ReturnType<typeof startViewer>>;
  let keyCount = 0;
  try {
    const fromEnvironment = keysFromEnvironment();
    const apiKey = (values["api-key"] as string | undefined) ?? fromEnvironment.apiKey;
    if (apiKey === "") throw new TypeError("--api-key: must not be empty");
    const keysFile = values["keys-file"] as string | undefined;
    const apiKeys = [...fromEnvironment.apiKeys, ...(keysFile ? readKeysFile(keysFile) : [])];
    keyCount = apiKeys.length + (apiKey ? 1 : 0);
    const allowedHosts = (values["allowed-hosts"] as string | undefined)
      ?.split(",")
      .map((host) => host.trim())
      .filter(Boolean);
    running = await startViewer({
      indexDir,
      logDir: (values["log-dir"] as string | undefined) ?? "logs",
      auditLogFile: values["audit-log-file"] as string | undefined,
      securityLogFile: values["security-log-file"] as string | undefined,
      store,
      host: (values.host as string | undefined) ?? "127.0.0.1",
      port,
      apiKey,
      apiKeys: apiKeys as ViewerKey[],
      allowedHosts,
      maxLineBytes,
      auditReads: !values["no-audit-reads"],
      auditLogDir: values["audit-log-dir"] as string | undefined,
      realtime: !values["no-realtime"],
    });
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    // Key settings are named, never the keys themselves.
    process.stderr.write(`auditx ui: ${error.message}\n`);
    return 2;
  }
  if (store) {
    try {
      await running.viewer.ready;
    } catch (error) {
      await running.close();
      process.stderr.write(`auditx ui: the store at ${describeTarget(store.postgres)} cannot be read: ${(error as Error).message}\n`);
      return 1;
    }
  }
  // The keys are never printed: whoever started the viewer knows them.
  const keysNote = keyCount === 0 ? "" : keyCount === 1 ? "; API key required" : `; ${keyCount} API keys`;
  process.stdout.write(
    `auditx viewer: ${running.url}  (${store ? "store" : "log dir"}: ${running.viewer.trailName}${keysNote}${values["no-realtime"] ? "; realtime off" : ""})\n`,
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
