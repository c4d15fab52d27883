/**
 * auditx inside an existing OpenTelemetry setup: the runnable examples
 * (a NodeSDK service, a service with its own LoggerProvider) run as child
 * processes (they register OTel globals) from the built package, against a
 * real OTLP receiver; the trail and the exported records are checked.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ROOT, rawLines, readJsonl, tempDir } from "./support/core-trail.js";
import { OtlpReceiver } from "./support/otlp-receiver.js";

const receiver = new OtlpReceiver();
let dir: string;
let cleanup: () => void;

beforeAll(async () => {
  await receiver.start();
});
afterAll(async () => {
  await receiver.stop();
});
beforeEach(() => {
  ({ dir, cleanup } = tempDir("auditx-otel-sdk-"));
  receiver.requests.length = 0;
  receiver.otherRequests.length = 0;
});
afterEach(() => cleanup());

/** Runs an example to its end (killed after 30 s) and returns its exit code and output. */
function runExample(name: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, "examples", "otel-sdk", name)], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        AUDITX_LOG_DIR: dir,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.origin,
        OTEL_METRICS_EXPORTER: "none",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe("inside a NodeSDK service", () => {
  it("runs auditx's processors in the SDK's provider: trail, audit-only OTLP export, SDK resource and trace ids", async () => {
    const result = await runExample("node-sdk-service.mjs", { OTEL_SERVICE_NAME: "erp-api-under-test", OTEL_TRACES_EXPORTER: "otlp" });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);

    const trail = readJsonl(join(dir, "audit.jsonl"));
    expect(trail.map((line) => line.description)).toEqual(["Sales invoice posted", "Login failed"]);
    expect(readJsonl(join(dir, "security.jsonl")).map((line) => line.description)).toEqual(["Login failed"]);
    expect(rawLines(join(dir, "app.log")).some((line) => line.includes("invoice batch done"))).toBe(true);

    // Only auditx records are exported by auditx: the service's own "service started" is not.
    // auditx's own lifecycle records (START, STOP) go out too; the service's records are compared here.
    const records = receiver.records.filter((record) => record.attributes["auditx.entity.type"] !== "auditx");
    expect(records.map((record) => record.body).sort()).toEqual(["Login failed", "Sales invoice posted", "invoice batch done"]);
    const invoice = records.find((record) => record.body === "Sales invoice posted");
    expect(invoice?.resource["service.name"]).toBe("erp-api-under-test");
    expect(invoice?.attributes).toMatchObject({
      "auditx.stream": "audit",
      "user.id": "admin",
      "auditx.company_id": "CO-001",
      "auditx.amount": 1_250_000,
      "auditx.metadata": { party: "Golden Trading Co." },
    });
    expect(records.find((record) => record.body === "Login failed")?.attributes["auditx.stream"]).toBe("security");
    // The NodeSDK's tracer made the span active: same ids in the record and the line.
    expect(invoice?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(trail[0]).toMatchObject({ trace_id: invoice?.traceId, span_id: invoice?.spanId });
    expect(receiver.otherRequests).toContain("/v1/traces");

    const stats = JSON.parse(result.stdout.trim().split("\n").at(-1) ?? "{}") as { otlp?: { exported: number } };
    // Its START went out with them (the stats are printed before shutdown, so before STOP).
    expect(stats.otlp?.exported).toBe(4);
  });
});

describe("inside a service with its own LoggerProvider", () => {
  it("writes the trail and lets the service's exporter ship every record once", async () => {
    const result = await runExample("own-provider-service.mjs", {});
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const trail = readJsonl(join(dir, "audit.jsonl"));
    expect(trail.map((line) => line.description)).toEqual(["Stock adjusted after count", "Reorder level changed"]);
    expect(trail[0]).toMatchObject({ entity_type: "product", entity_id: "P-1001", user: "store.keeper" });

    const bodies = receiver.records.filter((record) => record.attributes["auditx.entity.type"] !== "auditx").map((record) => record.body);
    expect(bodies.sort()).toEqual(["Reorder level changed", "Stock adjusted after count", "stock sync started"]);
    const change = receiver.records.find((record) => record.body === "Reorder level changed");
    expect(change?.resource["service.name"]).toBe("inventory-service");
    expect(change?.attributes).toMatchObject({
      "auditx.stream": "audit",
      "auditx.old_values": { reorder_level: 20 },
      "auditx.new_values": { reorder_level: 35 },
    });
    // The service's own record is not an audit record and stays out of the trail.
    expect(receiver.records.find((record) => record.body === "stock sync started")?.attributes).not.toHaveProperty("auditx.stream");
  });
});
