/**
 * What reaches a collector over OTLP/HTTP: a real receiver on 127.0.0.1
 * decodes the exporter's JSON (and gzip) and each kind of record is checked
 * against DESIGN.md's attribute table and severity numbers.
 */
import { hostname } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AuditAction, type AuditLogger, BusinessModule, createLogger, LogLevel, RequestContext, SEVERITY_NUMBER } from "../src/index.js";
import { readJsonl, tempDir } from "./support/core-trail.js";
import { OtlpReceiver, type ReceivedRecord } from "./support/otlp-receiver.js";

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
  ({ dir, cleanup } = tempDir("auditx-otlp-"));
  receiver.requests.length = 0;
});
afterEach(async () => {
  await logger?.shutdown();
  logger = undefined;
  cleanup();
});

function open(extra: { compression?: "gzip" | "none"; headers?: Record<string, string> } = {}): AuditLogger {
  logger = createLogger({
    auditLifecycle: false,
    logDir: dir,
    serviceName: "erp-api",
    hostname: "erp-host-1",
    otlp: { url: receiver.url, scheduledDelayMillis: 50, ...extra },
  });
  return logger;
}

/** Flushes the logger and returns the records the receiver decoded, by body. */
async function exported(l: AuditLogger): Promise<Map<string, ReceivedRecord>> {
  await l.flush();
  return new Map(receiver.records.map((record) => [String(record.body), record]));
}

