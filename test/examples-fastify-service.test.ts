/** examples/fastify-service end to end: bearer-token guard in preHandler, service jobs, the trail. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "./support/core-trail.js";
import { eventually } from "./support/eventually.js";
import { type RunningExample, startExample } from "./support/integration-example.js";
import { auditEntries, completionEntries, type TrailEntry } from "./support/integration-trail.js";

let dir: string;
let cleanup: () => void;
let service: RunningExample;

beforeAll(async () => {
  ({ dir, cleanup } = tempDir("auditx-example-fastify-"));
  service = await startExample("examples/fastify-service/server.mjs", dir);
});
afterAll(async () => {
  service?.stop();
  await service?.exited;
  cleanup();
});

async function call(method: string, path: string, token: string | undefined, body?: unknown) {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${service.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return {
    status: response.status,
    requestId: response.headers.get("x-request-id"),
    body: (await response.json()) as Record<string, unknown>,
  };
}

function completionOf(requestId: string | null): TrailEntry | undefined {
  return completionEntries(dir).find((entry) => entry.request_id === requestId);
}

describe("examples/fastify-service", () => {
  it("audits service jobs with the technician the guard resolved", async () => {
    const opened = await call("POST", "/jobs", "tok-su", { customerId: "C-100", serviceType: "installation" });
    expect(opened.status).toBe(201);
    const assigned = await call("POST", `/jobs/${opened.body.id}/assign`, "tok-kyaw");
    expect(assigned.status).toBe(200);
    const wrongTechnician = await call("POST", `/jobs/${opened.body.id}/complete`, "tok-su");
    expect(wrongTechnician.status).toBe(403);
    const completed = await call("POST", `/jobs/${opened.body.id}/complete`, "tok-kyaw");
    expect(completed.status).toBe(200);
    const invalid = await call("POST", "/jobs", "tok-su", { serviceType: "repair" });
    expect(invalid.status).toBe(400);
    const unknown = await call("GET", "/jobs", "tok-stolen");
    expect(unknown.status).toBe(401);
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);

    const all = [opened, assigned, wrongTechnician, completed, invalid, unknown];
    await eventually(() => all.every((response) => completionOf(response.requestId)), 20_000, "completion entries");
    expect(completionOf(opened.requestId)).toMatchObject({
      level: "AUDIT",
      action: "CREATE",
      status: 201,
      user: "su",
      user_role: "service_manager",
      branch_id: "BR-MDY",
      metadata: { route: "/jobs" },
    });
    expect(completionOf(assigned.requestId)).toMatchObject({ user: "kyaw", metadata: { route: "/jobs/:id/assign" } });
    expect(completionOf(wrongTechnician.requestId)).toMatchObject({
      level: "WARNING",
      status: 403,
      success: false,
      user: "su",
      description: "HTTP Request Failed: only the assigned technician can complete a job",
    });
    expect(completionOf(invalid.requestId)).toMatchObject({ status: 400, success: false, level: "WARNING" });
    expect(completionOf(unknown.requestId)).toMatchObject({ status: 401, user: "SYSTEM", success: false });

    const entries = auditEntries(dir);
    expect(entries.find((entry) => entry.description === "Service job opened")).toMatchObject({
      module: "service",
      user: "su",
      request_id: opened.requestId,
    });
    expect(entries.find((entry) => entry.description === "Service job assigned")).toMatchObject({
      user: "kyaw",
      old_values: { status: "open", technician: null },
      new_values: { status: "assigned", technician: "kyaw" },
    });
    expect(entries.find((entry) => entry.description === "Service job completed")).toMatchObject({
      user: "kyaw",
      request_id: completed.requestId,
    });
    expect(entries.find((entry) => entry.level === "SECURITY" && entry.request_id === unknown.requestId)).toBeDefined();
    expect(completionEntries(dir).some((entry) => entry.endpoint === "/healthz")).toBe(false);
  });

  it("keeps 100 concurrent technicians' requests apart", async () => {
    const tokens = ["tok-kyaw", "tok-su"];
    const responses = await Promise.all(Array.from({ length: 100 }, (_, i) => call("GET", `/jobs?n=${i}`, tokens[i % 2])));
    await eventually(() => responses.every((response) => completionOf(response.requestId)), 20_000, "100 completion entries");
    for (const [i, response] of responses.entries()) {
      expect(completionOf(response.requestId)).toMatchObject({ user: i % 2 ? "su" : "kyaw", endpoint: `/jobs?n=${i}` });
    }
  });

  it("stops cleanly on SIGTERM", async () => {
    service.child.kill("SIGTERM");
    expect(await service.exited).toEqual({ code: 0, signal: null });
  });
});
