/**
 * The real OpenTelemetry Collector (collector/build/otelcol-auditx, built by
 * `npm run collector:build`) running the shipped collector-config.yaml, for
 * the collector test tier. Only what a test cannot use as shipped is laid
 * over it with a second --config file: listening addresses on 127.0.0.1 and
 * free ports, no metrics endpoint of its own, and extra exporters or
 * pipelines a test adds to look at traffic. The folders come from the config's own variables (AUDITX_LOG_DIR,
 * OTELCOL_STORAGE_DIR, OTELCOL_EXPORT_DIR).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { stringify } from "yaml";
import { ROOT } from "./core-trail.js";
import { eventually } from "./eventually.js";
import { type OtlpLogsRequest, type ReceivedRecord, recordsOf } from "./otlp-receiver.js";

export const COLLECTOR_BINARY = join(ROOT, "collector", "build", "otelcol-auditx");
export const COLLECTOR_CONFIG = join(ROOT, "collector-config.yaml");

/** Fails (never skips) when the Collector has not been built. */
export function requireCollectorBinary(): string {
  if (!existsSync(COLLECTOR_BINARY)) {
    throw new Error(`${COLLECTOR_BINARY} is missing: run \`npm run collector:build\` (needs Go and the Go module proxy)`);
  }
  return COLLECTOR_BINARY;
}

/** A port free on 127.0.0.1 right now (the Collector binds it itself, so the OS picks it here). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

export interface CollectorOptions {
  /** The trail folder the filelog receivers tail (AUDITX_LOG_DIR). */
  logDir: string;
  /** Checkpoints and queues (OTELCOL_STORAGE_DIR): keep it across restarts. */
  storageDir: string;
  /** Where the file exporters write (OTELCOL_EXPORT_DIR). */
  exportDir: string;
  /** Laid over collector-config.yaml after the listening addresses. */
  overlay?: Record<string, unknown>;
  /** Extra command-line arguments (feature gates). */
  args?: string[];
}

/** One Collector: the same ports and folders across restarts, so clients and checkpoints carry over. */
export class CollectorProcess {
  private child?: ChildProcess;
  private exited?: Promise<NodeJS.Signals | number | null>;
  private ports?: { http: number; grpc: number; health: number };
  private readonly overlayPath: string;
  private readonly logPath: string;
  /** Starts so far. */
  starts = 0;

  constructor(private readonly options: CollectorOptions) {
    this.overlayPath = join(options.storageDir, "..", `collector-overlay-${process.pid}-${Date.now()}.yaml`);
    this.logPath = join(options.storageDir, "..", `collector-${process.pid}-${Date.now()}.log`);
  }