describe("OTLP mapping of audit records", () => {
  it("sends a transaction with the DESIGN.md attributes, severity and resource", async () => {
    const l = open();
    RequestContext.run(
      {
        user: "admin",
        userRole: "manager",
        companyId: "CO-001",
        branchId: "BR-YGN",
        ip: "192.168.1.10",
        sessionId: "s-9",
        requestId: "r-1",
      },
      () =>
        l.logTransaction("Sales invoice posted", {
          module: BusinessModule.SALES,
          action: AuditAction.POST,
          referenceNo: "SI-2026-0042",
          amount: 1_250_000.5,
          entityType: "sales_invoice",
          entityId: "inv-42",
          party: "Golden Trading Co.",
        }),
    );
    const record = (await exported(l)).get("Sales invoice posted");
    expect(record).toBeDefined();
    if (!record) return;
    expect(record.severityText).toBe("AUDIT");
    expect(record.severityNumber).toBe(11);
    expect(record.attributes).toEqual({
      "auditx.stream": "audit",
      "user.id": "admin",
      "user.roles": ["manager"],
      "client.address": "192.168.1.10",
      "session.id": "s-9",
      "auditx.request_id": "r-1",
      "auditx.module": "sales",
      "auditx.action": "POST",
      "auditx.company_id": "CO-001",
      "auditx.branch_id": "BR-YGN",
      "auditx.entity.type": "sales_invoice",
      "auditx.entity.id": "inv-42",
      "auditx.reference_no": "SI-2026-0042",
      "auditx.amount": 1_250_000.5,
      "auditx.currency": "MMK",
      "auditx.success": true,
      // As the original, an entry that gives no status is written with 200.
      "http.response.status_code": 200,
      "auditx.metadata": { party: "Golden Trading Co." },
      "log.record.uid": readJsonl(join(dir, "audit.jsonl"))[0]?.id,
    });
    expect(record.attributes["log.record.uid"]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(record.eventName).toBe("auditx.audit");
    expect(record.rawAttributes["auditx.amount"]).toEqual({ doubleValue: 1_250_000.5 });
    expect(record.rawAttributes["auditx.success"]).toEqual({ boolValue: true });
    expect(record.rawAttributes["auditx.metadata"]).toHaveProperty("kvlistValue");
    expect(record.scope).toBe("auditx");
    expect(record.resource["service.name"]).toBe("erp-api");
    expect(record.resource["host.name"]).toBe("erp-host-1");
    expect(record.resource["process.pid"]).toBe(process.pid);
    expect(record.resource["process.runtime.name"]).toBe("nodejs");
    expect(record.resource["process.runtime.version"]).toBe(process.versions.node);
    expect(record.resource["telemetry.sdk.language"]).toBe("nodejs");
    expect(record.resource).not.toHaveProperty("process.command_args");
    // The record's time is the entry's timestamp.
    const line = readJsonl(join(dir, "audit.jsonl"))[0];
    expect(Number(BigInt(record.timeUnixNano ?? "0") / 1_000_000n)).toBe(Date.parse(String(line?.timestamp)));
  });

  it("sends auditx.amount as a double whether the amount is whole or not", async () => {
    const l = open();
    l.logTransaction("Whole amount", { amount: 1_250_000 });
    l.logTransaction("Fractional amount", { amount: 1_250_000.5 });
    // Text that looks like the attribute on the wire stays as it was written.
    const lookalike = '"key":"auditx.amount","value":{"intValue":7}';
    l.logTransaction(lookalike, { metadata: { note: lookalike }, amount: 7 });
    const records = await exported(l);
    expect(records.get("Whole amount")?.rawAttributes["auditx.amount"]).toEqual({ doubleValue: 1_250_000 });
    expect(records.get("Fractional amount")?.rawAttributes["auditx.amount"]).toEqual({ doubleValue: 1_250_000.5 });
    const forged = records.get(lookalike);
    expect(forged?.rawAttributes["auditx.amount"]).toEqual({ doubleValue: 7 });
    expect(forged?.attributes["auditx.metadata"]).toEqual({ note: lookalike });
    // Other whole numbers keep their integer type.
    expect(forged?.rawAttributes["auditx.success"]).toEqual({ boolValue: true });
  });

  it("sends old and new values as AnyValue maps, with values the SDK would drop made safe", async () => {
    const l = open();
    const when = new Date("2026-01-02T03:04:05.000Z");
    l.logChange("Price changed", {
      entityType: "product",
      entityId: "P-1",
      oldValues: { price: 1200, tags: ["a", "b"], supplier: { id: "S-1", terms: { days: 30 } } },
      newValues: { price: 1350.75, effective: when, big: 12345678901234567890n, nothing: null },
    });
    const record = (await exported(l)).get("Price changed");
    expect(record).toBeDefined();
    if (!record) return;
    expect(record.rawAttributes["auditx.old_values"]).toHaveProperty("kvlistValue");
    expect(record.attributes["auditx.old_values"]).toEqual({ price: 1200, tags: ["a", "b"], supplier: { id: "S-1", terms: { days: 30 } } });
    // The same normalised values as the trail line: nothing dropped, nothing different.
    const line = readJsonl(join(dir, "audit.jsonl")).find((entry) => entry.description === "Price changed");
    expect(record.attributes["auditx.new_values"]).toEqual(line?.new_values);
    const newValues = record.attributes["auditx.new_values"] as Record<string, unknown>;
    expect(Object.keys(newValues).sort()).toEqual(["big", "effective", "nothing", "price"]);
    expect(newValues.effective).toBe(when.toISOString());
    expect(record.attributes["auditx.action"]).toBe("UPDATE");
  });

  it("sends failed logins as SECURITY 18 and the brute-force escalation as CRITICAL 21 on the security stream", async () => {
    logger = createLogger({
      auditLifecycle: false,
      logDir: dir,
      rateLimit: { maxAttempts: 2 },
      otlp: { url: receiver.url, scheduledDelayMillis: 50 },
    });
    const l = logger;
    for (let attempt = 1; attempt <= 3; attempt++) {
      l.logSecurity(`Login failed #${attempt}`, { action: AuditAction.LOGIN, user: "mallory", ip: "10.9.8.7", success: false });
    }
    await l.flush();
    const records = receiver.records;
    expect(records).toHaveLength(3);
    const [first, second, third] = records;
    for (const record of [first, second]) {
      expect(record?.severityText).toBe("SECURITY");
      expect(record?.severityNumber).toBe(18);
      expect(record?.attributes["auditx.stream"]).toBe("security");
      expect(record?.attributes["auditx.success"]).toBe(false);
      expect(record?.attributes["client.address"]).toBe("10.9.8.7");
      expect(record?.attributes["auditx.module"]).toBe("auth");
      expect(record?.attributes["auditx.action"]).toBe("LOGIN");
    }
    expect(third?.severityText).toBe("CRITICAL");
    expect(third?.severityNumber).toBe(21);
    expect(third?.attributes["auditx.stream"]).toBe("security");
    expect(third?.attributes["auditx.metadata"]).toMatchObject({ brute_force: true, failed_attempts: 3 });
    expect(String(third?.body)).toBe("Rate limit exceeded - possible brute force");
  });

  it("sends an HTTP entry with http.request.method, url.path, url.query and http.response.status_code", async () => {
    const l = open();
    l.log("Invoice created over the API", { method: "POST", endpoint: "/api/invoices?draft=1&branch=BR-YGN", status: 201 });
    l.log("Health checked", { method: "GET", endpoint: "/health", status: 200 });
    const records = await exported(l);
    const created = records.get("Invoice created over the API");
    expect(created?.attributes).toMatchObject({
      "http.request.method": "POST",
      "url.path": "/api/invoices",
      "url.query": "draft=1&branch=BR-YGN",
      "http.response.status_code": 201,
    });
    expect(created?.rawAttributes["http.response.status_code"]).toEqual({ intValue: 201 });
    const health = records.get("Health checked");
    expect(health?.attributes["url.path"]).toBe("/health");
    expect(health?.attributes).not.toHaveProperty("url.query");
  });

  it("maps every level to its severity number", async () => {
    const l = open();
    for (const level of Object.values(LogLevel)) l.log(`level ${level}`, { level });
    const records = await exported(l);
    for (const level of Object.values(LogLevel)) {
      const record = records.get(`level ${level}`);
      expect(record?.severityText).toBe(level);
      expect(record?.severityNumber).toBe(SEVERITY_NUMBER[level]);
    }
    expect(SEVERITY_NUMBER).toEqual({ DEBUG: 5, INFO: 9, NORMAL: 10, AUDIT: 11, WARNING: 13, ERROR: 17, SECURITY: 18, CRITICAL: 21 });
  });

  it("sends app messages on the app stream", async () => {
    const l = open();
    l.loggingCustom("Tenant status updated", { level: "warning", user: "billing", isActive: "no" });
    const record = (await exported(l)).get("Tenant status updated");
    expect(record?.severityText).toBe("WARNING");
    expect(record?.severityNumber).toBe(13);
    expect(record?.attributes["auditx.stream"]).toBe("app");
    expect(record?.attributes["user.id"]).toBe("billing");
  });
});

describe("OTLP transport", () => {
  it("compresses with gzip and sends the configured headers", async () => {
    const l = open({ compression: "gzip", headers: { authorization: "Bearer t0ken", "x-tenant": "CO-001" } });
    l.log("Compressed entry");
    const records = await exported(l);
    expect(records.get("Compressed entry")).toBeDefined();
    const request = receiver.requests.at(-1);
    expect(request?.path).toBe("/v1/logs");
    expect(request?.headers["content-encoding"]).toBe("gzip");
    expect(request?.headers["content-type"]).toBe("application/json");
    expect(request?.headers.authorization).toBe("Bearer t0ken");
    expect(request?.headers["x-tenant"]).toBe("CO-001");
  });

  it("counts exported records in stats()", async () => {
    const l = open();
    for (let i = 0; i < 25; i++) l.log(`counted ${i}`);
    await l.flush();
    const stats = l.stats().otlp;
    expect(stats).toMatchObject({ exported: 25, failed: 0, dropped: 0, pending: 0, endpoint: receiver.url });
    expect(receiver.records).toHaveLength(25);
  });

  it("rejects bad settings with AuditConfigError", () => {
    const bad = [
      { url: "not a url" },
      { url: "ftp://x/v1/logs" },
      { headers: { "x-a": "1\r\nx-b: 2" } },
      { maxQueueSize: -1 },
      { compression: "zip" },
    ];
    for (const otlp of bad) {
      expect(() => createLogger({ auditLifecycle: false, logDir: dir, otlp: otlp as never })).toThrow(/otlp\./);
    }
  });

  it("uses the machine's hostname when none is given", async () => {
    logger = createLogger({ auditLifecycle: false, logDir: dir, otlp: { url: receiver.url } });
    logger.log("host check");
    await logger.flush();
    expect(receiver.records[0]?.resource["host.name"]).toBe(hostname());
  });
});
