/**
 * Parity with the Python auditX 0.9.1, item by item against its published
 * README (and README.md's "Differences from auditX" where auditx keeps a
 * safer or more correct behaviour): methods, console, entries outside a
 * request, logSecurity, auditing(), trail file names, app.log, logInventory
 * and the middleware's excluded paths.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import express from "express";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import {
  AuditAction,
  AuditConfigError,
  AuditInputError,
  type AuditLogger,
  BusinessModule,
  createLogger,
  LogLevel,
  RequestContext,
} from "../src/index.js";
import { auditMiddleware } from "../src/integrations/express.js";
import { startViewer } from "../src/viewer/index.js";
import { DIST_INDEX, rawLines, readJsonl, tempDir } from "./support/core-trail.js";
import { eventually } from "./support/eventually.js";
import { OtlpReceiver } from "./support/otlp-receiver.js";

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** The original's console and loggingCustom time: `28/06/2026 04:10:59 PM`. */
const DISPLAY_TIME = String.raw`\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2} [AP]M`;

let dir: string;
let cleanup: () => void;
let logger: AuditLogger | undefined;
let printed: string[];

/** A logger whose console lines are collected in `printed`. */
function open(options: Parameters<typeof createLogger>[0] = {}): AuditLogger {
  printed = [];
  // The console lines under test are the calls' own: the logger's START and STOP would come first and last.
  logger = createLogger({ logDir: dir, auditLifecycle: false, console: { write: (text: string) => void printed.push(text) }, ...options });
  return logger;
}
const auditLines = () => readJsonl(join(dir, "audit.jsonl"));
const lastLine = () => auditLines().at(-1) as Record<string, unknown>;
const appLines = () => rawLines(join(dir, "app.log"));

beforeEach(() => {
  ({ dir, cleanup } = tempDir("auditx-parity-"));
});
afterEach(async () => {
  vi.useRealTimers();
  await logger?.shutdown();
  logger = undefined;
  cleanup();
});

describe("1. the HTTP method is upper-cased, as the original does", () => {
  const receiver = new OtlpReceiver();
  beforeAll(() => receiver.start());
  afterAll(() => receiver.stop());

  it("in audit.jsonl, over OTLP (http.request.method) and in app.log", async () => {
    const l = open({ otlp: { url: receiver.url, scheduledDelayMillis: 50 } });
    l.log("Invoice fetched", { method: "get", endpoint: "/invoices/42", status: 200 });
    RequestContext.run({ method: "patch" }, () => l.log("Invoice edited"));
    l.loggingCustom("User modified custom system setting", { level: "warning", user: "sys_admin", method: "post" });
    await l.flush();
    expect(auditLines().map((line) => line.method)).toEqual(["GET", "PATCH"]);
    const methods = receiver.records.filter((record) => record.attributes["auditx.stream"] === "audit");
    expect(methods.map((record) => record.attributes["http.request.method"])).toEqual(["GET", "PATCH"]);
    expect(appLines()[0]).toMatch(
      new RegExp(`^${DISPLAY_TIME} \\| sys_admin \\| POST \\| WARNING \\| User modified custom system setting$`),
    );
  });
});

