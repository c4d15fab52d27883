/**
 * auditx/nestjs in real NestJS applications on the Express and the Fastify
 * platform, over HTTP on 127.0.0.1: the request's scope opened before guards,
 * one completion entry per request, `@Audit` entries on success and failure,
 * errors left to the application's exception filter.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AuditLogger, createLogger } from "../../src/index.js";
import { AuditModule } from "../../src/integrations/nestjs/index.js";
import { tempDir } from "../support/core-trail.js";
import { eventually } from "../support/eventually.js";
import { auditEntries, completionEntries, type TrailEntry } from "../support/integration-trail.js";
import { AppExceptionFilter, erpModule, PLATFORMS, type RunningApp, startApp } from "./erp-app.js";

interface Call {
  status: number;
  requestId: string | null;
  body: Record<string, unknown>;
}

describe.each(PLATFORMS)("NestJS on %s", (platform) => {
  let dir: string;
  let cleanup: () => void;
  let logger: AuditLogger;
  let running: RunningApp;

  beforeEach(async () => {
    ({ dir, cleanup } = tempDir("auditx-nestjs-"));
    logger = createLogger({ logDir: dir });
    running = await startApp(platform, erpModule(AuditModule.forRoot({ logger })));
    AppExceptionFilter.handled = [];
  });
  afterEach(async () => {
    try {
      await running?.close();
      await logger.shutdown();
    } finally {
      cleanup();
    }
  });

  async function call(method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<Call> {
    const response = await fetch(`${running.url}${path}`, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return {
      status: response.status,
      requestId: response.headers.get("x-request-id"),
      body: (await response.json()) as Record<string, unknown>,
    };
  }

  function completionOf(requestId: string | null): Promise<TrailEntry> {
    return eventually(() => completionEntries(dir).find((entry) => entry.request_id === requestId), 10_000, "completion entry");
  }

  function businessEntries(requestId: string | null): TrailEntry[] {
    return auditEntries(dir).filter((entry) => entry.request_id === requestId && !String(entry.description).startsWith("HTTP "));
  }

  it("keeps 100 concurrent requests apart: the guard's user reaches the handler, the @Audit entry and the completion entry", async () => {
    const responses = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const response = await fetch(`${running.url}/whoami?page=${i}`, {
          headers: {
            "X-Request-ID": `nest-${i}`,
            "X-Session-ID": `sess-${i}`,
            "X-User": `clerk-${i}`,
            "X-Role": i % 2 ? "cashier" : "manager",
            "X-Company": `CO-${i % 3}`,
            "X-Branch": `BR-${i}`,
          },
        });
        return {
          i,
          status: response.status,
          echoed: response.headers.get("x-request-id"),
          body: (await response.json()) as Record<string, string>,
        };
      }),
    );
    for (const { i, status, echoed, body } of responses) {
      expect(status).toBe(200);
      expect(echoed).toBe(`nest-${i}`);
      expect(body).toMatchObject({
        user: `clerk-${i}`,
        requestId: `nest-${i}`,
        sessionId: `sess-${i}`,
        branchId: `BR-${i}`,
        ip: "127.0.0.1",
      });
    }
    await eventually(() => completionEntries(dir).length >= 100, 20_000, "100 completion entries");
    const completions = completionEntries(dir);
    expect(completions).toHaveLength(100);
    const viewed = auditEntries(dir).filter((entry) => entry.description === "Customer list viewed");
    expect(viewed).toHaveLength(100);
    for (let i = 0; i < 100; i++) {
      const expected = {
        user: `clerk-${i}`,
        user_role: i % 2 ? "cashier" : "manager",
        company_id: `CO-${i % 3}`,
        branch_id: `BR-${i}`,
        session_id: `sess-${i}`,
        ip: "127.0.0.1",
        method: "GET",
        endpoint: `/whoami?page=${i}`,
      };
      expect(completions.find((entry) => entry.request_id === `nest-${i}`)).toMatchObject({
        ...expected,
        level: "AUDIT",
        module: "system",
        action: "READ",
        status: 200,
        success: true,
        description: "HTTP GET /whoami completed with 200",
        metadata: { route: "/whoami" },
      });
      expect(viewed.find((entry) => entry.request_id === `nest-${i}`)).toMatchObject({
        ...expected,
        module: "crm",
        action: "READ",
        success: true,
      });
    }
  });

  it("writes a refused request with the user the guard set before refusing it", async () => {
    const refused = await call("GET", "/whoami", { "X-User": "kyaw", "X-Role": "suspended", "X-Branch": "BR-MDY" });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ handled: true });
    expect(await completionOf(refused.requestId)).toMatchObject({
      user: "kyaw",
      branch_id: "BR-MDY",
      status: 403,
      level: "WARNING",
      success: false,
    });
    // The handler never ran: no business entry.
    expect(businessEntries(refused.requestId)).toEqual([]);
  });

  it("@Audit on success takes entity, amount and description from the body, the params and the result", async () => {
    const cashier = { "X-User": "aye", "X-Role": "cashier", "X-Company": "CO-001", "X-Branch": "BR-YGN" };
    const posted = await call("POST", "/invoices", cashier, { customerId: "C-100", amount: 250_000 });
    expect(posted).toMatchObject({ status: 201, body: { id: "SI-0001" } });
    const completion = await completionOf(posted.requestId);
    expect(completion).toMatchObject({ action: "CREATE", status: 201, success: true, user: "aye", metadata: { route: "/invoices" } });
    const [invoice, ...others] = businessEntries(posted.requestId);
    expect(others).toEqual([]);
    expect(invoice).toMatchObject({
      level: "AUDIT",
      module: "sales",
      action: "POST",
      description: "Sales invoice posted for C-100",
      entity_type: "sales_invoice",
      entity_id: "SI-0001",
      reference_no: "SI-0001",
      amount: 250_000,
      success: true,
      user: "aye",
      user_role: "cashier",
      company_id: "CO-001",
      branch_id: "BR-YGN",
      method: "POST",
      endpoint: "/invoices",
      metadata: { customer_id: "C-100" },
    });
    expect(typeof invoice.metadata?.duration_ms).toBe("number");

    const manager = { "X-User": "thida", "X-Role": "manager", "X-Branch": "BR-YGN" };
    const raised = await call("PATCH", "/customers/C-200/credit-limit", manager, { creditLimit: 900_000 });
    expect(raised.status).toBe(200);
    await completionOf(raised.requestId);
    expect(businessEntries(raised.requestId)).toEqual([
      expect.objectContaining({
        module: "crm",
        action: "UPDATE",
        entity_type: "customer",
        entity_id: "C-200",
        description: "Credit limit of C-200 changed",
        old_values: { credit_limit: 300_000 },
        new_values: { credit_limit: 900_000 },
        user: "thida",
      }),
    ]);
  });

  it("@Audit on failure writes the error, and the application's exception filter answers", async () => {
    const refused = await call("POST", "/invoices", { "X-User": "min", "X-Role": "cashier" }, { customerId: "C-200", amount: 100_000 });
    expect(refused).toMatchObject({ status: 422, body: { error: "credit limit exceeded", handled: true } });
    expect(await completionOf(refused.requestId)).toMatchObject({
      level: "WARNING",
      status: 422,
      success: false,
      user: "min",
      description: "HTTP Request Failed: credit limit exceeded",
      metadata: { error: "credit limit exceeded", route: "/invoices" },
    });
    expect(businessEntries(refused.requestId)).toEqual([
      expect.objectContaining({
        level: "WARNING",
        module: "sales",
        action: "POST",
        description: "Sales invoice refused for C-200",
        success: false,
        amount: 100_000,
        user: "min",
        metadata: expect.objectContaining({ error: "credit limit exceeded", customer_id: "C-200" }),
      }),
    ]);

    const crashed = await call("GET", "/ledger/close", { "X-User": "su", "X-Role": "accountant" });
    expect(crashed).toMatchObject({ status: 500, body: { error: "internal", handled: true } });
    expect(await completionOf(crashed.requestId)).toMatchObject({
      level: "ERROR",
      status: 500,
      success: false,
      description: "HTTP Request Failed: ledger offline",
    });
    expect(businessEntries(crashed.requestId)).toEqual([
      expect.objectContaining({
        level: "ERROR",
        module: "accounting",
        description: "Period close",
        success: false,
        user: "su",
        metadata: expect.objectContaining({ error: "ledger offline" }),
      }),
    ]);
    // auditx rethrew both errors unchanged to the application's filter.
    expect(AppExceptionFilter.handled).toEqual(["credit limit exceeded", "ledger offline"]);
  });

  it("@Audit on an Observable handler writes once it completes, with its last value", async () => {
    const counted = await fetch(`${running.url}/stock/stream`, { headers: { "X-User": "zaw" } });
    expect(counted.status).toBe(200);
    const requestId = counted.headers.get("x-request-id");
    await completionOf(requestId);
    expect(businessEntries(requestId)).toEqual([
      expect.objectContaining({
        module: "inventory",
        description: "ErpController.stockCounts completed",
        metadata: expect.objectContaining({ last_count: 8 }),
      }),
    ]);
  });

  it("a value function that throws costs that value, not the entry nor the response", async () => {
    const response = await call("GET", "/faulty-value", { "X-User": "aye" });
    expect(response).toMatchObject({ status: 200, body: { ok: true } });
    await completionOf(response.requestId);
    const [entry] = businessEntries(response.requestId);
    expect(entry).toMatchObject({
      description: "ErpController.faultyValue completed",
      success: true,
      metadata: { audit_value_errors: { entityId: "no id here" } },
    });
    expect(entry.entity_id).toBeUndefined();
  });

  it("leaves excluded paths out and keeps a client's request id only when it is safe", async () => {
    expect((await call("GET", "/healthz")).status).toBe(200);
    const unsafe = await fetch(`${running.url}/plain`, { headers: { "X-Request-ID": "evil id\twith spaces" } });
    const generated = unsafe.headers.get("x-request-id");
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    expect(((await unsafe.json()) as { requestId: string }).requestId).toBe(generated);
    await completionOf(generated);
    expect(completionEntries(dir).map((entry) => entry.endpoint)).toEqual(["/plain"]);
  });

  it("a request the router does not know is audited too (404, before any guard)", async () => {
    const missing = await call("GET", "/no/such/route", { "X-User": "aye" });
    expect(missing.status).toBe(404);
    expect(await completionOf(missing.requestId)).toMatchObject({
      status: 404,
      level: "WARNING",
      success: false,
      endpoint: "/no/such/route",
    });
  });
});

describe("NestJS on fastify, a body the parser refuses", () => {
  it("is audited: Fastify parses bodies inside the scope the middleware opened", async () => {
    const { dir, cleanup } = tempDir("auditx-nestjs-body-");
    const logger = createLogger({ logDir: dir });
    const running = await startApp("fastify", erpModule(AuditModule.forRoot({ logger })));
    try {
      const response = await fetch(`${running.url}/invoices`, {
        method: "POST",
        headers: { "content-type": "application/json", "X-User": "min" },
        body: "{oops",
      });
      expect(response.status).toBe(400);
      const requestId = response.headers.get("x-request-id");
      await eventually(() => completionEntries(dir).some((entry) => entry.request_id === requestId), 10_000, "completion entry");
      expect(completionEntries(dir)).toEqual([
        expect.objectContaining({ status: 400, level: "WARNING", success: false, endpoint: "/invoices" }),
      ]);
    } finally {
      await running.close();
      await logger.shutdown();
      cleanup();
    }
  });
});