  /** The OTLP/HTTP logs endpoint. */
  get logsUrl(): string {
    return `http://127.0.0.1:${this.port("http")}/v1/logs`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts the Collector and resolves once its health check answers "available". */
  async start(): Promise<this> {
    const binary = requireCollectorBinary();
    if (this.child) throw new Error("the Collector is already running");
    if (!this.ports) {
      this.ports = { http: await freePort(), grpc: await freePort(), health: await freePort() };
      const listen = {
        // The Collector's own metrics would listen on :8888, which another Collector on the machine may hold.
        service: { telemetry: { metrics: { level: "none" } } },
        extensions: { health_check: { endpoint: `127.0.0.1:${this.ports.health}` } },
        receivers: {
          otlp: {
            protocols: {
              http: { endpoint: `127.0.0.1:${this.ports.http}` },
              grpc: { endpoint: `127.0.0.1:${this.ports.grpc}` },
            },
          },
        },
      };
      writeFileSync(this.overlayPath, stringify(this.options.overlay ? merge(listen, this.options.overlay) : listen));
    }
    mkdirSync(this.options.storageDir, { recursive: true });
    mkdirSync(this.options.exportDir, { recursive: true });
    const log = openSync(this.logPath, "a");
    const child = spawn(binary, ["--config", COLLECTOR_CONFIG, "--config", this.overlayPath, ...(this.options.args ?? [])], {
      env: {
        ...process.env,
        AUDITX_LOG_DIR: this.options.logDir,
        OTELCOL_STORAGE_DIR: this.options.storageDir,
        OTELCOL_EXPORT_DIR: this.options.exportDir,
      },
      stdio: ["ignore", log, log],
    });
    closeSync(log);
    this.child = child;
    this.starts++;
    this.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve(signal ?? code)));
    let exitedEarly = false;
    void this.exited.then(() => {
      exitedEarly = true;
      if (this.child === child) this.child = undefined;
    });
    const healthUrl = `http://127.0.0.1:${this.port("health")}/`;
    try {
      await eventually(
        async () => {
          if (exitedEarly) throw new Error(`the Collector exited while starting:\n${this.logTail()}`);
          try {
            return (await fetch(healthUrl)).status === 200;
          } catch {
            return false;
          }
        },
        30_000,
        "the Collector's health check",
        50,
      );
    } catch (error) {
      await this.kill("SIGKILL");
      throw error;
    }
    return this;
  }

  /** Sends `signal` and waits for the exit (SIGTERM: a clean shutdown that saves checkpoints; SIGKILL: a crash). */
  async kill(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    const child = this.child;
    const exited = this.exited;
    if (!child || !exited) return;
    child.kill(signal);
    await exited;
    this.child = undefined;
  }

  /** The end of the Collector's own output (all starts), for failure messages. */
  logTail(lines = 40): string {
    if (!existsSync(this.logPath)) return "";
    return readFileSync(this.logPath, "utf8").split("\n").slice(-lines).join("\n");
  }

  /** The Collector's own output (all starts). */
  log(): string {
    return existsSync(this.logPath) ? readFileSync(this.logPath, "utf8") : "";
  }

  private port(name: "http" | "grpc" | "health"): number {
    if (!this.ports) throw new Error("the Collector has not been started");
    return this.ports[name];
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A deep merge of plain objects (arrays and other values of `b` win), as the Collector merges --config files. */
function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const current = result[key];
    result[key] = isPlainObject(current) && isPlainObject(value) ? merge(current, value) : value;
  }
  return result;
}

/** One record the Collector's file exporter wrote. */
export interface ExportedRecord extends ReceivedRecord {
  /** Byte offset in the export file of the request the record came in. */
  offset: number;
}

/** The file exporter's own artefact of a crash: two requests on one line (see readExport). */
const REQUEST_START = '{"resourceLogs":';

/**
 * The records of a file exporter's output (OTLP JSON, one request per line),
 * with the byte offset each request starts at. A line that is not JSON fails
 * the test with its text. One exception, the file exporter's own: it writes
 * a request and its newline in two write(2) calls, so a Collector killed
 * between them leaves a line without its newline and the next request lands
 * on the same line; such a line is split into its requests.
 */
export function readExport(path: string): ExportedRecord[] {
  if (!existsSync(path)) return [];
  const data = readFileSync(path);
  const records: ExportedRecord[] = [];
  let lineStart = 0;
  for (let newline = data.indexOf(10); newline !== -1; newline = data.indexOf(10, lineStart)) {
    const line = data.subarray(lineStart, newline).toString("utf8");
    const parts = line.split(`}${REQUEST_START}`);
    let offset = lineStart;
    parts.forEach((part, index) => {
      const text = `${index > 0 ? REQUEST_START : ""}${part}${index < parts.length - 1 ? "}" : ""}`;
      let request: OtlpLogsRequest;
      try {
        request = JSON.parse(text) as OtlpLogsRequest;
      } catch {
        throw new Error(`${path} at byte ${offset} is not JSON: ${text.slice(0, 200)}`);
      }
      for (const record of recordsOf(request)) records.push({ ...record, offset });
      offset += Buffer.byteLength(text);
    });
    lineStart = newline + 1;
  }
  return records;
}
