/**
 * The OTLP path, run for real: auditx exports every kind of record over
 * OTLP/HTTP to the Collector running collector-config.yaml, whose pipelines
 * write them with the file exporters. The output is decoded and checked
 * against DESIGN.md's mapping and the trail lines the same calls wrote; the
 * security pipeline gets exactly the SECURITY and CRITICAL records. The
 * filelog path, tailing the same trail, delivers the same records.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { context, type Span, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchLogRecordProcessor, LoggerProvider } from "@opentelemetry/sdk-logs";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AuditAction,
  type AuditLogger,
  BusinessModule,
  createAuditProcessors,
  createLogger,
  LogLevel,
  RequestContext,
  SEVERITY_NUMBER,
} from "../../src/index.js";
import { CollectorProcess, type ExportedRecord, readExport } from "../support/collector.js";
import { readJsonl, tempDir } from "../support/core-trail.js";
import { eventually } from "../support/eventually.js";

const contextManager = new AsyncLocalStorageContextManager();
const tracerProvider = new BasicTracerProvider();

let dir: string;
let cleanup: () => void;
let collector: CollectorProcess;
const trailDir = () => join(dir, "trail");
const out = (name: string) => join(dir, "export", name);

type Line = Record<string, unknown>;
let auditLines: Line[];
let securityLines: Line[];
let audit: ExportedRecord[];
let security: ExportedRecord[];
/** Everything the Collector received, before any processor (a test-only pipeline). */
let received: ExportedRecord[];
let spanIds: { traceId: string; spanId: string };

/** Every kind of record auditx writes, from one logger, in a request's context and a span. */
async function writeEveryKind(logger: AuditLogger): Promise<void> {
  const tracer = trace.getTracer("erp-test");
  spanIds = await tracer.startActiveSpan("POST /api/invoices", async (span: Span) => {
    RequestContext.run(
      {
        user: "admin",
        userRole: "manager, approver",
        companyId: "CO-001",
        branchId: "BR-YGN",
        ip: "192.168.1.10",
        sessionId: "s-9",
        requestId: "r-1",
      },
      () => {
        logger.logTransaction("Sales invoice posted", {
          module: BusinessModule.SALES,
          action: AuditAction.POST,
          referenceNo: "SI-2026-0042",
          amount: 1_250_000,
          entityType: "sales_invoice",
          entityId: "inv-42",
          party: "Golden Trading Co.",
        });
        logger.logTransaction("Payment received", {
          module: BusinessModule.ACCOUNTING,
          action: AuditAction.PAYMENT,
          amount: 99.95,
          currency: "USD",
        });
        logger.logChange("Credit limit changed", {
          module: BusinessModule.CRM,
          entityType: "customer",
          entityId: "C-7",
          oldValues: { credit_limit: 5_000_000, terms: { days: 30 } },
          newValues: { credit_limit: 8_000_000, terms: { days: 45 }, approved_by: ["cfo"] },
        });
        logger.logInventory("Stock adjusted after count", {
          action: AuditAction.ADJUST,
          productId: "P-1001",
          productName: "Copper wire 2.5mm",
          quantity: -12,
          unit: "roll",
          warehouseId: "WH-1",
        });
        logger.logService("Service job closed", {
          jobId: "J-77",
          customerId: "C-7",
          technician: "tun",
          serviceType: "repair",
          statusLabel: "closed",
        });
        logger.log("Invoice created over the API", { method: "POST", endpoint: "/api/invoices?draft=1&branch=BR-YGN", status: 201 });
        logger.auditing({ module: BusinessModule.REPORTING, action: AuditAction.EXPORT, description: "Ledger exported" }, () => "csv")();
        for (const level of Object.values(LogLevel)) logger.log(`Level ${level} entry`, { level });
        logger.logSecurity("User login successful", { action: AuditAction.LOGIN });
        // Past maxAttempts (2) failed logins from one address: the third is CRITICAL.
        for (let attempt = 1; attempt <= 3; attempt++) {
          logger.logSecurity(`Login failed #${attempt}`, { action: AuditAction.LOGIN, user: "mallory", ip: "10.9.8.7", success: false });
        }
        // app.log messages travel as auditx.stream = app.
        logger.loggingCustom("Tenant status updated", { level: "info", user: "billing", isActive: "no" });
        logger.info("Nightly sync started", { batch: 7 });
        logger.warning("Sync slow");
        logger.error("Sync failed", { code: "E42" });
        logger.critical("Disk almost full");
      },
    );
    span.end();
    return span.spanContext();
  });
  // Outside the request and the span.
  logger.log("Scheduled cleanup ran", { user: "scheduler" });
  await logger.flush();
}

