/**
 * Query-string redaction of the HTTP adapters against the parsers that give
 * applications nested parameters: Express 4 (qs, "extended" by default),
 * Express 5 with the extended and the simple parser, Fastify, Koa and
 * node:http. Each route answers what the application read, so each test also
 * shows that the secret really reached the handler, and the trail did not
 * get it. The logger's own redaction is off here (redact: false): the
 * adapter alone must hold.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import express4 from "express4";
import Fastify from "fastify";
import Koa from "koa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AuditLogger, createLogger } from "../src/index.js";
import { auditMiddleware as expressAudit } from "../src/integrations/express.js";
import { auditPlugin } from "../src/integrations/fastify.js";
import { withAudit } from "../src/integrations/http.js";
import { auditMiddleware as koaAudit } from "../src/integrations/koa.js";
import { tempDir } from "./support/core-trail.js";
import { auditEntries, waitForCompletions } from "./support/integration-trail.js";

type Variant = "express4" | "express5-extended" | "express5-simple" | "fastify" | "koa" | "http";
const VARIANTS: Variant[] = ["express4", "express5-extended", "express5-simple", "fastify", "koa", "http"];

interface Running {
  url: string;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<Running> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** GET /login answers the query as the framework parsed it. */
async function start(variant: Variant, logger: AuditLogger): Promise<Running> {
  switch (variant) {
    case "express4": {
      const app = express4();
      app.use(expressAudit({ logger }));
      app.get("/login", (req, res) => {
        res.json(req.query);
      });
      return listen(createServer(app));
    }
    case "express5-extended":
    case "express5-simple": {
      const app = express();
      app.set("query parser", variant === "express5-extended" ? "extended" : "simple");
      app.use(expressAudit({ logger }));
      app.get("/login", (req, res) => {
        res.json(req.query);
      });
      return listen(createServer(app));
    }
    case "fastify": {
      const app = Fastify();
      await app.register(auditPlugin, { logger });
      app.get("/login", async (request) => request.query);
      await app.listen({ port: 0, host: "127.0.0.1" });
      return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() };
    }
    case "koa": {
      const app = new Koa();
      app.silent = true;
      app.use(koaAudit({ logger }));
      app.use(async (ctx) => {
        ctx.body = ctx.query;
      });
      return listen(createServer(app.callback()));
    }
    case "http":
      return listen(
        createServer(
          withAudit(
            (req, res) => {
              res.setHeader("Content-Type", "application/json");
              res.end(JSON.stringify(Object.fromEntries(new URL(req.url ?? "/", "http://x").searchParams)));
            },
            { logger },
          ),
        ),
      );
  }
}

/** Every way of naming a secret parameter that a parser may turn back into the plain name. */
const ATTACKS: { query: string; secrets: string[] }[] = [
  { query: "password[]=pw-array-1", secrets: ["pw-array-1"] },
  { query: "password[0]=pw-index-2", secrets: ["pw-index-2"] },
  { query: "user[password]=pw-nested-3&user[name]=alice", secrets: ["pw-nested-3"] },
  { query: "pin[]=pin-9911&otp[]=otp-551234&code[]=oauth-code-4", secrets: ["pin-9911", "otp-551234", "oauth-code-4"] },
  { query: "card[cvv]=cvv-737&card[number]=4111111111111111", secrets: ["cvv-737", "4111111111111111"] },
  { query: "a[b][c][password]=pw-deep-5", secrets: ["pw-deep-5"] },
  { query: "password=pw-repeat-6&password=pw-repeat-7", secrets: ["pw-repeat-6", "pw-repeat-7"] },
  { query: "pass%77ord=pw-encoded-8", secrets: ["pw-encoded-8"] },
  { query: "password%5B%5D=pw-encoded-9&user%5Bpassword%5D=pw-encoded-10", secrets: ["pw-encoded-9", "pw-encoded-10"] },
  { query: "PASSWORD=pw-case-11&Api-Key=key-12&access_token=tok-13", secrets: ["pw-case-11", "key-12", "tok-13"] },
  { query: "user.password=pw-dots-14", secrets: ["pw-dots-14"] },
  { query: "password%255B%255D=pw-double-15", secrets: ["pw-double-15"] },
];

describe.each(VARIANTS)("%s", (variant) => {
  let dir: string;
  let cleanup: () => void;
  let logger: AuditLogger;
  let running: Running | undefined;

  beforeEach(() => {
    ({ dir, cleanup } = tempDir("auditx-query-"));
    logger = createLogger({ logDir: dir, redact: false });
  });
  afterEach(async () => {
    try {
      await running?.close();
      await logger.shutdown();
    } finally {
      running = undefined;
      cleanup();
    }
  });

  it("redacts bracketed, nested, indexed, repeated and percent-encoded secret parameters", async () => {
    running = await start(variant, logger);
    const seenByApp: string[] = [];
    for (const { query } of ATTACKS) {
      const response = await fetch(`${running.url}/login?page=3&${query}`);
      expect(response.status).toBe(200);
      seenByApp.push(await response.text());
    }
    const entries = await waitForCompletions(dir, ATTACKS.length);
    const trail = JSON.stringify(auditEntries(dir));
    for (const { secrets } of ATTACKS) for (const secret of secrets) expect(trail).not.toContain(secret);
    // The other parameters are kept as they were sent.
    for (const entry of entries) expect(entry.endpoint).toMatch(/^\/login\?page=3&/);
    expect(trail).toContain("user[name]=alice");
    expect(entries.map((entry) => entry.endpoint)).toContain("/login?page=3&user[password]=[REDACTED]&user[name]=alice");
    // The secrets did reach the application: these are the parsers' real results.
    const answers = seenByApp.join("\n");
    expect(answers).toContain("pw-repeat-7");
    expect(answers).toContain("pw-nested-3");
    if (variant === "express4" || variant === "express5-extended") {
      expect(JSON.parse(seenByApp[2]!)).toMatchObject({ user: { password: "pw-nested-3", name: "alice" } });
      expect(JSON.parse(seenByApp[0]!)).toMatchObject({ password: ["pw-array-1"] });
    }
  });

  it("keeps the logger's default rules on the endpoint too when the adapter's list is replaced", async () => {
    await logger.shutdown();
    logger = createLogger({ logDir: dir });
    running = await startWithList(variant, logger);
    await fetch(`${running.url}/login?token[]=tok-list-1&keep=1`);
    const [entry] = await waitForCompletions(dir, 1);
    expect(entry!.endpoint).toBe("/login?token[]=[REDACTED]&keep=1");
  });
});

/** The same servers with `redactQueryParams: ["nothing"]`: the adapter redacts nothing of its own. */
async function startWithList(variant: Variant, logger: AuditLogger): Promise<Running> {
  const options = { logger, redactQueryParams: ["nothing"] };
  if (variant === "fastify") {
    const app = Fastify();
    await app.register(auditPlugin, options);
    app.get("/login", async (request) => request.query);
    await app.listen({ port: 0, host: "127.0.0.1" });
    return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() };
  }
  if (variant === "koa") {
    const app = new Koa();
    app.use(koaAudit(options));
    app.use(async (ctx) => {
      ctx.body = ctx.query;
    });
    return listen(createServer(app.callback()));
  }
  if (variant === "http") return listen(createServer(withAudit((_req, res) => res.end("{}"), options)));
  const app = variant === "express4" ? express4() : express();
  app.use(expressAudit(options));
  app.get("/login", (req, res) => {
    res.json(req.query);
  });
  return listen(createServer(app));
}
