/** The four adapters (express, fastify, koa, node:http) on real servers: one completion entry per request, with the request's own context. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AuditLogger, createLogger } from "../src/index.js";
import { tempDir } from "./support/core-trail.js";
import { FRAMEWORKS, startTestServer, type TestServer, type TestServerOptions } from "./support/integration-servers.js";
import { auditEntries, completionEntries, rawRequest, waitForCompletions } from "./support/integration-trail.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe.each(FRAMEWORKS)("%s adapter", (framework) => {
  let dir: string;
  let cleanup: () => void;
  let logger: AuditLogger;
  let server: TestServer | undefined;

  beforeEach(() => {
    ({ dir, cleanup } = tempDir("auditx-integration-"));
    logger = createLogger({ logDir: dir });
  });
  afterEach(async () => {
    try {
      await server?.close();
      await logger.shutdown();
    } finally {
      server = undefined;
      cleanup();
    }
  });

  async function start(options: Partial<TestServerOptions> = {}): Promise<TestServer> {
    server = await startTestServer(framework, { logger, ...options });
    return server;
  }

  it("keeps the context of 100 concurrent requests with different users apart, guard set after the middleware", async () => {
    const { url } = await start();
    const responses = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const response = await fetch(`${url}/whoami?page=${i}`, {
          headers: {
            "X-Request-ID": `req-${i}`,
            "X-Session-ID": `sess-${i}`,
            "X-User": `user-${i}`,
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
      expect(echoed).toBe(`req-${i}`);
      expect(body).toMatchObject({ user: `user-${i}`, requestId: `req-${i}`, sessionId: `sess-${i}`, branchId: `BR-${i}`, method: "GET" });
    }
    const completions = await waitForCompletions(dir, 100);
    expect(completions).toHaveLength(100);
    const seen = new Set<number>();
    for (const entry of completions) {
      const i = Number(String(entry.request_id).slice(4));
      seen.add(i);
      expect(entry).toMatchObject({
        level: "AUDIT",
        module: "system",
        action: "READ",
        description: "HTTP GET /whoami completed with 200",
        user: `user-${i}`,
        user_role: i % 2 ? "cashier" : "manager",
        company_id: `CO-${i % 3}`,
        branch_id: `BR-${i}`,
        session_id: `sess-${i}`,
        ip: "127.0.0.1",
        method: "GET",
        endpoint: `/whoami?page=${i}`,
        status: 200,
        success: true,
      });
      expect(typeof entry.metadata?.duration_ms).toBe("number");
    }
    expect(seen.size).toBe(100);
    // The entries written inside the routes carry the same request's context.
    const business = auditEntries(dir).filter((entry) => entry.description === "Customer list viewed");
    expect(business).toHaveLength(100);
    for (const entry of business) expect(entry.user).toBe(`user-${String(entry.request_id).slice(4)}`);
  });

  it("gives the guard's context to a POST with a JSON body (action CREATE), also for entries written in the route", async () => {
    const { url } = await start();
    const results = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const response = await fetch(`${url}/orders`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-request-id": `post-${i}`, "x-user": `clerk-${i}`, "x-branch": "BR-MDY" },
          body: JSON.stringify({ ref: `SO-${i}`, lines: "x".repeat(i * 5000) }),
        });
        return { i, status: response.status };
      }),
    );
    for (const { status } of results) expect(status).toBe(201);
    const completions = await waitForCompletions(dir, 20);
    for (const entry of completions) {
      const i = String(entry.request_id).slice(5);
      expect(entry).toMatchObject({
        action: "CREATE",
        method: "POST",
        status: 201,
        level: "AUDIT",
        user: `clerk-${i}`,
        branch_id: "BR-MDY",
      });
    }
    const orders = auditEntries(dir).filter((entry) => entry.description === "Sales order created");
    expect(orders).toHaveLength(20);
    for (const order of orders) expect(order.reference_no).toBe(`SO-${String(order.user).slice(6)}`);
  });

  it.each(["/boom", "/async-boom"])("logs an error thrown in %s as ERROR 500 and hands it on to the app's error handling", async (path) => {
    const { url, handedOn } = await start();
    const response = await fetch(`${url}${path}`, { headers: { "x-request-id": "err-1", "x-user": "auditor" } });
    expect(response.status).toBe(500);
    expect(response.headers.get("x-request-id")).toBe("err-1");
    const message = path === "/boom" ? "boom failure" : "async boom failure";
    const [entry] = await waitForCompletions(dir, 1);
    expect(entry).toMatchObject({
      level: "ERROR",
      description: `HTTP Request Failed: ${message}`,
      status: 500,
      success: false,
      request_id: "err-1",
      endpoint: path,
      method: "GET",
    });
    expect(entry.metadata?.error).toBe(message);
    expect(handedOn).toContain(message);
  });

  it("logs a 404 as WARNING with success false", async () => {
    const { url } = await start();
    const response = await fetch(`${url}/missing/thing`);
    expect(response.status).toBe(404);
    const [entry] = await waitForCompletions(dir, 1);
    expect(entry).toMatchObject({
      level: "WARNING",
      status: 404,
      success: false,
      description: "HTTP GET /missing/thing completed with 404",
    });
  });

  it("leaves the default and the configured excluded paths out of the trail", async () => {
    const { url } = await start({ audit: { excludePaths: ["/healthz", /^\/metrics\//] } });
    for (const path of ["/healthz", "/healthz?probe=1", "/metrics/internal"]) expect((await fetch(`${url}${path}`)).status).toBe(200);
    expect((await fetch(`${url}/whoami`)).status).toBe(200);
    // /whoami came last: an entry of the excluded requests, answered before it, would be in the trail by now.
    const completions = await waitForCompletions(dir, 1);
    expect(completionEntries(dir).map((entry) => entry.endpoint)).toEqual(["/whoami"]);
    expect(completions).toHaveLength(1);
  });

  it("honours X-Request-ID in any letter case, echoes it, and replaces an unsafe one with a generated id", async () => {
    const { url } = await start();
    const mixed = await rawRequest(`${url}/whoami`, { "x-ReQuEsT-iD": "Trace.42:abc" });
    expect(mixed.headers["x-request-id"]).toBe("Trace.42:abc");
    const unsafe = await rawRequest(`${url}/whoami`, { "X-Request-ID": "<script>alert(1)</script> ; evil" });
    const tooLong = await rawRequest(`${url}/whoami`, { "X-Request-ID": "a".repeat(500) });
    const none = await rawRequest(`${url}/whoami`, {});
    for (const response of [unsafe, tooLong, none]) expect(response.headers["x-request-id"]).toMatch(UUID);
    const ids = new Set([unsafe, tooLong, none].map((response) => response.headers["x-request-id"]));
    expect(ids.size).toBe(3);
    const completions = await waitForCompletions(dir, 4);
    expect(completions.map((entry) => entry.request_id).sort()).toEqual(
      ["Trace.42:abc", ...[unsafe, tooLong, none].map((response) => response.headers["x-request-id"] as string)].sort(),
    );
    expect(JSON.stringify(completions)).not.toContain("<script>");
  });

  it("redacts credentials in the query string of the endpoint", async () => {
    const { url } = await start();
    await fetch(`${url}/whoami?page=2&password=hunter2&access_token=abc.def&api%5Fkey=k1`);
    const [entry] = await waitForCompletions(dir, 1);
    expect(entry.endpoint).toBe("/whoami?page=2&password=[REDACTED]&access_token=[REDACTED]&api%5Fkey=[REDACTED]");
    expect(JSON.stringify(auditEntries(dir))).not.toMatch(/hunter2|abc\.def|k1/);
  });

  it("takes the client IP from X-Forwarded-For only when proxies are trusted", async () => {
    const untrusted = await start();
    await rawRequest(`${untrusted.url}/whoami`, { "X-Forwarded-For": "203.0.113.7", "x-request-id": "direct" });
    await untrusted.close();
    const trusted = await start({ trustProxy: true });
    await rawRequest(`${trusted.url}/whoami`, { "X-Forwarded-For": "203.0.113.7, 10.0.0.2", "x-request-id": "proxied" });
    const completions = await waitForCompletions(dir, 2);
    const byId = Object.fromEntries(completions.map((entry) => [entry.request_id, entry.ip]));
    expect(byId).toEqual({ direct: "127.0.0.1", proxied: "203.0.113.7" });
  });
});
