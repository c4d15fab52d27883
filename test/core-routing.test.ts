/**
 * Routing: which record lands in which trail file, with auditx's own provider
 * and with auditx's processors inside a LoggerProvider of the user's own.
 */
import { join } from "node:path";
import { LoggerProvider } from "@opentelemetry/sdk-logs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  AuditConfigError,
  type AuditEntry,
  AuditHub,
  type AuditLogger,
  createAuditProcessors,
  createLogger,
  type HubEvent,
  LogLevel,
} from "../src/index.js";
import { rawLines, readJsonl, tempDir } from "./support/core-trail.js";

let dir: string;
let cleanup: () => void;
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
});
afterEach(() => cleanup());

/** One entry of every level, plus app messages; returns the descriptions written per level. */
function writeEveryLevel(logger: AuditLogger): void {
  for (const level of Object.values(LogLevel)) logger.log(`entry ${level}`, { level });
  logger.logSecurity("login ok", { user: "admin", level: LogLevel.SECURITY });
  logger.info("app info message");
  logger.critical("app critical message");
  logger.loggingCustom("custom message", { level: "error", user: "svc" });
}

function expectRouted(logDir: string): void {
  const audit = readJsonl(join(logDir, "audit.jsonl")).map((e) => e.description);
  const security = readJsonl(join(logDir, "security.jsonl")).map((e) => e.description);
  expect(audit).toEqual([...Object.values(LogLevel).map((level) => `entry ${level}`), "login ok"]);
  expect(security).toEqual(["entry CRITICAL", "entry SECURITY", "login ok"]);
  const app = rawLines(join(logDir, "app.log"));
  expect(app).toHaveLength(3);
  expect(app[0]).toContain("| INFO | app info message");
  expect(app[1]).toContain("| CRITICAL | app critical message");
  expect(app[2]).toContain("| svc | N/A | ERROR | custom message");
  // App messages never reach the JSONL trails, audit entries never reach app.log.
  expect(audit.some((d) => String(d).includes("message"))).toBe(false);
  expect(app.some((line) => line.includes("entry "))).toBe(false);
}

describe("stream routing", () => {
  it("SECURITY and CRITICAL also go to security.jsonl, others only to audit.jsonl, app messages only to app.log", async () => {
    const logger = createLogger({ auditLifecycle: false, logDir: dir });
    writeEveryLevel(logger);
    expect(logger.stats().written).toEqual({ audit: 9, security: 3, app: 3 });
    await logger.shutdown();
    expectRouted(dir);
  });

  it("the security copy is the same line as in audit.jsonl", async () => {
    const logger = createLogger({ auditLifecycle: false, logDir: dir });
    logger.logSecurity("Password change refused", { action: "UPDATE", user: "u1", success: false });
    await logger.shutdown();
    expect(rawLines(join(dir, "security.jsonl"))).toEqual(rawLines(join(dir, "audit.jsonl")));
  });

  it("publishes to a connected hub as audit, and SECURITY/CRITICAL also as security", async () => {
    const logger = createLogger({ auditLifecycle: false, logDir: dir });
    const hub = new AuditHub();
    const events: HubEvent[] = [];
    hub.subscribe((event: HubEvent) => void events.push(event));
    const disconnect = logger.connectHub(hub);
    logger.log("plain");
    logger.logSecurity("login failed", { success: false, ip: "1.2.3.4" });
    logger.info("not published");
    disconnect();
    logger.log("after disconnect");
    await logger.shutdown();
    expect(events.map((e) => [e.source, e.entry.description])).toEqual([
      ["audit", "plain"],
      ["audit", "login failed"],
      ["security", "login failed"],
    ]);
  });
});

describe("createAuditProcessors in the user's own LoggerProvider", () => {
  it("routes auditx records like auditx's own provider, and other code's records only where they declare a stream", async () => {
    const received: AuditEntry[] = [];
    const processors = createAuditProcessors({ logDir: dir, onAudit: (entry) => void received.push(entry) });
    const provider = new LoggerProvider({ processors });
    const logger = createLogger({ auditLifecycle: false, loggerProvider: provider, processors });
    expect(logger.logDir).toBe(dir);
    writeEveryLevel(logger);
    // Another library's log through the same provider: no auditx stream, not in the trail.
    provider.getLogger("other-lib").emit({ severityText: "ERROR", severityNumber: 17, body: "unrelated", attributes: { foo: "bar" } });
    // Records from other code that declare the audit stream are written as entries.
    provider.getLogger("bridge").emit({
      severityText: "SECURITY",
      severityNumber: 18,
      body: "bridged login",
      attributes: { "auditx.stream": "security", "user.id": "bridge-user", "auditx.module": "auth" },
    });
    await provider.forceFlush();
    await provider.shutdown();
    const audit = readJsonl(join(dir, "audit.jsonl"));
    expect(audit.map((e) => e.description)).toEqual([
      ...Object.values(LogLevel).map((level) => `entry ${level}`),
      "login ok",
      "bridged login",
    ]);
    expect(audit.at(-1)).toMatchObject({ level: "SECURITY", module: "auth", user: "bridge-user", success: true });
    expect(readJsonl(join(dir, "security.jsonl")).map((e) => e.description)).toEqual([
      "entry CRITICAL",
      "entry SECURITY",
      "login ok",
      "bridged login",
    ]);
    expect(rawLines(join(dir, "app.log")).some((line) => line.includes("unrelated"))).toBe(false);
    expect(received.map((e) => e.description)).toContain("bridged login");
    expect(received).toHaveLength(10);
  });

  it("finds the processors on first emit when only the provider is given", async () => {
    const processors = createAuditProcessors({ logDir: dir });
    const provider = new LoggerProvider({ processors });
    const logger = createLogger({ auditLifecycle: false, loggerProvider: provider });
    logger.logTransaction("Invoice posted", { amount: 5 });
    expect(logger.stats().written.audit).toBe(1);
    await provider.shutdown();
    expect(readJsonl(join(dir, "audit.jsonl"))).toHaveLength(1);
  });

  it("a provider without auditx's processors gives a clear AuditConfigError", async () => {
    const provider = new LoggerProvider({ processors: [] });
    const logger = createLogger({ auditLifecycle: false, loggerProvider: provider });
    expect(() => logger.log("lost?")).toThrow(AuditConfigError);
    expect(() => logger.info("lost?")).toThrow(/createAuditProcessors/);
    await provider.shutdown();
  });
});