/** Waits until the Collector's output holds `count` records. */
async function waitForRecords(path: string, count: number, what: string): Promise<ExportedRecord[]> {
  await eventually(() => readExport(path).length >= count, 30_000, `${count} records in ${what}`, 100).catch((error: Error) => {
    throw new Error(`${error.message} (found ${readExport(path).length}); the Collector's last output:\n${collector.logTail(10)}`);
  });
  return readExport(path);
}

beforeAll(async () => {
  context.setGlobalContextManager(contextManager.enable());
  trace.setGlobalTracerProvider(tracerProvider);
  ({ dir, cleanup } = tempDir("auditx-collector-otlp-"));
  const emptyTrail = join(dir, "no-trail");
  mkdirSync(emptyTrail);
  collector = new CollectorProcess({
    // Nothing to tail: only the OTLP pipelines carry records here.
    logDir: emptyTrail,
    storageDir: join(dir, "storage"),
    exportDir: join(dir, "export"),
    overlay: {
      // A pipeline of the test's own that records what arrives, untouched by any processor.
      exporters: { "file/received": { path: out("received-otlp.jsonl"), format: "json" } },
      service: { pipelines: { "logs/received": { receivers: ["otlp"], exporters: ["file/received"] } } },
    },
  });
  await collector.start();

  // The records of the calls alone (no START or STOP of the logger), each compared with its trail line.
  const logger = createLogger({
    logDir: trailDir(),
    auditLifecycle: false,
    serviceName: "erp-api",
    hostname: "erp-host-1",
    rateLimit: { maxAttempts: 2 },
    otlp: { url: collector.logsUrl, scheduledDelayMillis: 50 },
  });
  await writeEveryKind(logger);
  const stats = logger.stats();
  await logger.shutdown();

  auditLines = readJsonl(join(trailDir(), "audit.jsonl"));
  securityLines = readJsonl(join(trailDir(), "security.jsonl"));
  const appMessages = stats.written.app;
  expect(appMessages).toBe(5);
  expect(stats.otlp).toMatchObject({ exported: auditLines.length + appMessages, failed: 0, dropped: 0, pending: 0 });
  audit = await waitForRecords(out("audit-otlp.jsonl"), auditLines.length, "the audit output");
  security = await waitForRecords(out("security-otlp.jsonl"), securityLines.length, "the security output");
  received = await waitForRecords(out("received-otlp.jsonl"), auditLines.length + appMessages, "the received output");
}, 120_000);

afterAll(async () => {
  await collector?.kill("SIGTERM");
  trace.disable();
  context.disable();
  await tracerProvider.shutdown();
  cleanup?.();
});

/** DESIGN.md's attribute table, applied to a trail line by hand. */
function expectedAttributes(line: Line): Record<string, unknown> {
  const a: Record<string, unknown> = {
    "auditx.stream": line.level === "SECURITY" || line.level === "CRITICAL" ? "security" : "audit",
    "auditx.success": line.success,
  };
  const copy = (field: string, attribute: string) => {
    if (line[field] !== undefined) a[attribute] = line[field];
  };
  copy("user", "user.id");
  if (typeof line.user_role === "string") a["user.roles"] = line.user_role.split(",").map((role) => role.trim());
  copy("ip", "client.address");
  copy("session_id", "session.id");
  copy("method", "http.request.method");
  if (typeof line.endpoint === "string") {
    const [path, query] = line.endpoint.split("?");
    a["url.path"] = path;
    if (query !== undefined) a["url.query"] = query;
  }
  if (line.status !== null && line.status !== undefined) a["http.response.status_code"] = line.status;
  copy("request_id", "auditx.request_id");
  copy("module", "auditx.module");
  copy("action", "auditx.action");
  copy("company_id", "auditx.company_id");
  copy("branch_id", "auditx.branch_id");
  copy("entity_type", "auditx.entity.type");
  copy("entity_id", "auditx.entity.id");
  copy("reference_no", "auditx.reference_no");
  copy("amount", "auditx.amount");
  copy("currency", "auditx.currency");
  copy("old_values", "auditx.old_values");
  copy("new_values", "auditx.new_values");
  copy("metadata", "auditx.metadata");
  copy("id", "log.record.uid");
  return a;
}

function byBody(records: ExportedRecord[]): Map<string, ExportedRecord> {
  const map = new Map<string, ExportedRecord>();
  for (const record of records) {
    const body = String(record.body);
    expect(map.has(body), `${body} arrived once`).toBe(false);
    map.set(body, record);
  }
  return map;
}