describe("2. the console, on by default, prints the original's line", () => {
  it("method, endpoint, status, description [reference] entity amount, user@branch, request id, IP", () => {
    const l = open();
    RequestContext.run({ user: "admin", branchId: "BR-YGN", ip: "192.168.1.10", requestId: "5f0c2a9e-1b2c-4d5e-8f90-123456789abc" }, () =>
      l.logTransaction("Sales invoice posted", {
        module: BusinessModule.SALES,
        action: AuditAction.POST,
        referenceNo: "SI-2026-0042",
        amount: 1_250_000,
        entityType: "sales_invoice",
        entityId: "inv-42",
        method: "post",
        endpoint: "/api/sales/invoices/inv-42/post",
      }),
    );
    expect(printed[0]).toMatch(
      new RegExp(
        `^${DISPLAY_TIME} \\| AUDIT \\| sales/POST \\| POST /api/sales/invoices/inv-42/post \\| 200 \\| ` +
          "Sales invoice posted \\[SI-2026-0042\\] sales_invoice:inv-42 1,250,000\\.00 MMK \\| admin@BR-YGN \\| req:5f0c2a9e \\| IP:192\\.168\\.1\\.10\\n$",
      ),
    );
  });

  it("N/A for no method, HQ for no branch, two decimals, the entry's status", () => {
    const l = open();
    l.logService("Service job completed", { jobId: "SVC-889", amount: 85_000.5, user: "U Kyaw" });
    l.logSecurity("Login failed: invalid password", { user: "mallory", ip: "203.0.113.9", success: false, status: 401 });
    expect(printed[0]).toContain(
      "| AUDIT | service/UPDATE | N/A | 200 | Service job completed service_job:SVC-889 85,000.50 MMK | U Kyaw@HQ | req:",
    );
    expect(printed[1]).toContain("| SECURITY | auth/LOGIN | N/A | 401 | Login failed: invalid password | mallory@HQ | req:");
    expect(printed[1]).toMatch(/\| IP:203\.0\.113\.9\n$/);
  });

  it("loggingCustom lines on the console are the app.log line", () => {
    const l = open();
    l.loggingCustom("Tenant status updated", { level: "info", user: "billing_service", isActive: "Not at all" });
    expect(printed).toEqual([`${appLines()[0]}\n`]);
  });

  it("is on for a logger created with the defaults; AUDITX_CONSOLE=off or console: false turn it off", async () => {
    const script = `
      const { createLogger } = await import(${JSON.stringify(DIST_INDEX)});
      const [dir, option] = process.argv.slice(1);
      const logger = createLogger({ logDir: dir, ...(option === "false" ? { console: false } : {}) });
      logger.log("Settings viewed", { user: "admin" });
      await logger.shutdown();`;
    const { AUDITX_CONSOLE: _, ...env } = process.env;
    const runScript = (option: string, extra: NodeJS.ProcessEnv) =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, ["--input-type=module", "-e", script, join(dir, option), option], {
          env: { ...env, NO_COLOR: "1", ...extra },
        });
        let out = "";
        child.stdout.on("data", (chunk) => {
          out += chunk;
        });
        child.on("error", reject);
        child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}`))));
      });
    // With the defaults the logger's own START and STOP are printed around the entry.
    const lines = (await runScript("default", {})).split(/(?<=\n)/);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(new RegExp(`^${DISPLAY_TIME} \\| SECURITY \\| system/START \\| `));
    expect(lines[1]).toMatch(
      new RegExp(
        `^${DISPLAY_TIME} \\| AUDIT \\| system/READ \\| N/A \\| 200 \\| Settings viewed \\| admin@HQ \\| req:[0-9a-f]{8} \\| IP:\\n$`,
      ),
    );
    expect(lines[2]).toMatch(new RegExp(`^${DISPLAY_TIME} \\| SECURITY \\| system/STOP \\| `));
    expect(await runScript("env-off", { AUDITX_CONSOLE: "off" })).toBe("");
    expect(await runScript("false", {})).toBe("");
    expect(readJsonl(join(dir, "env-off", "audit.jsonl"))).toHaveLength(1);
  });

  it("a bad AUDITX_CONSOLE is a configuration error, not a guess", () => {
    vi.stubEnv("AUDITX_CONSOLE", "sometimes");
    try {
      expect(() => createLogger({ logDir: dir })).toThrow(AuditConfigError);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe("3. every entry has a request id, a status and a currency, as in the original", () => {
  it("outside a request: a request id of its own (the entry's id), status 200, the default currency", () => {
    const l = open();
    const first = l.log("Nightly backup finished");
    const second = l.logChange("Price changed", { entityType: "product", entityId: "P-1" });
    for (const line of auditLines()) {
      expect(line.request_id).toBe(line.id);
      expect(line).toMatchObject({ status: 200, currency: "MMK", success: true });
    }
    expect(first.requestId).not.toBe(second.requestId);
  });

  it("RequestContext.set() starts a request with an id that its entries share; set() inside it keeps the id", () => {
    const l = open();
    RequestContext.run({}, () => {
      RequestContext.set({ user: "admin", branchId: "BR-YGN" });
      const { requestId } = RequestContext.get();
      expect(requestId).toMatch(UUID_V4);
      l.log("one");
      RequestContext.set({ user: "guard-replaced" });
      l.log("two");
      expect(auditLines().map((line) => [line.user, line.request_id])).toEqual([
        ["admin", requestId],
        ["guard-replaced", requestId],
      ]);
    });
  });

  it("a failure without a status is written without one: it never claims 200 OK", () => {
    const l = open();
    l.log("Export refused", { success: false });
    expect(lastLine()).toMatchObject({ status: null, success: false });
    l.log("Export refused", { success: false, status: 403 });
    expect(lastLine()).toMatchObject({ status: 403 });
    l.log("Report viewed", { status: null });
    expect(lastLine()).toMatchObject({ status: null, success: true });
  });
});

describe("4. logSecurity as the original writes it", () => {
  it("a successful login at AUDIT (audit.jsonl only), a failure at SECURITY (also security.jsonl), user UNKNOWN by default", () => {
    const l = open();
    l.logSecurity("User login successful", { action: AuditAction.LOGIN, user: "admin" });
    l.logSecurity("Login failed: invalid password", { success: false });
    expect(auditLines().map((line) => [line.level, line.user, line.module, line.action, line.success])).toEqual([
      ["AUDIT", "admin", "auth", "LOGIN", true],
      ["SECURITY", "UNKNOWN", "auth", "LOGIN", false],
    ]);
    expect(readJsonl(join(dir, "security.jsonl")).map((line) => line.description)).toEqual(["Login failed: invalid password"]);
    // The request's user, when there is one, rather than UNKNOWN.
    RequestContext.run({ user: "cashier-1" }, () => l.logSecurity("Password changed", { action: AuditAction.UPDATE }));
    expect(lastLine()).toMatchObject({ user: "cashier-1", level: "AUDIT" });
  });

  it("past 5 failed logins in 60 s: CRITICAL, 'Rate limit exceeded - possible brute force', the detail in metadata", () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const l = open();
    const attempt = () =>
      l.logSecurity("Login failed: invalid password", { user: "admin", ip: "203.0.113.77", success: false, status: 401 });
    const levels = Array.from({ length: 6 }, () => attempt().level);
    expect(levels).toEqual(["SECURITY", "SECURITY", "SECURITY", "SECURITY", "SECURITY", "CRITICAL"]);
    expect(lastLine()).toMatchObject({
      level: "CRITICAL",
      description: "Rate limit exceeded - possible brute force",
      success: false,
      status: 401,
      ip: "203.0.113.77",
      metadata: {
        attempt_description: "Login failed: invalid password",
        failed_attempts: 6,
        limit: 5,
        window_seconds: 60,
        rate_limit_key: "203.0.113.77",
        brute_force: true,
      },
    });
    // A minute later the window starts again.
    vi.advanceTimersByTime(60_000);
    expect(attempt().level).toBe("SECURITY");
    // Successful logins are not counted (auditx counts failures only: see Differences from auditX).
    for (let i = 0; i < 10; i++) l.logSecurity("User login successful", { user: "admin", ip: "203.0.113.77" });
    expect(lastLine()).toMatchObject({ level: "AUDIT", description: "User login successful" });
  });

  it("checkRateLimit(key, limit?, windowSeconds?) as the original's check_rate_limit", () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const l = open();
    expect(Array.from({ length: 6 }, () => l.checkRateLimit("10.0.0.1"))).toEqual([true, true, true, true, true, false]);
    expect(Array.from({ length: 3 }, () => l.checkRateLimit("api-key-7", 2, 10))).toEqual([true, true, false]);
    vi.advanceTimersByTime(10_000);
    // The key's own 10 s window has passed; the default 60 s one has not.
    expect(l.checkRateLimit("api-key-7", 2, 10)).toBe(true);
    expect(l.checkRateLimit("10.0.0.1")).toBe(false);
    vi.advanceTimersByTime(50_000);
    expect(l.checkRateLimit("10.0.0.1")).toBe(true);
    for (let i = 0; i < 5; i++) l.checkRateLimit("10.0.0.1");
    expect(l.checkRateLimit("10.0.0.1")).toBe(false);
    l.resetRateLimit("10.0.0.1");
    expect(l.checkRateLimit("10.0.0.1")).toBe(true);
    expect(() => l.checkRateLimit("k", -1)).toThrow(AuditInputError);
    expect(() => l.checkRateLimit("k", 5, 0)).toThrow(AuditInputError);
  });
});

describe("5. auditing(description, options) writes one entry, beside the wrapping form", () => {
  it("level NORMAL, module system, action READ unless given, status 200; returns the entry", () => {
    const l = open();
    const entry = l.auditing("Nightly stock valuation run", { module: BusinessModule.INVENTORY, user: "scheduler" });
    expect(entry.toDict()).toEqual(lastLine());
    expect(lastLine()).toMatchObject({
      level: "NORMAL",
      module: "inventory",
      action: "READ",
      description: "Nightly stock valuation run",
      user: "scheduler",
      status: 200,
      success: true,
    });
    l.auditing("Cache cleared", { level: LogLevel.AUDIT, action: AuditAction.DELETE });
    expect(lastLine()).toMatchObject({ level: "AUDIT", action: "DELETE", module: "system", user: "SYSTEM" });
    expect(auditLines()).toHaveLength(2);
  });

  it("a mix of the two forms is a clear error, and writes nothing", () => {
    const l = open();
    const close = () => 1;
    expect(() => l.auditing("Nightly close", close as never)).toThrow(/auditing\(\{ description \}, fn\)/);
    expect(() => (l.auditing as (options: object) => unknown)({ description: "Period closed" })).toThrow(
      /fn is missing; to write one entry, call auditing\(description, options\)/,
    );
    expect(() => l.auditing(42 as never)).toThrow(AuditInputError);
    expect(() => l.auditing("x", "y" as never)).toThrow(AuditInputError);
    expect(existsSync(join(dir, "audit.jsonl")) ? auditLines() : []).toEqual([]);
  });
});

describe("6. trail file names: auditLogFile, securityLogFile, appLogFile", () => {
  it("the logger writes, and rotates, the files it is given", () => {
    const l = open({
      auditLogFile: "erp-audit.jsonl",
      securityLogFile: "erp-security.jsonl",
      appLogFile: "erp-app.log",
      maxFileBytes: 600,
    });
    for (let i = 0; i < 5; i++) l.logSecurity(`Login failed ${i}`, { action: AuditAction.LOGOUT, success: false });
    l.info("started");
    expect(readJsonl(join(dir, "erp-audit.jsonl")).length).toBeGreaterThan(0);
    expect(readJsonl(join(dir, "erp-security.jsonl")).length).toBeGreaterThan(0);
    expect(rawLines(join(dir, "erp-app.log"))).toHaveLength(1);
    expect(existsSync(join(dir, "audit.jsonl")) || existsSync(join(dir, "security.jsonl")) || existsSync(join(dir, "app.log"))).toBe(false);
    expect(l.stats().rotations).toBeGreaterThan(0);
  });

  it("a name with a folder, an empty name or the same name twice is an AuditConfigError", () => {
    expect(() => createLogger({ logDir: dir, auditLogFile: "../audit.jsonl" })).toThrow(AuditConfigError);
    expect(() => createLogger({ logDir: dir, appLogFile: "" })).toThrow(AuditConfigError);
    expect(() => createLogger({ logDir: dir, auditLogFile: "trail.jsonl", securityLogFile: "trail.jsonl" })).toThrow(
      /three different files/,
    );
  });

  it("the viewer reads the trails by the same names (options and auditx ui flags)", async () => {
    const l = open({ auditLogFile: "erp-audit.jsonl", securityLogFile: "erp-security.jsonl" });
    l.log("Invoice posted");
    l.logSecurity("Login failed", { success: false });
    await l.flush();
    const viewer = await startViewer({
      logDir: dir,
      port: 0,
      auditLogFile: "erp-audit.jsonl",
      securityLogFile: "erp-security.jsonl",
      // Its own record of readers goes to the same files (checked in viewer-read-audit): not counted here.
      auditReads: false,
    });
    try {
      await viewer.viewer.ready;
      const stats = (await (await fetch(`${viewer.url}api/stats`)).json()) as Record<string, { total: number }>;
      expect([stats.audit?.total, stats.security?.total]).toEqual([2, 1]);
    } finally {
      await viewer.close();
    }
    await expect(startViewer({ logDir: dir, port: 0, auditLogFile: "a/b.jsonl" })).rejects.toThrow(AuditConfigError);

    // Without its record of readers either: its START would be counted once its poll had read it.
    const cli = spawn(
      process.execPath,
      [
        join(DIST_INDEX, "..", "cli", "main.js"),
        "ui",
        "--log-dir",
        dir,
        "--port",
        "0",
        "--audit-log-file",
        "erp-audit.jsonl",
        "--no-audit-reads",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        cli.stdout.on("data", (chunk) => {
          out += chunk;
          const found = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
          if (found) resolve(found[0]);
        });
        cli.once("exit", (code) => reject(new Error(`auditx ui exited with ${code}`)));
      });
      // The stats answer at once; until the first index build is done they say `partial`.
      let stats: Record<string, { total: number; partial?: true }> = {};
      await eventually(async () => {
        stats = (await (await fetch(`${url}api/stats`)).json()) as typeof stats;
        return stats.audit?.partial === undefined;
      });
      expect(stats.audit?.total).toBe(2);
    } finally {
      const exited = new Promise((resolve) => cli.once("exit", resolve));
      cli.kill("SIGTERM");
      await exited;
    }
  });
});

describe("7. app.log and logInventory as the original writes them", () => {
  it("loggingCustom: `datetime | user | method | Level | message | {json}`, the JSON as Python writes it", () => {
    const l = open();
    RequestContext.run({ user: "manager_user", ip: "192.168.1.15" }, () =>
      l.loggingCustom("Application initialization completed", { level: "info" }),
    );
    l.loggingCustom("Tenant status updated", { level: "info", user: "billing_service", isActive: "Not at all" });
    l.loggingCustom("Batch done", { user: "svc", count: 3, tags: ["a", "b"], nested: { ok: true, none: null } });
    const lines = appLines();
    expect(lines[0]).toMatch(new RegExp(`^${DISPLAY_TIME} \\| manager_user \\| N/A \\| INFO \\| Application initialization completed$`));
    expect(lines[1]).toMatch(
      new RegExp(`^${DISPLAY_TIME} \\| billing_service \\| N/A \\| INFO \\| Tenant status updated \\| \\{"isActive": "Not at all"\\}$`),
    );
    expect(
      lines[2].endsWith(' | svc | N/A | INFO | Batch done | {"count": 3, "tags": ["a", "b"], "nested": {"ok": true, "none": null}}'),
    ).toBe(true);
  });

  it("debug/info/warning/error/critical: Python logging's `yyyy-mm-dd hh:mm:ss,mmm | LEVEL | message | {json}`", () => {
    const l = open();
    l.info("Server started", { port: 8080 });
    l.critical("Database down");
    expect(appLines()[0]).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} \| INFO \| Server started \| \{"port": 8080\}$/);
    expect(appLines()[1]).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} \| CRITICAL \| Database down$/);
  });

  it("a failing onAudit is reported in app.log in the same format", () => {
    open({
      onAudit: () => {
        throw new Error("database is locked");
      },
    }).log("x");
    expect(appLines()[0]).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} \| ERROR \| onAudit failed: Error: database is locked$/);
  });

  it('logInventory: unit "pcs" unless given', () => {
    const l = open();
    l.logInventory("Stock issued for sales order", { action: AuditAction.TRANSFER, productId: "SKU-1001", quantity: 50 });
    expect(lastLine().metadata).toEqual({ quantity: 50, unit: "pcs" });
    l.logInventory("Cable received", { productId: "SKU-2040", quantity: 120, unit: "m" });
    expect(lastLine().metadata).toEqual({ quantity: 120, unit: "m" });
  });
});

describe("8. the middleware leaves out the original's paths, and the health probes, by path segment", () => {
  let server: Server;
  let url: string;
  beforeEach(async () => {
    const l = open({ console: false });
    const app = express();
    app.use(auditMiddleware({ logger: l }));
    app.use((req, res) => void res.json({ path: req.path }));
    server = app.listen(0, "127.0.0.1");
    await new Promise((resolve) => server.once("listening", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(() => new Promise((resolve) => server.close(resolve)));

  it("/docs, /redoc, /openapi.json, /favicon.ico and /healthz, /readyz, /livez (and below) are not audited", async () => {
    const excluded = ["/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json", "/favicon.ico", "/healthz", "/readyz", "/livez/db"];
    const audited = ["/docs-export", "/documents", "/api/docs", "/openapi.json.bak"];
    for (const path of [...excluded, ...audited]) expect((await fetch(`${url}${path}`)).status).toBe(200);
    await logger?.flush();
    expect(auditLines().map((line) => line.endpoint)).toEqual(audited);
  });
});
