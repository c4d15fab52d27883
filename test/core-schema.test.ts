/**
 * The trail's schema: every log method writes DESIGN.md's fields in order,
 * empty values left out, and the entry it returns (and onAudit receives) is
 * exactly the line on disk.
 */
import { hostname } from "node:os";
import { join } from "node:path";
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { InMemoryLogRecordExporter, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  AuditAction,
  type AuditEntry,
  type AuditLogger,
  audit,
  BusinessModule,
  configure,
  createLogger,
  entryFromDict,
  entryFromLogRecord,
  LogLevel,
  RequestContext,
} from "../src/index.js";
import { APP_LINE_RE, FIELD_ORDER, inFieldOrder, rawLines, readJsonl, TIMESTAMP_RE, tempDir } from "./support/core-trail.js";

let dir: string;
let cleanup: () => void;
let logger: AuditLogger;
let received: AuditEntry[];

beforeEach(() => {
  ({ dir, cleanup } = tempDir());
  received = [];
  logger = createLogger({ auditLifecycle: false, logDir: dir, console: false, onAudit: (entry) => void received.push(entry) });
});
afterEach(async () => {
  try {
    await logger.shutdown();
  } finally {
    cleanup();
  }
});

const auditLines = () => readJsonl(join(dir, "audit.jsonl"));
const lastLine = () => auditLines().at(-1) as Record<string, unknown>;

/** The line on disk is the entry's toDict(), key order included, and onAudit got the same object. */
function expectLineIsEntry(entry: AuditEntry, line: Record<string, unknown> = lastLine()): void {
  expect(line).toEqual(entry.toDict());
  expect(Object.keys(line)).toEqual(Object.keys(entry.toDict()));
  expect(inFieldOrder(Object.keys(line))).toBe(true);
  expect(received).toContain(entry);
}

