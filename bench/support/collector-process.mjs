// The Collector built by `npm run collector:build`, running collector-config.yaml
// for a benchmark: listening on free 127.0.0.1 ports (laid over the shipped
// addresses with a second --config file), folders from the config's variables.
import { spawn } from "node:child_process";
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const COLLECTOR_BINARY = join(ROOT, "collector", "build", "otelcol-auditx");
const CONFIG = join(ROOT, "collector-config.yaml");

async function freePort() {
  const server = createServer();
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export class Collector {
  /** @param {{ logDir: string, storageDir: string, exportDir: string, workDir: string }} folders */
  constructor(folders) {
    if (!existsSync(COLLECTOR_BINARY)) throw new Error(`${COLLECTOR_BINARY} is missing: run npm run collector:build`);
    this.folders = folders;
    this.logPath = join(folders.workDir, "collector.log");
    this.child = undefined;
  }

  get logsUrl() {
    return `http://127.0.0.1:${this.ports.http}/v1/logs`;
  }

  async start() {
    if (!this.ports) {
      this.ports = { http: await freePort(), grpc: await freePort(), health: await freePort() };
      this.overlay = join(this.folders.workDir, "overlay.yaml");
      writeFileSync(
        this.overlay,
        [
          "service: { telemetry: { metrics: { level: none } } }",
          `extensions: { health_check: { endpoint: "127.0.0.1:${this.ports.health}" } }`,
          `receivers: { otlp: { protocols: { http: { endpoint: "127.0.0.1:${this.ports.http}" }, grpc: { endpoint: "127.0.0.1:${this.ports.grpc}" } } } }`,
          "",
        ].join("\n"),
      );
    }
    const log = openSync(this.logPath, "a");
    const child = spawn(COLLECTOR_BINARY, ["--config", CONFIG, "--config", this.overlay, "--feature-gates=stanza.synchronousLogEmitter"], {
      env: {
        ...process.env,
        AUDITX_LOG_DIR: this.folders.logDir,
        OTELCOL_STORAGE_DIR: this.folders.storageDir,
        OTELCOL_EXPORT_DIR: this.folders.exportDir,
      },
      stdio: ["ignore", log, log],
    });
    closeSync(log);
    this.child = child;
    this.exited = new Promise((resolve) => child.once("exit", resolve));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the Collector exited:\n${readFileSync(this.logPath, "utf8").slice(-2000)}`);
      try {
        if ((await fetch(`http://127.0.0.1:${this.ports.health}/`)).status === 200) return;
      } catch {}
      if (Date.now() > deadline) throw new Error("the Collector did not become healthy");
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async kill(signal = "SIGTERM") {
    if (!this.child) return;
    this.child.kill(signal);
    await this.exited;
    this.child = undefined;
  }
}

/**
 * Reads a file exporter's output as it grows (only what was appended since the
 * last call): the records in it, and the distinct auditx.reference_no values.
 * Lines are parsed, so a torn line throws.
 */
export class ExportReader {
  constructor(path) {
    this.path = path;
    this.offset = 0;
    this.rest = "";
    this.count = 0;
    this.references = new Set();
  }

  read() {
    if (!existsSync(this.path)) return this;
    const fd = openSync(this.path, "r");
    try {
      const size = fstatSync(fd).size;
      if (size <= this.offset) return this;
      const chunk = Buffer.alloc(size - this.offset);
      readSync(fd, chunk, 0, chunk.length, this.offset);
      this.offset = size;
      const lines = (this.rest + chunk.toString("utf8")).split("\n");
      this.rest = lines.pop() ?? "";
      for (const line of lines) {
        if (line !== "") this.add(JSON.parse(line));
      }
      return this;
    } finally {
      closeSync(fd);
    }
  }

  add(request) {
    for (const resourceLogs of request.resourceLogs ?? []) {
      for (const scopeLogs of resourceLogs.scopeLogs ?? []) {
        for (const record of scopeLogs.logRecords ?? []) {
          this.count++;
          const reference = (record.attributes ?? []).find((a) => a.key === "auditx.reference_no");
          if (reference) this.references.add(reference.value.stringValue);
        }
      }
    }
  }
}
