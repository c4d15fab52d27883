// The server of one request benchmark run, in a fresh process:
//   fork("request-worker.mjs", [variant, dir]) -> sends { port }; on "stop"
//   it closes and sends { trailBytes }. The client runs in the parent, so the
//   server's process holds only the server's work.
import { AsyncLocalStorage } from "node:async_hooks";
import { existsSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";

const [variant, dir] = process.argv.slice(2);
const invoice = { id: "inv-42", reference_no: "SI-2026-0042", amount: 1_250_000, currency: "MMK", status: "posted" };

async function server() {
  const audited = variant.endsWith("+audit");
  const { createLogger } = await import("../../dist/index.js");
  const logger = audited ? createLogger({ logDir: dir, console: false, maxFileBytes: 0 }) : undefined;
  if (variant.startsWith("nest")) return { server: await nestServer(audited, logger), logger };
  if (variant.startsWith("express")) {
    const { default: express } = await import("express");
    const app = express();
    if (audited) {
      const { auditMiddleware } = await import("../../dist/integrations/express.js");
      app.use(auditMiddleware({ logger, module: "sales" }));
    } else if (variant.endsWith("+context")) {
      // Only what any request-context library does: the request runs inside an AsyncLocalStorage scope.
      const storage = new AsyncLocalStorage();
      app.use((req, _res, next) => storage.run({ method: req.method }, next));
    } else if (variant.endsWith("+pino")) {
      const line = await pinoLine();
      app.use((req, res, next) => {
        const started = performance.now();
        res.once("finish", () => line(req.method, req.originalUrl, req.ip, res.statusCode, started));
        next();
      });
    }
    app.get("/api/sales/invoices/:id", (_req, res) => res.json(invoice));
    return { server: createServer(app), logger };
  }
  const handler = (_req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(invoice));
  };
  if (variant.endsWith("+context")) {
    const storage = new AsyncLocalStorage();
    return { server: createServer((req, res) => storage.run({ method: req.method }, handler, req, res)), logger };
  }
  if (variant.endsWith("+pino")) {
    const line = await pinoLine();
    return {
      server: createServer((req, res) => {
        const started = performance.now();
        res.once("finish", () => line(req.method, req.url, req.socket.remoteAddress, res.statusCode, started));
        handler(req, res);
      }),
      logger,
    };
  }
  if (!audited) return { server: createServer(handler), logger };
  const { withAudit } = await import("../../dist/integrations/http.js");
  return { server: createServer(withAudit(handler, { logger, module: "sales" })), logger };
}

/**
 * The same route as a NestJS 11 controller on the Express platform. Plain
 * JavaScript here, so Nest's decorators are applied as the functions they are.
 */
async function nestServer(audited, logger) {
  const { Controller, Get, Module } = await import("@nestjs/common");
  const { NestFactory } = await import("@nestjs/core");
  class InvoicesController {
    get() {
      return invoice;
    }
  }
  Controller("api/sales/invoices")(InvoicesController);
  Get(":id")(InvoicesController.prototype, "get", Object.getOwnPropertyDescriptor(InvoicesController.prototype, "get"));
  const imports = [];
  if (audited) {
    const { AuditModule } = await import("../../dist/integrations/nestjs/index.js");
    imports.push(AuditModule.forRoot({ logger, module: "sales" }));
  }
  class AppModule {}
  Module({ imports, controllers: [InvoicesController] })(AppModule);
  const app = await NestFactory.create(AppModule, { logger: false });
  if (variant.endsWith("+context")) {
    const storage = new AsyncLocalStorage();
    app.use((req, _res, next) => storage.run({ method: req.method }, next));
  } else if (variant.endsWith("+pino")) {
    const line = await pinoLine();
    app.use((req, res, next) => {
      const started = performance.now();
      res.once("finish", () => line(req.method, req.originalUrl, req.ip, res.statusCode, started));
      next();
    });
  }
  await app.init();
  return app.getHttpServer();
}

/** A hand-rolled request log: one pino line per request (sync destination), the same fields auditx writes. */
async function pinoLine() {
  const { default: pino } = await import("pino");
  const log = pino({ base: { hostname: "erp-app-01" } }, pino.destination({ dest: join(dir, "audit.jsonl"), sync: true }));
  return (method, endpoint, ip, status, started) =>
    log.info(
      {
        module: "sales",
        action: "READ",
        method,
        endpoint,
        ip,
        status,
        success: status < 400,
        metadata: { duration_ms: performance.now() - started },
      },
      `HTTP ${method} completed with ${status}`,
    );
}

const { server: httpServer, logger } = await server();
httpServer.keepAliveTimeout = 60_000;
await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
process.send({ port: httpServer.address().port });
process.on("message", async (message) => {
  if (message !== "stop") return;
  await logger?.shutdown();
  httpServer.closeAllConnections();
  httpServer.close();
  const trail = join(dir, "audit.jsonl");
  process.send({ trailBytes: existsSync(trail) ? statSync(trail).size : 0 }, () => process.exit(0));
});
