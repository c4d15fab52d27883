/**
 * The standard OTEL_* variables turn the OTLP path on and configure it as
 * OTel users expect: OTEL_LOGS_EXPORTER, OTEL_EXPORTER_OTLP_[LOGS_]ENDPOINT,
 * _HEADERS, OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type AuditLogger, createLogger } from "../src/index.js";
import { isOtlpEnabled } from "../src/otlp/settings.js";
import { tempDir } from "./support/core-trail.js";
import { OtlpReceiver } from "./support/otlp-receiver.js";

const VARIABLES = [
  "OTEL_LOGS_EXPORTER",
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
  "OTEL_EXPORTER_OTLP_HEADERS",
  "OTEL_EXPORTER_OTLP_LOGS_HEADERS",
  "OTEL_SERVICE_NAME",
  "OTEL_RESOURCE_ATTRIBUTES",
  "OTEL_BLRP_SCHEDULE_DELAY",
];
const saved = new Map(VARIABLES.map((name) => [name, process.env[name]]));

const receiver = new OtlpReceiver();
let dir: string;
let cleanup: () => void;
let logger: AuditLogger | undefined;

beforeAll(async () => {
  await receiver.start();
});
afterAll(async () => {
  await receiver.stop();
});
beforeEach(() => {
  ({ dir, cleanup } = tempDir("auditx-otlp-env-"));
  receiver.requests.length = 0;
  for (const name of VARIABLES) delete process.env[name];
});
afterEach(async () => {
  await logger?.shutdown();
  logger = undefined;
  cleanup();
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe("OTLP from the environment", () => {
  it("is on with OTEL_LOGS_EXPORTER=otlp and follows OTEL_EXPORTER_OTLP_ENDPOINT, _HEADERS and the resource variables", async () => {
    process.env.OTEL_LOGS_EXPORTER = "otlp";
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.origin;
    process.env.OTEL_EXPORTER_OTLP_HEADERS = "authorization=Bearer%20env-token,x-scope-orgid=tenant-7";
    process.env.OTEL_SERVICE_NAME = "billing-service";
    process.env.OTEL_RESOURCE_ATTRIBUTES = "deployment.environment.name=staging,service.namespace=erp,service.name=ignored";
    process.env.OTEL_BLRP_SCHEDULE_DELAY = "20";
    logger = createLogger({ auditLifecycle: false, logDir: dir });
    logger.log("From the environment");
    await receiver.waitForRecords(1);
    const request = receiver.requests[0];
    expect(request?.path).toBe("/v1/logs");
    expect(request?.headers.authorization).toBe("Bearer env-token");
    expect(request?.headers["x-scope-orgid"]).toBe("tenant-7");
    const record = receiver.records[0];
    expect(record?.body).toBe("From the environment");
    expect(record?.resource).toMatchObject({
      "service.name": "billing-service",
      "service.namespace": "erp",
      "deployment.environment.name": "staging",
    });
    expect(logger.stats().otlp?.endpoint).toBe(`${receiver.origin}/v1/logs`);
  });

  it("takes OTEL_EXPORTER_OTLP_LOGS_ENDPOINT as the full URL, and the signal's headers over the general ones", async () => {
    process.env.OTEL_LOGS_EXPORTER = "otlp";
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = "http://127.0.0.1:9/never";
    process.env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT = `${receiver.origin}/custom/logs`;
    process.env.OTEL_EXPORTER_OTLP_HEADERS = "x-key=general,x-other=kept";
    process.env.OTEL_EXPORTER_OTLP_LOGS_HEADERS = "x-key=logs";
    logger = createLogger({ auditLifecycle: false, logDir: dir });
    logger.log("Signal endpoint");
    await logger.flush();
    expect(receiver.requests.map((request) => request.path)).toEqual(["/custom/logs"]);
    expect(receiver.requests[0]?.headers["x-key"]).toBe("logs");
    expect(receiver.requests[0]?.headers["x-other"]).toBe("kept");
  });

  it("lets code options win over the environment", async () => {
    process.env.OTEL_LOGS_EXPORTER = "otlp";
    process.env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT = "http://127.0.0.1:9/never";
    process.env.OTEL_EXPORTER_OTLP_HEADERS = "x-key=env";
    process.env.OTEL_SERVICE_NAME = "env-name";
    logger = createLogger({
      auditLifecycle: false,
      logDir: dir,
      serviceName: "code-name",
      otlp: { url: receiver.url, headers: { "x-key": "code" } },
    });
    logger.log("Options first");
    await logger.flush();
    expect(receiver.requests[0]?.headers["x-key"]).toBe("code");
    expect(receiver.records[0]?.resource["service.name"]).toBe("code-name");
  });

  it("stays off unless asked for, and otlp: false wins over the variable", async () => {
    expect(isOtlpEnabled(undefined, {})).toBe(false);
    expect(isOtlpEnabled(undefined, { OTEL_LOGS_EXPORTER: "none" })).toBe(false);
    expect(isOtlpEnabled(undefined, { OTEL_LOGS_EXPORTER: "console, otlp" })).toBe(true);
    expect(isOtlpEnabled(false, { OTEL_LOGS_EXPORTER: "otlp" })).toBe(false);
    expect(isOtlpEnabled({ url: "http://127.0.0.1:1/v1/logs" }, {})).toBe(true);
    process.env.OTEL_LOGS_EXPORTER = "otlp";
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.origin;
    logger = createLogger({ auditLifecycle: false, logDir: dir, otlp: false });
    logger.log("Not exported");
    await logger.flush();
    expect(logger.stats().otlp).toBeUndefined();
    expect(receiver.requests).toHaveLength(0);
  });
});
