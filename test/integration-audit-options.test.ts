/** Adapter options and edge cases: skip, describe, metadata, custom headers, routes, aborted clients, write failures. */
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import Fastify from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AuditLogger, createLogger } from "../src/index.js";
import { auditMiddleware as expressAudit } from "../src/integrations/express.js";
import { auditPlugin } from "../src/integrations/fastify.js";
import { type HttpAuditOptions, withAudit } from "../src/integrations/http.js";
import { tempDir, waitFor } from "./support/core-trail.js";
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
    await waitFor(() => customEntries().length >= 1, 20_000, "the custom completion entry");
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

  it("rejects an invalid header name option with a TypeError at setup", () => {
    expect(() => withAudit(ok, { requestIdHeader: "X-Bad Header\r\n" })).toThrow(TypeError);
    expect(() => expressAudit({ sessionIdHeader: "" })).toThrow(TypeError);
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
    await waitFor(() => failures.length === 1, 5000, "onWriteError");
    expect((failures[0] as Error).name).toBe("AuditWriteError");
    expect((await fetch(`${url}/again`)).status).toBe(200);
    await waitFor(() => failures.length === 2, 5000, "second onWriteError");
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

  it("fastify writes routeOptions.url, and a validation error as WARNING 400 with its message", async () => {
    const app = Fastify();
    await app.register(auditPlugin, { logger });
    app.post("/stock-moves/:id", { schema: { body: { type: "object", required: ["qty"], properties: { qty: { type: "number" } } } } }, async () => ({
      ok: true,
    }));
    await app.listen({ port: 0, host: "127.0.0.1" });
    try {
      const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      const good = await fetch(`${base}/stock-moves/7`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"qty":3}' });
      const bad = await fetch(`${base}/stock-moves/8`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      expect([good.status, bad.status]).toEqual([200, 400]);
      const entries = await waitForCompletions(dir, 2);
      const byEndpoint = Object.fromEntries(entries.map((entry) => [entry.endpoint, entry]));
      expect(byEndpoint["/stock-moves/7"]).toMatchObject({ level: "AUDIT", status: 200, success: true, metadata: { route: "/stock-moves/:id" } });
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
