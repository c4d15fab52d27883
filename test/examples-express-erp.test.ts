/** examples/express-erp end to end: start it, call the ERP API as different users, watch the live viewer, read the trail. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { tempDir } from "./support/core-trail.js";
import { eventually } from "./support/eventually.js";
import { type RunningExample, startExample } from "./support/integration-example.js";
import { auditEntries, completionEntries, type TrailEntry } from "./support/integration-trail.js";

let dir: string;
let cleanup: () => void;
let erp: RunningExample;

const cashier = { "X-User": "aye", "X-Role": "cashier", "X-Company": "CO-001", "X-Branch": "BR-YGN" };
const manager = { "X-User": "thida", "X-Role": "manager", "X-Company": "CO-001", "X-Branch": "BR-YGN" };
const storekeeper = { "X-User": "zaw", "X-Role": "storekeeper", "X-Company": "CO-001", "X-Branch": "BR-MDY" };
const technician = { "X-User": "kyaw", "X-Role": "technician", "X-Company": "CO-001", "X-Branch": "BR-MDY" };

beforeAll(async () => {
  ({ dir, cleanup } = tempDir("auditx-example-erp-"));
  erp = await startExample("examples/express-erp/server.mjs", dir);
});
afterAll(async () => {
  erp?.stop();
  await erp?.exited;
  cleanup();
});

async function call(method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const response = await fetch(`${erp.url}${path}`, {
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

function completionOf(requestId: string | null): TrailEntry | undefined {
  return completionEntries(dir).find((entry) => entry.request_id === requestId);
}

describe("examples/express-erp", () => {
  it("audits invoices, credit limits, stock moves and service jobs with the guard's user, role, company and branch", async () => {
    const posted = await call("POST", "/api/invoices", cashier, { customerId: "C-100", amount: 250_000 });
    expect(posted.status).toBe(201);
    const refused = await call("POST", "/api/invoices", cashier, { customerId: "C-200", amount: 100_000 });
    expect(refused).toMatchObject({ status: 422, body: { error: "credit limit exceeded" } });
    const denied = await call("PATCH", "/api/customers/C-200/credit-limit", cashier, { creditLimit: 900_000 });
    expect(denied.status).toBe(403);
    const raised = await call("PATCH", "/api/customers/C-200/credit-limit", manager, { creditLimit: 900_000 });
    expect(raised.status).toBe(200);
    const moved = await call("POST", "/api/stock-moves", storekeeper, { productId: "P-001", from: "WH-YGN", to: "WH-MDY", quantity: 4 });
    expect(moved.status).toBe(201);
    const job = await call("POST", "/api/service-jobs", technician, { customerId: "C-100", serviceType: "installation" });
    expect(job.status).toBe(201);
    const completed = await call("POST", `/api/service-jobs/${job.body.id}/complete`, technician);
    expect(completed.status).toBe(200);
    const anonymous = await call("GET", "/api/customers", {});
    expect(anonymous.status).toBe(401);
    expect((await fetch(`${erp.url}/healthz`)).status).toBe(200);

    const all = [posted, refused, denied, raised, moved, job, completed, anonymous];
    await eventually(() => all.every((response) => completionOf(response.requestId)), 20_000, "completion entries");
    const entries = auditEntries(dir);

    expect(completionOf(posted.requestId)).toMatchObject({
      level: "AUDIT",
      action: "CREATE",
      status: 201,
      success: true,
      user: "aye",
      user_role: "cashier",
      company_id: "CO-001",
      branch_id: "BR-YGN",
      endpoint: "/api/invoices",
      metadata: { route: "/api/invoices" },
    });
    const invoice = entries.find((entry) => entry.description === "Sales invoice posted");
    expect(invoice).toMatchObject({ module: "sales", action: "POST", amount: 250_000, user: "aye", request_id: posted.requestId });

    expect(completionOf(refused.requestId)).toMatchObject({
      level: "WARNING",
      status: 422,
      success: false,
      description: "HTTP Request Failed: credit limit exceeded",
    });
    expect(entries.find((entry) => entry.description === "Sales invoice refused: credit limit exceeded")).toMatchObject({
      action: "REJECT",
      success: false,
    });

    expect(completionOf(denied.requestId)).toMatchObject({ status: 403, user: "aye", level: "WARNING" });
    expect(entries.find((entry) => String(entry.description).startsWith("Permission denied for aye"))).toMatchObject({
      request_id: denied.requestId,
    });

    expect(entries.find((entry) => entry.entity_type === "customer" && entry.action === "UPDATE")).toMatchObject({
      user: "thida",
      old_values: { credit_limit: 300_000 },
      new_values: { credit_limit: 900_000 },
      request_id: raised.requestId,
    });
    expect(entries.find((entry) => entry.description === "Stock transfer WH-YGN -> WH-MDY")).toMatchObject({
      module: "inventory",
      user: "zaw",
      branch_id: "BR-MDY",
    });
    expect(entries.find((entry) => entry.description === "Service job completed")).toMatchObject({
      module: "service",
      user: "kyaw",
      entity_id: job.body.id,
    });
    expect(completionOf(anonymous.requestId)).toMatchObject({ status: 401, user: "SYSTEM", success: false });
    expect(entries.find((entry) => entry.request_id === anonymous.requestId && entry.level === "SECURITY")).toBeDefined();
    expect(completionEntries(dir).some((entry) => String(entry.endpoint).startsWith("/healthz"))).toBe(false);
  });

  it("keeps 100 concurrent users apart", async () => {
    const responses = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        call("GET", "/api/customers", {
          "X-User": `clerk-${i}`,
          "X-Role": "cashier",
          "X-Company": "CO-002",
          "X-Branch": `BR-${i}`,
          "X-Request-ID": `erp-${i}`,
        }),
      ),
    );
    expect(responses.every((response) => response.status === 200)).toBe(true);
    await eventually(() => responses.every((response) => completionOf(response.requestId)), 20_000, "100 completion entries");
    for (let i = 0; i < 100; i++)
      expect(completionOf(`erp-${i}`)).toMatchObject({ user: `clerk-${i}`, branch_id: `BR-${i}`, action: "READ", status: 200 });
  });

  it("serves the viewer at /audit with live entries over WebSocket", async () => {
    const page = await fetch(`${erp.url}/audit/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("<html");

    const socket = new WebSocket(`${erp.url.replace("http", "ws")}/audit/api/ws`);
    const messages: Array<{ type: string; entry?: TrailEntry }> = [];
    socket.on("message", (data) => messages.push(JSON.parse(String(data))));
    await eventually(() => messages.some((message) => message.type === "connected"), 10_000, "WebSocket connected");
    const posted = await call("POST", "/api/invoices", manager, { customerId: "C-100", amount: 10_000 });
    await eventually(
      () =>
        messages.some(
          (message) =>
            message.type === "entry" &&
            message.entry?.request_id === posted.requestId &&
            message.entry?.description === "Sales invoice posted",
        ),
      10_000,
      "the invoice pushed live",
    );
    socket.close();

    await eventually(() => completionOf(posted.requestId) !== undefined, 10_000, "completion");
    const found = await eventually(
      async () => {
        const body = (await (await fetch(`${erp.url}/audit/api/entries?user=thida&limit=50`)).json()) as { items: TrailEntry[] };
        return body.items.find((entry) => entry.request_id === posted.requestId && entry.description === "Sales invoice posted");
      },
      20_000,
      "the viewer's index to hold the invoice",
    );
    expect(found).toMatchObject({ user: "thida", amount: 10_000 });
  });

  it("stops cleanly on SIGTERM", async () => {
    erp.child.kill("SIGTERM");
    expect(await erp.exited).toEqual({ code: 0, signal: null });
  });
});