describe("field order and empty values", () => {
  it("a fully filled entry has every DESIGN.md field, in order", async () => {
    await logger.shutdown();
    logger = createLogger({ auditLifecycle: false, logDir: dir, serviceName: "erp-api", onAudit: (entry) => void received.push(entry) });
    const provider = new BasicTracerProvider();
    const manager = new AsyncLocalStorageContextManager().enable();
    trace.setGlobalTracerProvider(provider);
    context.setGlobalContextManager(manager);
    let spanIds: { traceId: string; spanId: string } | undefined;
    let entry: AuditEntry | undefined;
    try {
      provider.getTracer("test").startActiveSpan("post invoice", (span) => {
        spanIds = span.spanContext();
        entry = logger.logChange("Credit limit raised", {
          level: LogLevel.AUDIT,
          module: BusinessModule.CRM,
          action: AuditAction.UPDATE,
          user: "admin",
          userRole: "manager",
          companyId: "CO-001",
          branchId: "BR-YGN",
          entityType: "customer",
          entityId: "C-9",
          referenceNo: "CR-77",
          amount: 1_000_000,
          currency: "USD",
          oldValues: { credit_limit: 500_000 },
          newValues: { credit_limit: 1_000_000 },
          metadata: { reason: "good payer" },
          requestId: "req-1",
          sessionId: "sess-1",
          ip: "192.168.1.10",
          method: "PUT",
          endpoint: "/customers/C-9",
          status: 200,
          success: true,
        });
        span.end();
      });
    } finally {
      trace.disable();
      context.disable();
    }
    const line = lastLine();
    expect(Object.keys(line)).toEqual(FIELD_ORDER.slice(0, FIELD_ORDER.indexOf("id") + 1));
    expect(line.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(line).toMatchObject({
      level: "AUDIT",
      module: "crm",
      action: "UPDATE",
      description: "Credit limit raised",
      user: "admin",
      user_role: "manager",
      company_id: "CO-001",
      branch_id: "BR-YGN",
      entity_type: "customer",
      entity_id: "C-9",
      reference_no: "CR-77",
      amount: 1_000_000,
      currency: "USD",
      old_values: { credit_limit: 500_000 },
      new_values: { credit_limit: 1_000_000 },
      metadata: { reason: "good payer" },
      request_id: "req-1",
      session_id: "sess-1",
      ip: "192.168.1.10",
      hostname: hostname(),
      method: "PUT",
      endpoint: "/customers/C-9",
      status: 200,
      success: true,
      trace_id: spanIds?.traceId,
      span_id: spanIds?.spanId,
      service: "erp-api",
    });
    expect(line.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(line.span_id).toMatch(/^[0-9a-f]{16}$/);
    expect(entry).toBeDefined();
    expectLineIsEntry(entry as AuditEntry, line);
  });

  it("with integrity on, the chain fields come last, and the entry and onAudit carry them too", async () => {
    await logger.shutdown();
    logger = createLogger({ auditLifecycle: false, logDir: dir, integrity: true, onAudit: (entry) => void received.push(entry) });
    const first = logger.log("sealed one");
    const second = logger.logSecurity("sealed two");
    const lines = auditLines();
    expect(Object.keys(lines[0]).slice(-4)).toEqual(["chain_id", "seq", "prev_hash", "hash"]);
    expectLineIsEntry(first, lines[0]);
    expectLineIsEntry(second, lines[1]);
    expect(lines[1]).toMatchObject({ chain_id: lines[0].chain_id, seq: (lines[0].seq as number) + 1, prev_hash: lines[0].hash });
  });

  it("leaves out empty values but always keeps status and success", () => {
    const entry = logger.log("Report viewed", { userRole: "", metadata: {}, oldValues: {}, referenceNo: "", status: null });
    const line = lastLine();
    // As the original, every entry names the default currency and a request id (outside a request, its own id).
    expect(Object.keys(line)).toEqual([
      "timestamp",
      "level",
      "module",
      "action",
      "description",
      "user",
      "currency",
      "request_id",
      "hostname",
      "status",
      "success",
      "id",
    ]);
    expect(line).toMatchObject({ level: "AUDIT", module: "system", action: "READ", user: "SYSTEM", status: null, success: true });
    expect(line.request_id).toBe(line.id);
    expect(line).not.toHaveProperty("trace_id");
    expectLineIsEntry(entry);
  });

  it("keeps success false and a status code", () => {
    const entry = logger.log("Export refused", { action: AuditAction.EXPORT, status: 403, success: false });
    expect(lastLine()).toMatchObject({ action: "EXPORT", status: 403, success: false });
    expectLineIsEntry(entry);
  });

  it("writes a millisecond ISO 8601 timestamp with the local offset, at the time of the call", () => {
    const before = Date.now();
    const entry = logger.log("Timed");
    const after = Date.now();
    expect(entry.timestamp).toMatch(TIMESTAMP_RE);
    const at = Date.parse(entry.timestamp);
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(after);
    const minutes = -new Date(at).getTimezoneOffset();
    const sign = minutes >= 0 ? "+" : "-";
    const offset = `${sign}${String(Math.floor(Math.abs(minutes) / 60)).padStart(2, "0")}:${String(Math.abs(minutes) % 60).padStart(2, "0")}`;
    expect(entry.timestamp.endsWith(offset)).toBe(true);
  });
});

describe("currency", () => {
  it("is written on every entry, as the original writes it, MMK by default", () => {
    logger.logTransaction("Quote drafted", { currency: "USD" });
    expect(lastLine()).toMatchObject({ currency: "USD" });
    expect(lastLine()).not.toHaveProperty("amount");
    logger.log("Report viewed");
    expect(lastLine()).toMatchObject({ currency: "MMK" });
    expect(lastLine()).not.toHaveProperty("amount");
    logger.logTransaction("Invoice posted", { amount: 1_250_000 });
    expect(lastLine()).toMatchObject({ amount: 1_250_000, currency: "MMK" });
    logger.logTransaction("Zero invoice", { amount: 0 });
    expect(lastLine()).toMatchObject({ amount: 0, currency: "MMK" });
    logger.logTransaction("Import bill", { amount: "99.5", currency: "THB" });
    expect(lastLine()).toMatchObject({ amount: 99.5, currency: "THB" });
  });

  it("takes the logger's configured default", async () => {
    const other = tempDir();
    const usd = createLogger({ auditLifecycle: false, logDir: other.dir, currency: "USD" });
    try {
      usd.logTransaction("Invoice posted", { amount: 10 });
      expect(readJsonl(join(other.dir, "audit.jsonl"))[0]).toMatchObject({ amount: 10, currency: "USD" });
    } finally {
      await usd.shutdown().finally(other.cleanup);
    }
  });
});

describe("each method's defaults and extra fields", () => {
  it("log", () => {
    const entry = logger.log("Settings viewed", { module: BusinessModule.SYSTEM, user: "admin" });
    expect(lastLine()).toMatchObject({ level: "AUDIT", module: "system", action: "READ", description: "Settings viewed", user: "admin" });
    expectLineIsEntry(entry);
  });

  it("logChange", () => {
    const entry = logger.logChange("Price changed", {
      entityType: "product",
      entityId: "P-1",
      oldValues: { price: 1000 },
      newValues: { price: 1200 },
    });
    expect(lastLine()).toMatchObject({
      level: "AUDIT",
      action: "UPDATE",
      entity_type: "product",
      entity_id: "P-1",
      old_values: { price: 1000 },
      new_values: { price: 1200 },
    });
    expectLineIsEntry(entry);
  });

  it("logTransaction puts the party in metadata, beside the caller's metadata", () => {
    const entry = logger.logTransaction("Sales invoice posted", {
      module: BusinessModule.SALES,
      action: AuditAction.POST,
      referenceNo: "SI-2026-0042",
      amount: 1_250_000,
      entityType: "sales_invoice",
      entityId: "inv-42",
      party: "Golden Trading Co.",
      metadata: { terms: "NET30" },
    });
    const line = lastLine();
    expect(line).toMatchObject({
      level: "AUDIT",
      module: "sales",
      action: "POST",
      reference_no: "SI-2026-0042",
      amount: 1_250_000,
      currency: "MMK",
      entity_type: "sales_invoice",
      entity_id: "inv-42",
      metadata: { terms: "NET30", party: "Golden Trading Co." },
    });
    expect(line).not.toHaveProperty("party");
    expectLineIsEntry(entry);
  });

  it("logInventory: entity product, product fields in metadata", () => {
    const entry = logger.logInventory("Stock issued for sales order", {
      productId: "SKU-100",
      productName: "Cement 50kg",
      quantity: -20,
      unit: "bag",
      warehouseId: "WH-YGN-1",
      referenceNo: "SO-9",
    });
    const line = lastLine();
    expect(line).toMatchObject({
      level: "AUDIT",
      module: "inventory",
      action: "ADJUST",
      entity_type: "product",
      entity_id: "SKU-100",
      reference_no: "SO-9",
      metadata: { product_name: "Cement 50kg", quantity: -20, unit: "bag", warehouse_id: "WH-YGN-1" },
    });
    for (const key of ["product_name", "quantity", "unit", "warehouse_id", "product_id"]) expect(line).not.toHaveProperty(key);
    expectLineIsEntry(entry);
  });

  it("logService: entity service_job, job fields in metadata", () => {
    const entry = logger.logService("Service job completed", {
      jobId: "JOB-7",
      customerId: "C-3",
      technician: "Ko Aung",
      serviceType: "aircon repair",
      statusLabel: "completed",
      status: 200,
    });
    const line = lastLine();
    expect(line).toMatchObject({
      level: "AUDIT",
      module: "service",
      action: "UPDATE",
      entity_type: "service_job",
      entity_id: "JOB-7",
      metadata: { customer_id: "C-3", technician: "Ko Aung", service_type: "aircon repair", status: "completed" },
      status: 200,
    });
    expectLineIsEntry(entry);
  });

  it("logSecurity: module auth, action LOGIN; AUDIT when it succeeded, SECURITY when it failed (as the original)", () => {
    const entry = logger.logSecurity("User login successful", { user: "admin", ip: "10.0.0.1" });
    expect(lastLine()).toMatchObject({ level: "AUDIT", module: "auth", action: "LOGIN", user: "admin", ip: "10.0.0.1", success: true });
    expectLineIsEntry(entry);
    const failed = logger.logSecurity("Login failed: invalid password", { user: "admin", ip: "10.0.0.1", success: false, status: 401 });
    expect(lastLine()).toMatchObject({ level: "SECURITY", module: "auth", action: "LOGIN", user: "admin", status: 401, success: false });
    expectLineIsEntry(failed);
    // Without a user in the call or the context: UNKNOWN, as the original.
    logger.logSecurity("Password reset requested", { action: AuditAction.UPDATE });
    expect(lastLine()).toMatchObject({ level: "AUDIT", action: "UPDATE", user: "UNKNOWN" });
  });

  it("takes request context fields that the call does not give", () => {
    RequestContext.run(
      { user: "cashier", userRole: "staff", companyId: "CO-2", branchId: "BR-MDY", ip: "10.1.1.1", requestId: "r-9" },
      () => {
        const entry = logger.logTransaction("Payment received", { action: AuditAction.PAYMENT, amount: 5000, user: "override" });
        expect(lastLine()).toMatchObject({
          user: "override",
          user_role: "staff",
          company_id: "CO-2",
          branch_id: "BR-MDY",
          ip: "10.1.1.1",
          request_id: "r-9",
        });
        expectLineIsEntry(entry);
      },
    );
  });
});

describe("auditing()", () => {
  it("sync success: one entry with duration_ms, result returned", () => {
    const add = logger.auditing(
      { module: BusinessModule.ACCOUNTING, action: AuditAction.POST, description: "Journal posted" },
      (a: number, b: number) => a + b,
    );
    expect(add(2, 3)).toBe(5);
    const line = lastLine();
    expect(line).toMatchObject({ level: "AUDIT", module: "accounting", action: "POST", description: "Journal posted", success: true });
    expect(typeof (line.metadata as Record<string, unknown>).duration_ms).toBe("number");
    expect(auditLines()).toHaveLength(1);
    expect(received).toHaveLength(1);
  });

  it("sync failure: ERROR entry with success false and the message, error rethrown", () => {
    const fail = logger.auditing({ module: BusinessModule.ACCOUNTING }, function closePeriod(): number {
      throw new Error("period already closed");
    });
    expect(() => fail()).toThrow("period already closed");
    const line = lastLine();
    expect(line).toMatchObject({ level: "ERROR", module: "accounting", success: false, description: "closePeriod failed" });
    expect(line.metadata).toMatchObject({ error: "period already closed" });
  });

  it("async success and failure", async () => {
    const ok = logger.auditing({ description: "Stock counted" }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return "done";
    });
    await expect(ok()).resolves.toBe("done");
    expect(lastLine()).toMatchObject({ description: "Stock counted", success: true, level: "AUDIT" });
    expect((lastLine().metadata as { duration_ms: number }).duration_ms).toBeGreaterThanOrEqual(4);

    const bad = logger.auditing({ module: BusinessModule.PURCHASE }, async function receiveGoods() {
      await new Promise((resolve) => setTimeout(resolve, 1));
      throw new TypeError("PO not approved");
    });
    await expect(bad()).rejects.toThrow("PO not approved");
    expect(lastLine()).toMatchObject({ level: "ERROR", module: "purchase", success: false, description: "receiveGoods failed" });
    expect(lastLine().metadata).toMatchObject({ error: "PO not approved" });
    expect(auditLines()).toHaveLength(2);
  });
});

/** Parses an app.log line into its parts; the time must be within a minute of now. */
function parseAppLine(line: string): { user: string; method: string; level: string; message: string; json?: unknown } {
  const head = APP_LINE_RE.exec(line);
  expect(head, line).not.toBeNull();
  const [, dd, mm, yyyy, hh, mi, ss, ampm] = head as RegExpExecArray;
  const hours = (Number(hh) % 12) + (ampm === "PM" ? 12 : 0);
  const at = new Date(Number(yyyy), Number(mm) - 1, Number(dd), hours, Number(mi), Number(ss)).getTime();
  expect(Math.abs(Date.now() - at)).toBeLessThan(60_000);
  const parts = line.slice((head as RegExpExecArray)[0].length).split(" | ");
  const [user, method, level, message, ...rest] = parts;
  return { user, method, level, message, json: rest.length ? JSON.parse(rest.join(" | ")) : undefined };
}

/** Parses an app message line, Python logging's `yyyy-mm-dd hh:mm:ss,mmm | LEVEL | message[ | {json}]`. */
function parseLoggingLine(line: string): { level: string; message: string; json?: unknown } {
  const head = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}),(\d{3}) \| /.exec(line);
  expect(head, line).not.toBeNull();
  const [, yyyy, mm, dd, hh, mi, ss, ms] = head as RegExpExecArray;
  const at = new Date(Number(yyyy), Number(mm) - 1, Number(dd), Number(hh), Number(mi), Number(ss), Number(ms)).getTime();
  expect(Math.abs(Date.now() - at)).toBeLessThan(60_000);
  const [level, message, ...rest] = line.slice((head as RegExpExecArray)[0].length).split(" | ");
  return { level, message, json: rest.length ? JSON.parse(rest.join(" | ")) : undefined };
}

