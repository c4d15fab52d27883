/** examples/nestjs-erp end to end: compile it as its README says, start it, call it as different users, watch the viewer, read the trail. */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { ROOT, tempDir } from "./support/core-trail.js";
import { eventually } from "./support/eventually.js";
import { type RunningExample, startExample } from "./support/integration-example.js";
import { auditEntries, completionEntries, type TrailEntry } from "./support/integration-trail.js";

let dir: string;
let cleanup: () => void;
let erp: RunningExample;

const cashier = { "X-User": "aye", "X-Role": "cashier", "X-Company": "CO-001", "X-Branch": "BR-YGN" };
const manager = { "X-User": "thida", "X-Role": "manager", "X-Company": "CO-001", "X-Branch": "BR-MDY" };

beforeAll(async () => {
  ({ dir, cleanup } = tempDir("auditx-example-nestjs-"));
  const tsc = spawnSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "examples/nestjs-erp"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
  erp = await startExample("examples/nestjs-erp/dist/main.js", dir);
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

function businessOf(requestId: string | null): TrailEntry[] {
  return auditEntries(dir).filter((entry) => entry.request_id === requestId && entry.module !== "system");
}

describe("examples/nestjs-erp", () => {
  it("answers who changed a credit limit, and audits invoices posted, refused and voided, with the guard's user and branch", async () => {
    const denied = await call("PATCH", "/api/customers/C-200/credit-limit", cashier, { creditLimit: 900_000 });
    expect(denied.status).toBe(403);
    const raised = await call("PATCH", "/api/customers/C-200/credit-limit", manager, { creditLimit: 900_000 });
    expect(raised).toMatchObject({ status: 200, body: { previous: 300_000 } });
    const posted = await call("POST", "/api/invoices", cashier, { customerId: "C-100", amount: 250_000 });
    expect(posted).toMatchObject({ status: 201, body: { id: "SI-2026-0001" } });
    const refused = await call("POST", "/api/invoices", cashier, { customerId: "C-100", amount: 900_000 });
    expect(refused.status).toBe(422);
    const voided = await call("POST", "/api/invoices/SI-2026-0001/void", manager);
    expect(voided.status).toBe(200);
    const anonymous = await call("GET", "/api/customers", {});
    expect(anonymous.status).toBe(401);
    expect((await fetch(`${erp.url}/healthz`)).status).toBe(200);

    const all = [denied, raised, posted, refused, voided, anonymous];
    await eventually(() => all.every((response) => completionOf(response.requestId)), 20_000, "completion entries");

    expect(businessOf(raised.requestId)).toEqual([
      expect.objectContaining({
        module: "crm",
        action: "UPDATE",
        description: "Credit limit of Shwe Electronics changed",
        entity_type: "customer",
        entity_id: "C-200",
        old_values: { credit_limit: 300_000 },
        new_values: { credit_limit: 900_000 },
        user: "thida",
        user_role: "manager",
        branch_id: "BR-MDY",
        endpoint: "/api/customers/C-200/credit-limit",
      }),
    ]);
    expect(completionOf(raised.requestId)).toMatchObject({
      status: 200,
      user: "thida",
      metadata: { route: "/api/customers/:id/credit-limit" },
    });

    // Refused by the guard: its security entry and the completion entry carry the user it had identified.
    expect(completionOf(denied.requestId)).toMatchObject({ status: 403, level: "WARNING", success: false, user: "aye" });
    expect(businessOf(denied.requestId)).toEqual([
      expect.objectContaining({ level: "WARNING", description: "Permission denied for aye (cashier)", success: false }),
    ]);

    expect(businessOf(posted.requestId)).toEqual([
      expect.objectContaining({
        module: "sales",
        action: "POST",
        description: "Sales invoice posted",
        entity_id: "SI-2026-0001",
        amount: 250_000,
        user: "aye",
        branch_id: "BR-YGN",
        success: true,
      }),
    ]);
    expect(businessOf(refused.requestId)).toEqual([
      expect.objectContaining({
        level: "WARNING",
        description: "Sales invoice refused",
        amount: 900_000,
        success: false,
        metadata: expect.objectContaining({ error: "credit limit exceeded", customer_id: "C-100" }),
      }),
    ]);
    expect(completionOf(refused.requestId)).toMatchObject({ status: 422, description: "HTTP Request Failed: credit limit exceeded" });
    expect(businessOf(voided.requestId)).toEqual([
      expect.objectContaining({ action: "VOID", entity_id: "SI-2026-0001", amount: 250_000, user: "thida" }),
    ]);
    expect(completionOf(anonymous.requestId)).toMatchObject({ status: 401, user: "SYSTEM", success: false });
    expect(businessOf(anonymous.requestId)).toEqual([expect.objectContaining({ level: "SECURITY", user: "anonymous" })]);
    expect(completionEntries(dir).some((entry) => String(entry.endpoint).startsWith("/healthz"))).toBe(false);
  });

  it("serves the viewer at /audit with live entries over WebSocket", async () => {
    const page = await fetch(`${erp.url}/audit/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("<html");

    const socket = new WebSocket(`${erp.url.replace("http", "ws")}/audit/api/ws`);
    const messages: Array<{ type: string; entry?: TrailEntry }> = [];
    socket.on("message", (data) => messages.push(JSON.parse(String(data))));
    await eventually(() => messages.some((message) => message.type === "connected"), 10_000, "WebSocket connected");
    const raised = await call("PATCH", "/api/customers/C-100/credit-limit", manager, { creditLimit: 2_000_000 });
    expect(raised.status).toBe(200);
    await eventually(
      () =>
        messages.some(
          (message) => message.type === "entry" && message.entry?.request_id === raised.requestId && message.entry?.entity_id === "C-100",
        ),
      10_000,
      "the credit-limit change pushed live",
    );
    socket.close();

    const found = await eventually(
      async () => {
        const body = (await (await fetch(`${erp.url}/audit/api/entries?user=thida&limit=50`)).json()) as { items: TrailEntry[] };
        return body.items.find((entry) => entry.request_id === raised.requestId && entry.module === "crm");
      },
      20_000,
      "the viewer's index to hold the change",
    );
    expect(found).toMatchObject({ new_values: { credit_limit: 2_000_000 }, old_values: { credit_limit: 1_000_000 } });
  });

  it("stops cleanly on SIGTERM", async () => {
    erp.child.kill("SIGTERM");
    expect(await erp.exited).toEqual({ code: 0, signal: null });
  });
});
