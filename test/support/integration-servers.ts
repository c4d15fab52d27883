/**
 * The same small ERP API built on each framework with its auditx adapter, so
 * that one behaviour suite runs against express, fastify, koa and node:http.
 *
 * Routes: GET /whoami (answers the context; writes a business entry),
 * POST /orders (JSON body), GET /boom (throws), GET /async-boom (rejects),
 * GET /missing (404), GET /healthz, GET /metrics/internal.
 * A guard after the middleware sets user, role, company and branch from the
 * X-User, X-Role, X-Company and X-Branch headers, after an async pause.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import Fastify from "fastify";
import Koa from "koa";
import { type AuditLogger, RequestContext, type RequestContextFields } from "../../src/index.js";
import { auditErrorHandler, auditMiddleware as expressAudit } from "../../src/integrations/express.js";
import { auditPlugin } from "../../src/integrations/fastify.js";
import { type HttpAuditOptions, withAudit } from "../../src/integrations/http.js";
import { auditMiddleware as koaAudit } from "../../src/integrations/koa.js";
import type { RequestAuditOptions } from "../../src/integrations/RequestAuditOptions.js";

export type Framework = "express" | "fastify" | "koa" | "http";
export const FRAMEWORKS: Framework[] = ["express", "fastify", "koa", "http"];

export interface TestServerOptions {
  logger: AuditLogger;
  /** Framework's own proxy trust: Express `trust proxy`, Fastify `trustProxy`, Koa `app.proxy`, http `trustProxy`. */
  trustProxy?: boolean;
  /** Options that do not depend on the framework's request type. */
  audit?: Omit<RequestAuditOptions, "skip" | "describe" | "metadata" | "logger">;
}

export interface TestServer {
  url: string;
  /** Errors the application's own error handling saw after auditx handed them on. */
  handedOn: string[];
  close(): Promise<void>;
}

type Headers = IncomingMessage["headers"];

/** A pause of 0-8 ms, so that concurrent requests interleave inside the guard and the handler. */
function pause(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * 8));
}

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The auth guard: the context it sets after the middleware must reach the completion entry. */
async function guard(headers: Headers): Promise<void> {
  await pause();
  const user = header(headers, "x-user");
  if (!user) return;
  RequestContext.update({
    user,
    userRole: header(headers, "x-role"),
    companyId: header(headers, "x-company"),
    branchId: header(headers, "x-branch"),
  });
}

/** GET /whoami: a business entry written inside the route, then the context as the route sees it. */
async function whoami(logger: AuditLogger): Promise<RequestContextFields> {
  await pause();
  logger.log("Customer list viewed", { module: "crm" });
  return RequestContext.get();
}

