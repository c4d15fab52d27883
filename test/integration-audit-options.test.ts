/** Adapter options and edge cases: skip, describe, metadata, custom headers, routes, aborted clients, write failures. */
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import Fastify from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AuditLogger, createLogger, RequestContext } from "../src/index.js";
import { auditErrorHandler, auditMiddleware as expressAudit } from "../src/integrations/express.js";
import { auditPlugin } from "../src/integrations/fastify.js";
import { type HttpAuditOptions, withAudit } from "../src/integrations/http.js";
import { tempDir } from "./support/core-trail.js";
import { eventually } from "./support/eventually.js";
import { auditEntries, rawRequest, waitForCompletions } from "./support/integration-trail.js";

let dir: string;
let cleanup: () => void;
let logger: AuditLogger;
const servers: Server[] = [];

beforeEach(() => {
  ({ dir, cleanup } = tempDir("auditx-options-"));
  logger = createLogger({ logDir: dir });
});
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await logger.shutdown().catch(() => {});
  cleanup();
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => unknown, options: HttpAuditOptions = {}): Promise<string> {
  const server = createServer(withAudit(handler, { logger, ...options }));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const ok = (_req: IncomingMessage, res: ServerResponse) => res.end("ok");

describe("options", () => {
  it("skip(), describe() and metadata() shape the completion entry", async () => {
    const url = await serve(ok, {
      skip: (req) => req.headers["user-agent"] === "probe",
      describe: (req, _res, outcome) => `custom ${req.method} -> ${outcome.status}`,
      metadata: (req) => ({ agent: req.headers["user-agent"] }),
      module: "sales",
    });
    await rawRequest(`${url}/a`, { "user-agent": "probe" });
    await rawRequest(`${url}/b`, { "user-agent": "pos-terminal" });
    await eventually(() => customEntries().length >= 1, 20_000, "the custom completion entry");
    const [entry] = customEntries();
    expect(entry).toMatchObject({ description: "custom GET -> 200", module: "sales", endpoint: "/b" });
    expect(entry.metadata).toMatchObject({ agent: "pos-terminal" });
    expect(typeof (entry.metadata as Record<string, unknown>).duration_ms).toBe("number");
    expect(customEntries()).toHaveLength(1);
    expect(auditEntries(dir)).toHaveLength(1);
  });

  it("reads custom id headers, keeps safe session ids, drops unsafe ones, and can leave the query out", async () => {
    const url = await serve(ok, { requestIdHeader: "X-Correlation-ID", sessionIdHeader: "X-POS-Session", includeQuery: false });
    const first = await rawRequest(`${url}/pos?till=3`, { "x-correlation-id": "corr-1", "x-pos-session": "till-3.shift-A" });
    expect(first.headers["x-correlation-id"]).toBe("corr-1");
    expect(first.headers["x-request-id"]).toBeUndefined();
    await rawRequest(`${url}/pos`, { "x-correlation-id": "corr-2", "x-pos-session": "bad session\u00e9" });
    const entries = await waitForCompletions(dir, 2);
    const byId = Object.fromEntries(entries.map((entry) => [entry.request_id, entry]));
    expect(byId["corr-1"]).toMatchObject({ session_id: "till-3.shift-A", endpoint: "/pos" });
    expect(byId["corr-2"].session_id).toBeUndefined();
  });

  it("echoRequestId: false sends no id header; a throwing or unsafe generator falls back to a UUID", async () => {
    const url = await serve(ok, { echoRequestId: false, generateRequestId: () => "bad id\r\nX-Injected: 1" });
    const response = await rawRequest(`${url}/x`, {});
    expect(response.headers["x-request-id"]).toBeUndefined();
    expect(response.headers["x-injected"]).toBeUndefined();
    const [entry] = await waitForCompletions(dir, 1);
    expect(entry.request_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("a guard that replaces the context with set() still leaves the request's ids and IP in the completion entry", async () => {
    const url = await serve((_req, res) => {
      RequestContext.set({ user: "night-auditor", branchId: "BR-HQ" });
      res.end("ok");
    });
    await rawRequest(`${url}/close-day`, { "x-request-id": "set-1", "x-session-id": "sess-9" });
    const [entry] = await waitForCompletions(dir, 1);
    expect(entry).toMatchObject({ user: "night-auditor", branch_id: "BR-HQ", request_id: "set-1", session_id: "sess-9", ip: "127.0.0.1" });
  });

  it("rejects invalid options with a TypeError at setup", () => {
    expect(() => withAudit(ok, { requestIdHeader: "X-Bad Header\r\n" })).toThrow(TypeError);
    expect(() => expressAudit({ sessionIdHeader: "" })).toThrow(TypeError);
    expect(() => expressAudit({ excludePaths: "/healthz" as unknown as string[] })).toThrow(/excludePaths/);
    expect(() => expressAudit({ redactQueryParams: [42 as unknown as string] })).toThrow(/redactQueryParams/);
    expect(() => expressAudit({ logger: console as unknown as AuditLogger })).toThrow(/logger/);
    expect(() => expressAudit({ skip: true as unknown as () => boolean })).toThrow(/skip/);
  });

  it("express without error handlers of its own: finalhandler's 500 is written as ERROR, with the message when auditErrorHandler is there", async () => {
    for (const withHandler of [false, true]) {
      const app = express();
      app.set("env", "test"); // finalhandler stays quiet on stderr
      app.use(expressAudit({ logger }));
      app.get("/crash", () => {
        throw new Error("ledger locked");
      });
      if (withHandler) app.use(auditErrorHandler());
      const server = createServer(app);
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/crash`, {
        headers: { "x-request-id": `crash-${withHandler}` },
      });
      expect(response.status).toBe(500);
      expect(response.headers.get("x-request-id")).toBe(`crash-${withHandler}`);
    }
    const entries = await waitForCompletions(dir, 2);
    const byId = Object.fromEntries(entries.map((entry) => [entry.request_id, entry]));
    expect(byId["crash-false"]).toMatchObject({
      level: "ERROR",
      status: 500,
      success: false,
      description: "HTTP GET /crash completed with 500",
    });
    expect(byId["crash-true"]).toMatchObject({
      level: "ERROR",
      status: 500,
      success: false,
      description: "HTTP Request Failed: ledger locked",
    });
  });

  it("logs a client that goes away before the response as 499, aborted, success false", async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const url = await serve(async (_req, res) => {
      await released;
      res.end("late");
    });
    await new Promise<void>((resolve) => {
      const req = request(`${url}/slow-report`, { headers: { "x-request-id": "gone-1" } });
      req.on("error", () => resolve());
      req.end();
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 100);
    });
    const [entry] = await waitForCompletions(dir, 1);
    release();
    expect(entry).toMatchObject({ request_id: "gone-1", status: 499, success: false, level: "WARNING" });
    expect(entry.metadata).toMatchObject({ aborted: true });
  });

  it("a completion entry that cannot be written goes to onWriteError; the server keeps serving", async () => {
    const failures: unknown[] = [];
    const url = await serve(ok, { onWriteError: (error) => failures.push(error) });
    await logger.shutdown();
    expect((await fetch(`${url}/after-shutdown`)).status).toBe(200);
    await eventually(() => failures.length === 1, 5000, "onWriteError");
    expect((failures[0] as Error).name).toBe("AuditWriteError");
    expect((await fetch(`${url}/again`)).status).toBe(200);
    await eventually(() => failures.length === 2, 5000, "second onWriteError");
  });
});

describe("node:http trustProxy", () => {
  it.each([
    [false, "127.0.0.1"],
    [true, "198.51.100.1"],
    [1, "10.0.0.9"],
    [2, "203.0.113.5"],
    [9, "198.51.100.1"],
  ])("trustProxy %j takes %s from X-Forwarded-For: 198.51.100.1, 203.0.113.5, 10.0.0.9", async (trustProxy, expected) => {
    const url = await serve(ok, { trustProxy });
    await rawRequest(`${url}/ip`, { "X-Forwarded-For": "198.51.100.1, 203.0.113.5, 10.0.0.9" });
    const [entry] = await waitForCompletions(dir, 1);
    expect(entry.ip).toBe(expected);
  });

  it("stops at the first hop that is not an IP address", async () => {
    const url = await serve(ok, { trustProxy: true });
    await rawRequest(`${url}/ip`, { "X-Forwarded-For": "198.51.100.1, not-an-ip, 10.0.0.9" });
    const [entry] = await waitForCompletions(dir, 1);
    expect(entry.ip).toBe("10.0.0.9");
  });
});

describe("route patterns in metadata", () => {
  it("express writes the matched route with its mount path", async () => {
    const app = express();
    app.use(expressAudit({ logger }));
    const invoices = express.Router();
    invoices.get("/:id", (req, res) => {
      res.json({ id: req.params.id });
    });
    app.use("/invoices", invoices);
    const server = createServer(app);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/invoices/SI-42`);
    const [entry] = await waitForCompletions(dir, 1);
    expect(entry).toMatchObject({ endpoint: "/invoices/SI-42", description: "HTTP GET /invoices/SI-42 completed with 200" });
    expect(entry.metadata).toMatchObject({ route: "/invoices/:id" });
  });

  it("fastify keeps the scope when body parsing resumes from another async context (a shared parser queue)", async () => {
    // A parser pool started outside any request: its callbacks run in the pool's context, not the request's.
    const pending: Array<() => void> = [];
    const pool = setInterval(() => {
      for (const resume of pending.splice(0)) resume();
    }, 2);
    const app = Fastify();
    try {
      await app.register(auditPlugin, { logger });
      app.addContentTypeParser("application/x-erp-batch", { parseAs: "string" }, (_request, body, done) => {
        pending.push(() => done(null, { lines: String(body).split("\n").length }));
      });
      app.addHook("preHandler", async (request) => {
        RequestContext.update({ user: String(request.headers["x-user"]) });
      });
      app.post("/batches", async (request) => ({ context: RequestContext.get(), body: request.body }));
      await app.listen({ port: 0, host: "127.0.0.1" });
      const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      const bodies = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const response = await fetch(`${base}/batches`, {
            method: "POST",
            headers: { "content-type": "application/x-erp-batch", "x-user": `loader-${i}`, "x-request-id": `batch-${i}` },
            body: "a\nb\nc",
          });
          return (await response.json()) as { context: { user?: string; requestId?: string } };
        }),
      );
      for (const [i, body] of bodies.entries()) expect(body.context).toMatchObject({ user: `loader-${i}`, requestId: `batch-${i}` });
      const entries = await waitForCompletions(dir, 20);
      for (const entry of entries) expect(entry.user).toBe(`loader-${String(entry.request_id).slice(6)}`);
    } finally {
      clearInterval(pool);
      await app.close();
    }
  });

  it("fastify writes routeOptions.url, and a validation error as WARNING 400 with its message", async () => {
    const app = Fastify();
    await app.register(auditPlugin, { logger });
    app.post(
      "/stock-moves/:id",
      { schema: { body: { type: "object", required: ["qty"], properties: { qty: { type: "number" } } } } },
      async () => ({
        ok: true,
      }),
    );
    await app.listen({ port: 0, host: "127.0.0.1" });
    try {
      const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      const good = await fetch(`${base}/stock-moves/7`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"qty":3}',
      });
      const bad = await fetch(`${base}/stock-moves/8`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      expect([good.status, bad.status]).toEqual([200, 400]);
      const entries = await waitForCompletions(dir, 2);
      const byEndpoint = Object.fromEntries(entries.map((entry) => [entry.endpoint, entry]));
      expect(byEndpoint["/stock-moves/7"]).toMatchObject({
        level: "AUDIT",
        status: 200,
        success: true,
        metadata: { route: "/stock-moves/:id" },
      });
      expect(byEndpoint["/stock-moves/8"]).toMatchObject({ level: "WARNING", status: 400, success: false });
      expect(String(byEndpoint["/stock-moves/8"].description)).toMatch(/^HTTP Request Failed: .*qty/);
    } finally {
      await app.close();
    }
  });
});

/** Entries whose description came from the describe() option. */
function customEntries() {
  return auditEntries(dir).filter((entry) => String(entry.description).startsWith("custom "));
}