describe("app.log", () => {
  it("loggingCustom writes `time | user | METHOD | LEVEL | message | {json}`", () => {
    logger.loggingCustom("Tenant status updated", { level: "info", user: "billing_service", isActive: "Not at all" });
    logger.loggingCustom("Order synced", { level: "warning", user: "sync", method: "POST" });
    const lines = rawLines(join(dir, "app.log"));
    expect(lines).toHaveLength(2);
    expect(parseAppLine(lines[0])).toEqual({
      user: "billing_service",
      method: "N/A",
      level: "INFO",
      message: "Tenant status updated",
      json: { isActive: "Not at all" },
    });
    expect(parseAppLine(lines[1])).toEqual({ user: "sync", method: "POST", level: "WARNING", message: "Order synced", json: undefined });
  });

  it("debug/info/warning/error/critical write app.log lines of their level in the original's logging format, nothing to the JSONL trails", () => {
    RequestContext.run({ user: "worker-1", method: "GET" }, () => {
      logger.debug("cache warm");
      logger.info("started", { port: 8080, hosts: ["a", "b"] });
      logger.warning("slow query");
      logger.error("sync failed");
      logger.critical("db down");
    });
    const raw = rawLines(join(dir, "app.log"));
    const lines = raw.map(parseLoggingLine);
    expect(lines.map((l) => l.level)).toEqual(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]);
    expect(lines.map((l) => l.message)).toEqual(["cache warm", "started", "slow query", "sync failed", "db down"]);
    // The JSON part as Python's json.dumps writes it: a space after each comma and colon.
    expect(raw[1].endsWith(' | started | {"port": 8080, "hosts": ["a", "b"]}')).toBe(true);
    expect(lines[1].json).toEqual({ port: 8080, hosts: ["a", "b"] });
    expect(rawLines(join(dir, "audit.jsonl"))).toEqual([]);
    expect(rawLines(join(dir, "security.jsonl"))).toEqual([]);
    expect(received).toEqual([]);
  });
});