describe("the OTLP path through collector-config.yaml", () => {
  it("writes every audit and security record to the audit output, once, and no app.log message", () => {
    expect(auditLines.length).toBeGreaterThan(15);
    expect(audit.map((record) => String(record.body)).sort()).toEqual(auditLines.map((line) => String(line.description)).sort());
    expect(audit.filter((record) => record.attributes["auditx.stream"] === "app")).toEqual([]);
  });

  it("maps each record as DESIGN.md says: body, severity, time, attributes, trace context, resource", () => {
    const records = byBody(audit);
    for (const line of auditLines) {
      const record = records.get(String(line.description));
      expect(record, String(line.description)).toBeDefined();
      if (!record) continue;
      const level = line.level as LogLevel;
      expect(record.severityText).toBe(level);
      expect(record.severityNumber).toBe(SEVERITY_NUMBER[level]);
      expect(Number(BigInt(record.timeUnixNano ?? "0") / 1_000_000n)).toBe(Date.parse(String(line.timestamp)));
      expect(record.attributes, String(line.description)).toEqual(expectedAttributes(line));
      expect(record.traceId).toBe(line.trace_id);
      expect(record.spanId).toBe(line.span_id);
      expect(record.resource).toMatchObject({ "service.name": "erp-api", "host.name": "erp-host-1", "telemetry.sdk.language": "nodejs" });
      expect(record.scope).toBe("auditx");
    }
    // The values, spelled out for the main record.
    const invoice = records.get("Sales invoice posted");
    expect(invoice?.attributes).toMatchObject({
      "user.id": "admin",
      "user.roles": ["manager", "approver"],
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
      "auditx.amount": 1_250_000,
      "auditx.metadata": { party: "Golden Trading Co." },
    });
    expect(invoice).toMatchObject({ traceId: spanIds.traceId, spanId: spanIds.spanId });
    expect(records.get("Scheduled cleanup ran")?.traceId).toBeUndefined();
    expect(records.get("Invoice created over the API")?.attributes).toMatchObject({
      "http.request.method": "POST",
      "url.path": "/api/invoices",
      "url.query": "draft=1&branch=BR-YGN",
      "http.response.status_code": 201,
    });
    expect(records.get("Credit limit changed")?.attributes["auditx.new_values"]).toEqual({
      credit_limit: 8_000_000,
      terms: { days: 45 },
      approved_by: ["cfo"],
    });
  });

  it("keeps the wire types: amounts as doubles, maps as maps, status as an int, success as a bool", () => {
    const records = byBody(audit);
    expect(records.get("Sales invoice posted")?.rawAttributes["auditx.amount"]).toEqual({ doubleValue: 1_250_000 });
    expect(records.get("Payment received")?.rawAttributes["auditx.amount"]).toEqual({ doubleValue: 99.95 });
    expect(records.get("Credit limit changed")?.rawAttributes["auditx.old_values"]).toHaveProperty("kvlistValue");
    expect(records.get("Invoice created over the API")?.rawAttributes["http.response.status_code"]).toHaveProperty("intValue");
    expect(records.get("User login successful")?.rawAttributes["auditx.success"]).toEqual({ boolValue: true });
  });

  it("sends exactly the SECURITY and CRITICAL records through the security pipeline", () => {
    const expected = auditLines
      .filter((line) => line.level === "SECURITY" || line.level === "CRITICAL")
      .map((line) => String(line.description));
    expect(expected.length).toBeGreaterThanOrEqual(5);
    expect(securityLines.map((line) => String(line.description)).sort()).toEqual([...expected].sort());
    expect(security.map((record) => String(record.body)).sort()).toEqual([...expected].sort());
    for (const record of security) {
      expect(record.attributes["auditx.stream"]).toBe("security");
      expect([18, 21]).toContain(record.severityNumber);
    }
    const critical = security.filter((record) => record.severityText === "CRITICAL");
    expect(critical.map((record) => String(record.body)).sort()).toEqual([
      "Level CRITICAL entry",
      "Rate limit exceeded - possible brute force",
    ]);
  });

  it("receives the app.log messages as auditx.stream = app, kept out of both outputs by the config's filters", () => {
    const app = received.filter((record) => record.attributes["auditx.stream"] === "app");
    expect(app.map((record) => String(record.body)).sort()).toEqual(
      ["Disk almost full", "Nightly sync started", "Sync failed", "Sync slow", "Tenant status updated"].sort(),
    );
    const bodies = new Set([...audit, ...security].map((record) => String(record.body)));
    for (const record of app) expect(bodies.has(String(record.body))).toBe(false);
    expect(app.find((record) => record.body === "Tenant status updated")?.attributes).toMatchObject({
      "user.id": "billing",
      "auditx.fields": { isActive: "no" },
    });
  });

  it("names every record as an OTel event: auditx.audit, auditx.security, auditx.app", () => {
    const names = (records: ExportedRecord[]) => new Set(records.map((record) => record.eventName));
    const byStream = (stream: string) => received.filter((record) => record.attributes["auditx.stream"] === stream);
    expect(names(byStream("audit"))).toEqual(new Set(["auditx.audit"]));
    expect(names(byStream("security"))).toEqual(new Set(["auditx.security"]));
    expect(names(byStream("app"))).toEqual(new Set(["auditx.app"]));
    expect(names(audit)).toEqual(new Set(["auditx.audit", "auditx.security"]));
    expect(names(security)).toEqual(new Set(["auditx.security"]));
  });

  it("makes a whole amount a double when another OTel exporter sent it as an int (transform/amount)", async () => {
    // auditx's processors inside a service's own provider; the service's exporter types a whole amount as intValue.
    const { dir: serviceDir, cleanup: cleanupService } = tempDir("auditx-collector-own-provider-");
    try {
      const auditProcessors = createAuditProcessors({ logDir: serviceDir });
      const provider = new LoggerProvider({
        resource: resourceFromAttributes({ "service.name": "inventory-service" }),
        processors: [...auditProcessors, new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: collector.logsUrl }) })],
      });
      const logger = createLogger({ loggerProvider: provider, processors: auditProcessors });
      logger.logTransaction("Purchase order approved", { module: BusinessModule.PURCHASE, action: AuditAction.APPROVE, amount: 480_000 });
      await logger.flush();
      await provider.shutdown();
      const find = (path: string) => readExport(path).find((record) => record.body === "Purchase order approved");
      const arrived = await eventually(() => find(out("received-otlp.jsonl")), 30_000, "the purchase order at the Collector", 100);
      expect(arrived.rawAttributes["auditx.amount"]).toEqual({ intValue: "480000" });
      const written = await eventually(() => find(out("audit-otlp.jsonl")), 30_000, "the purchase order in the audit output", 100);
      expect(written.rawAttributes["auditx.amount"]).toEqual({ doubleValue: 480_000 });
      expect(written.resource["service.name"]).toBe("inventory-service");
    } finally {
      cleanupService();
    }
  });

  it("delivers the same records through the filelog path, tailing the trail the OTLP path was fed from", async () => {
    const tailing = new CollectorProcess({
      logDir: trailDir(),
      storageDir: join(dir, "storage-tail"),
      exportDir: join(dir, "export-tail"),
    });
    await tailing.start();
    try {
      const path = join(dir, "export-tail", "audit-otlp.jsonl");
      await eventually(() => readExport(path).length >= auditLines.length, 30_000, "the trail through the filelog path", 100);
      const fromTrail = byBody(readExport(path));
      const fromOtlp = byBody(audit);
      expect([...fromTrail.keys()].sort()).toEqual([...fromOtlp.keys()].sort());
      for (const [body, viaFile] of fromTrail) {
        const viaOtlp = fromOtlp.get(body);
        const { "log.file.name": fileName, "service.name": service, "host.name": host, ...attributes } = viaFile.attributes;
        expect(fileName).toBe("audit.jsonl");
        // service and hostname are on each trail line; OTLP carries them on the Resource.
        expect({ service, host }).toEqual({ service: "erp-api", host: "erp-host-1" });
        expect(attributes, body).toEqual(viaOtlp?.attributes);
        expect(viaFile.severityText).toBe(viaOtlp?.severityText);
        expect(viaFile.severityNumber).toBe(viaOtlp?.severityNumber);
        expect(viaFile.timeUnixNano).toBe(viaOtlp?.timeUnixNano);
        expect(viaFile.traceId).toBe(viaOtlp?.traceId);
        expect(viaFile.spanId).toBe(viaOtlp?.spanId);
        expect(viaFile.eventName).toBe(viaFile.attributes["auditx.stream"] === "security" ? "auditx.security" : "auditx.audit");
      }
      const securityPath = join(dir, "export-tail", "security-otlp.jsonl");
      await eventually(
        () => readExport(securityPath).length >= securityLines.length,
        30_000,
        "security.jsonl through the filelog path",
        100,
      );
      expect(
        readExport(securityPath)
          .map((record) => String(record.body))
          .sort(),
      ).toEqual(securityLines.map((line) => String(line.description)).sort());
    } finally {
      await tailing.kill("SIGTERM");
    }
  });
});