function recordOrder(logger: AuditLogger, body: unknown): RequestContextFields & { order: unknown } {
  logger.logTransaction("Sales order created", {
    module: "sales",
    action: "CREATE",
    referenceNo: String((body as { ref?: unknown })?.ref),
  });
  return { ...RequestContext.get(), order: body };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

export async function startTestServer(framework: Framework, options: TestServerOptions): Promise<TestServer> {
  const audit = { logger: options.logger, ...options.audit };
  const handedOn: string[] = [];
  switch (framework) {
    case "express": {
      const app = express();
      if (options.trustProxy) app.set("trust proxy", true);
      app.use(expressAudit(audit));
      app.use(express.json());
      app.use(async (req, _res, next) => {
        await guard(req.headers);
        next();
      });
      app.get("/whoami", async (_req, res) => {
        res.json(await whoami(options.logger));
      });
      app.post("/orders", (req, res) => {
        res.status(201).json(recordOrder(options.logger, req.body));
      });
      app.get("/boom", () => {
        throw new Error("boom failure");
      });
      app.get("/async-boom", async () => {
        await pause();
        throw new Error("async boom failure");
      });
      app.get(["/healthz", "/metrics/internal"], (_req, res) => {
        res.json({ ok: true });
      });
      app.use(auditErrorHandler());
      app.use((error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
        handedOn.push(error.message);
        res.status(500).json({ error: "internal", handled: true });
      });
      const server = createServer(app);
      return { url: await listen(server), handedOn, close: () => closeServer(server) };
    }
    case "fastify": {
      const app = Fastify({ trustProxy: options.trustProxy ?? false });
      await app.register(auditPlugin, audit);
      app.addHook("preHandler", async (request) => {
        await guard(request.headers);
      });
      app.get("/whoami", async () => whoami(options.logger));
      app.post("/orders", async (request, reply) => {
        reply.code(201);
        return recordOrder(options.logger, request.body);
      });
      app.get("/boom", () => {
        throw new Error("boom failure");
      });
      app.get("/async-boom", async () => {
        await pause();
        throw new Error("async boom failure");
      });
      app.get("/healthz", async () => ({ ok: true }));
      app.get("/metrics/internal", async () => ({ ok: true }));
      app.setErrorHandler((error: Error, _request, reply) => {
        handedOn.push(error.message);
        reply.code(500).send({ error: "internal", handled: true });
      });
      await app.listen({ port: 0, host: "127.0.0.1" });
      const { port } = app.server.address() as AddressInfo;
      return { url: `http://127.0.0.1:${port}`, handedOn, close: () => app.close() };
    }
    case "koa": {
      const app = new Koa();
      app.proxy = options.trustProxy ?? false;
      app.silent = true;
      app.on("error", (error: Error) => handedOn.push(error.message));
      app.use(koaAudit(audit));
      app.use(async (ctx, next) => {
        await guard(ctx.headers);
        await next();
      });
      app.use(async (ctx) => {
        const path = ctx.path;
        if (ctx.method === "GET" && path === "/whoami") ctx.body = await whoami(options.logger);
        else if (ctx.method === "POST" && path === "/orders") {
          ctx.status = 201;
          ctx.body = recordOrder(options.logger, JSON.parse(await readBody(ctx.req)));
        } else if (path === "/boom") throw new Error("boom failure");
        else if (path === "/async-boom") {
          await pause();
          throw new Error("async boom failure");
        } else if (path === "/healthz" || path === "/metrics/internal") ctx.body = { ok: true };
      });
      const server = createServer(app.callback());
      return { url: await listen(server), handedOn, close: () => closeServer(server) };
    }
    case "http": {
      const httpOptions: HttpAuditOptions = {
        ...(audit as HttpAuditOptions),
        trustProxy: options.trustProxy ?? false,
        onError: (error, _req, res) => {
          handedOn.push((error as Error).message);
          res.statusCode = 500;
          res.setHeader("Content-Type", "application/json");
          res.end(JSON.stringify({ error: "internal", handled: true }));
        },
      };
      const server = createServer(
        withAudit(async (req: IncomingMessage, res: ServerResponse) => {
          await guard(req.headers);
          const path = (req.url ?? "/").split("?")[0];
          const send = (status: number, body: unknown) => {
            res.statusCode = status;
            res.setHeader("Content-Type", "application/json");
            res.end(JSON.stringify(body));
          };
          if (req.method === "GET" && path === "/whoami") send(200, await whoami(options.logger));
          else if (req.method === "POST" && path === "/orders") send(201, recordOrder(options.logger, JSON.parse(await readBody(req))));
          else if (path === "/boom") throw new Error("boom failure");
          else if (path === "/async-boom") {
            await pause();
            throw new Error("async boom failure");
          } else if (path === "/healthz" || path === "/metrics/internal") send(200, { ok: true });
          else send(404, { error: "not found" });
        }, httpOptions),
      );
      return { url: await listen(server), handedOn, close: () => closeServer(server) };
    }
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = "";
  req.setEncoding("utf8");
  for await (const chunk of req) body += chunk;
  return body;
}