describe("reading trails back", () => {
  it("a line in the Python auditX's form reads back with entryFromDict", () => {
    const pythonLine =
      '{"timestamp": "2026-06-28T16:10:59.123456+06:30", "level": "AUDIT", "module": "sales", "action": "POST", ' +
      '"description": "Sales invoice posted", "user": "admin", "user_role": "manager", "company_id": "CO-001", ' +
      '"branch_id": "BR-YGN", "entity_type": "sales_invoice", "entity_id": "inv-42", "reference_no": "SI-2026-0042", ' +
      '"amount": 1250000.0, "currency": "MMK", "old_values": null, "new_values": null, ' +
      '"metadata": {"party": "Golden Trading Co."}, "request_id": null, "session_id": null, "ip": "192.168.1.10", ' +
      '"hostname": "erp-01", "method": null, "endpoint": null, "status": null, "success": true}';
    const entry = entryFromDict(JSON.parse(pythonLine));
    expect(entry).toMatchObject({
      timestamp: "2026-06-28T16:10:59.123456+06:30",
      level: "AUDIT",
      module: "sales",
      action: "POST",
      description: "Sales invoice posted",
      user: "admin",
      userRole: "manager",
      companyId: "CO-001",
      branchId: "BR-YGN",
      entityType: "sales_invoice",
      entityId: "inv-42",
      referenceNo: "SI-2026-0042",
      amount: 1_250_000,
      currency: "MMK",
      metadata: { party: "Golden Trading Co." },
      ip: "192.168.1.10",
      hostname: "erp-01",
      requestId: "",
      status: null,
      success: true,
    });
    expect(entry.toDict()).toEqual({
      timestamp: "2026-06-28T16:10:59.123456+06:30",
      level: "AUDIT",
      module: "sales",
      action: "POST",
      description: "Sales invoice posted",
      user: "admin",
      user_role: "manager",
      company_id: "CO-001",
      branch_id: "BR-YGN",
      entity_type: "sales_invoice",
      entity_id: "inv-42",
      reference_no: "SI-2026-0042",
      amount: 1_250_000,
      currency: "MMK",
      metadata: { party: "Golden Trading Co." },
      ip: "192.168.1.10",
      hostname: "erp-01",
      status: null,
      success: true,
    });
  });

  it("a failed Python security line keeps level, success false and status", () => {
    const entry = entryFromDict(
      JSON.parse(
        '{"timestamp": "2026-06-28T16:11:00+06:30", "level": "CRITICAL", "module": "auth", "action": "LOGIN", "status": 401, "success": false}',
      ),
    );
    expect(entry).toMatchObject({ level: "CRITICAL", module: "auth", status: 401, success: false });
  });

  it("our own line reads back to the same dict", () => {
    const entry = logger.logTransaction("Refund issued", { action: AuditAction.REFUND, amount: 12.5, metadata: { items: [1, 2] } });
    const back = entryFromDict(lastLine());
    expect(back.toDict()).toEqual(entry.toDict());
  });
});

