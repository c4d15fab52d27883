/**
 * The OTLP path's credentials (user-info in the URL, token-like query
 * parameters, header values from the options and OTEL_EXPORTER_OTLP_HEADERS)
 * are sent to the collector and never shown: not in app.log, stats() or
 * error messages, also while the collector is down or answers with an error
 * that repeats them.
 */

import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AuditConfigError, type AuditLogger, createLogger } from "../src/index.js";
import { tempDir } from "./support/core-trail.js";
import { eventually } from "./support/eventually.js";
import { OtlpReceiver } from "./support/otlp-receiver.js";

const USER = "svc-user-zx1";
const PASSWORD = "pa55-zx2";
const TOKEN = "tok-zx3";
const HEADER = "hdr-secret-zx4";
const ENV_HEADER = "env-secret-zx5";
const SECRETS = [USER, PASSWORD, TOKEN, HEADER, ENV_HEADER];

let dir: string;
let cleanup: () => void;
let logger: AuditLogger | undefined;

beforeEach(() => {
  ({ dir, cleanup } = tempDir("auditx-otlp-credentials-"));
  vi.stubEnv("OTEL_EXPORTER_OTLP_HEADERS", `x-tenant-key=${ENV_HEADER}`);
});
afterEach(async () => {
  await logger?.shutdown();
  logger = undefined;
  vi.unstubAllEnvs();
  cleanup();
});

function withCredentials(origin: string): string {
  return `${origin.replace("://", `://${USER}:${PASSWORD}@`)}/v1/logs?token=${TOKEN}&tenant=erp`;
}

function expectClean(text: string, where: string): void {
  for (const secret of SECRETS) expect(text, `${where} shows ${secret}`).not.toContain(secret);
}

/** app.log's text; "" until its first line (a probe may come before the first report). */
function appLog(): string {
  const path = join(dir, "app.log");
  return existsSync(path) ? readFileSync(path, "utf8") : "";
}

describe("OTLP credentials", () => {
  it("are sent to the collector: user-info as Basic auth, the query and the headers as given", async () => {
    const receiver = await new OtlpReceiver().start();
    try {
      logger = createLogger({
        auditLifecycle: false,
        logDir: dir,
        otlp: { url: withCredentials(receiver.origin), headers: { Authorization: `Bearer ${HEADER}` }, scheduledDelayMillis: 20 },
      });
      logger.log("to the collector");
      await logger.flush();
      await receiver.waitForRecords(1);
      const headers = receiver.requests[0]!.headers;
      expect(headers["x-tenant-key"]).toBe(ENV_HEADER);
      expect(headers.authorization).toBe(`Bearer ${HEADER}`);
      expect(receiver.requests[0]!.path).toBe(`/v1/logs?token=${TOKEN}&tenant=erp`);
      await logger.shutdown();
      logger = createLogger({
        auditLifecycle: false,
        logDir: dir,
        otlp: { url: withCredentials(receiver.origin), scheduledDelayMillis: 20 },
      });
      logger.log("with Basic auth");
      await logger.flush();
      await receiver.waitForRecords(2);
      expect(receiver.requests.at(-1)!.headers.authorization).toBe(`Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`);
      const stats = logger.stats().otlp!;
      expect(stats.endpoint).toBe(`http://[REDACTED]@127.0.0.1:${new URL(receiver.origin).port}/v1/logs?token=[REDACTED]&tenant=erp`);
      expectClean(JSON.stringify(logger.stats()), "stats()");
    } finally {
      await receiver.stop();
    }
  });

  it("never reach app.log, stats() or lastError while the collector is down", async () => {
    const receiver = await new OtlpReceiver().start();
    const origin = receiver.origin;
    await receiver.stop();
    logger = createLogger({
      auditLifecycle: false,
      logDir: dir,
      otlp: { url: withCredentials(origin), headers: { Authorization: `Bearer ${HEADER}` }, timeoutMillis: 300, scheduledDelayMillis: 20 },
    });
    for (let i = 0; i < 5; i++) logger.log(`down ${i}`);
    await logger.flush();
    await eventually(() => (logger!.stats().otlp?.failed ?? 0) === 5, 15_000, "5 failed records");
    await eventually(() => appLog().includes("not exported"), 10_000, "the failure report in app.log");
    const stats = logger.stats();
    expect(stats.otlp?.lastError).toMatch(/ECONNREFUSED|connect/i);
    expectClean(JSON.stringify(stats), "stats()");
    await logger.shutdown();
    const text = appLog();
    expect(text).toContain("http://[REDACTED]@127.0.0.1:");
    expectClean(text, "app.log");
    expectClean(readFileSync(join(dir, "audit.jsonl"), "utf8"), "audit.jsonl");
  });

  it("are scrubbed from what a collector answers back", async () => {
    // A collector that repeats the credentials it got in its status line (as some proxies do).
    const echo: Server = createServer((request, response) => {
      request.resume();
      request.on("end", () => {
        response.writeHead(400, `bad credentials ${request.headers.authorization} ${request.url}`, { "content-type": "text/plain" });
        response.end(`rejected ${request.headers.authorization} ${request.headers["x-tenant-key"]}`);
      });
    });
    await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
    try {
      const origin = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;
      logger = createLogger({
        auditLifecycle: false,
        logDir: dir,
        otlp: { url: withCredentials(origin), headers: { Authorization: `Bearer ${HEADER}` }, scheduledDelayMillis: 20 },
      });
      logger.log("refused");
      await logger.flush();
      await eventually(() => (logger!.stats().otlp?.failed ?? 0) === 1, 15_000, "1 failed record");
      await eventually(() => appLog().includes("not exported"), 10_000, "the failure report");
      const lastError = logger.stats().otlp?.lastError ?? "";
      expect(lastError).toContain("bad credentials [REDACTED] /v1/logs?token=[REDACTED]");
      expectClean(JSON.stringify(logger.stats()), "stats()");
      expectClean(appLog(), "app.log");
    } finally {
      await logger?.shutdown();
      echo.closeAllConnections();
      await new Promise<void>((resolve) => echo.close(() => resolve()));
    }
  });

  it("are not repeated by configuration errors", () => {
    const errors: string[] = [];
    for (const url of [
      `ftp://${USER}:${PASSWORD}@collector/v1/logs?token=${TOKEN}`,
      `http//${USER}:${PASSWORD}@collector?token=${TOKEN}`,
    ]) {
      try {
        createLogger({ auditLifecycle: false, logDir: dir, otlp: { url } });
        errors.push("accepted");
      } catch (error) {
        expect(error).toBeInstanceOf(AuditConfigError);
        errors.push((error as Error).message);
      }
    }
    expect(errors[0]).toMatch(/otlp.url must be http: or https:/);
    expect(errors[1]).toMatch(/otlp.url is not a URL/);
    expectClean(errors.join("\n"), "the error messages");
  });
});