describe("the global audit logger", () => {
  let globalDir: ReturnType<typeof tempDir>;
  beforeAll(() => {
    globalDir = tempDir();
  });
  afterAll(async () => {
    await audit.shutdown();
    globalDir.cleanup();
  });

  it("writes to the folder of the latest configure()", () => {
    const configured = configure({ logDir: globalDir.dir });
    const entry = audit.logTransaction("Sales invoice posted", { amount: 1, referenceNo: "SI-1" });
    expect(configured.logDir).toBe(globalDir.dir);
    const lines = readJsonl(join(globalDir.dir, "audit.jsonl"));
    expect(lines).toEqual([entry.toDict()]);
  });
});

describe("the OTel record of an entry", () => {
  it("carries DESIGN.md's severity, body and attributes, and reads back to the same entry", async () => {
    const exporter = new InMemoryLogRecordExporter();
    const other = tempDir();
    const otel = createLogger({
      auditLifecycle: false,
      logDir: other.dir,
      serviceName: "erp-api",
      processors: [new SimpleLogRecordProcessor({ exporter })],
    });
    try {
      const levels: [LogLevel, number][] = [
        [LogLevel.DEBUG, 5],
        [LogLevel.INFO, 9],
        [LogLevel.NORMAL, 10],
        [LogLevel.AUDIT, 11],
        [LogLevel.WARNING, 13],
        [LogLevel.ERROR, 17],
        [LogLevel.SECURITY, 18],
        [LogLevel.CRITICAL, 21],
      ];
      for (const [level] of levels) otel.log(`level ${level}`, { level });
      const entry = otel.logTransaction("Sales invoice posted", {
        action: AuditAction.POST,
        user: "admin",
        userRole: "manager",
        companyId: "CO-001",
        branchId: "BR-YGN",
        entityType: "sales_invoice",
        entityId: "inv-42",
        referenceNo: "SI-2026-0042",
        amount: 1_250_000,
        oldValues: { status: "draft" },
        newValues: { status: "posted", lines: [{ sku: "A", qty: 2 }] },
        party: "Golden Trading Co.",
        requestId: "req-1",
        sessionId: "sess-1",
        ip: "192.168.1.10",
        method: "POST",
        endpoint: "/invoices/42/post?notify=1",
        status: 201,
      });
      await otel.flush();
      const records = exporter.getFinishedLogRecords();
      expect(records.slice(0, 8).map((r) => [r.severityText, r.severityNumber])).toEqual(levels);
      const record = records[8];
      expect(record.body).toBe("Sales invoice posted");
      expect(record.attributes).toMatchObject({
        "auditx.stream": "audit",
        "user.id": "admin",
        "user.roles": ["manager"],
        "client.address": "192.168.1.10",
        "session.id": "sess-1",
        "http.request.method": "POST",
        "url.path": "/invoices/42/post",
        "url.query": "notify=1",
        "http.response.status_code": 201,
        "auditx.request_id": "req-1",
        "auditx.module": "sales",
        "auditx.action": "POST",
        "auditx.company_id": "CO-001",
        "auditx.branch_id": "BR-YGN",
        "auditx.entity.type": "sales_invoice",
        "auditx.entity.id": "inv-42",
        "auditx.reference_no": "SI-2026-0042",
        "auditx.amount": 1_250_000,
        "auditx.currency": "MMK",
        "auditx.success": true,
        "auditx.old_values": { status: "draft" },
        "auditx.new_values": { status: "posted", lines: [{ sku: "A", qty: 2 }] },
        "auditx.metadata": { party: "Golden Trading Co." },
      });
      expect(record.resource.attributes).toMatchObject({ "service.name": "erp-api", "host.name": hostname() });
      expect(records[6].attributes["auditx.stream"]).toBe("security");
      expect(entryFromLogRecord(record).toDict()).toEqual(entry.toDict());
    } finally {
      await otel.shutdown().finally(other.cleanup);
    }
  });
});

describe("the line's text", () => {
  // Values that need JSON escaping, and values that do not but are not ASCII.
  const TRICKY = [
    'say "hi"',
    "back\\slash",
    "tab\there\nnewline\u0000nul\u001fus",
    "line\u2028separator",
    "caf\u00e9 \u1019\u103c\u1014\u103a\u1019\u102c",
    "emoji \u{1F9FE} pair",
    "lone \uD800 surrogate",
    "plain",
  ];

  for (const integrity of [false, true]) {
    it(`is JSON.stringify of the entry's dict, byte for byte, for any text${integrity ? " (sealed lines)" : ""}`, async () => {
      await logger.shutdown();
      logger = createLogger({ auditLifecycle: false, logDir: dir, console: false, integrity, serviceName: 'svc "q"' });
      const entries = TRICKY.map((text, index) =>
        logger.logTransaction(text, {
          module: text,
          action: text,
          user: text,
          userRole: text,
          companyId: text,
          branchId: text,
          entityType: text,
          entityId: text,
          referenceNo: text,
          currency: text,
          sessionId: text,
          ip: text,
          endpoint: text,
          requestId: text,
          method: index % 2 === 0 ? "post" : "PUT",
          party: text,
          metadata: { [text]: text, n: index },
        }),
      );
      await logger.shutdown();
      const lines = rawLines(join(dir, "audit.jsonl"));
      expect(lines).toEqual(entries.map((entry) => JSON.stringify(entry.toDict())));
      expect(entries[0]?.method).toBe("POST");
      if (integrity) expect(entries.every((entry) => entry.hash !== "")).toBe(true);
    });
  }
});
