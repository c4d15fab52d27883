/** AuditModule's options through forRoot and forRootAsync, on real NestJS applications over HTTP; injection of the logger; option mistakes. */
import { join } from "node:path";
import { Inject, Injectable, Module } from "@nestjs/common";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AuditLogger, audit, configure, createLogger } from "../../src/index.js";
import { auditMiddleware } from "../../src/integrations/express.js";
import { Audit, AuditModule, type AuditModuleOptions, type AuditOptionsFactory } from "../../src/integrations/nestjs/index.js";
import { tempDir } from "../support/core-trail.js";
import { eventually } from "../support/eventually.js";
import { auditEntries, completionEntries, type TrailEntry } from "../support/integration-trail.js";
import { erpModule, LedgerService, PLATFORMS, type RunningApp, startApp } from "./erp-app.js";

/** The application's own settings, as a config module would provide them. */
class AuditSettings {
  constructor(
    readonly dir: string,
    readonly module: string,
  ) {}
}

const SETTINGS = "AUDIT_SETTINGS";

function settingsModule(settings: AuditSettings) {
  @Module({ providers: [{ provide: SETTINGS, useValue: settings }], exports: [SETTINGS] })
  class SettingsModule {}
  return SettingsModule;
}

let dir: string;
let cleanup: () => void;
let running: RunningApp | undefined;
const loggers: AuditLogger[] = [];

function newLogger(logDir = dir): AuditLogger {
  const logger = createLogger({ logDir });
  loggers.push(logger);
  return logger;
}

beforeEach(() => {
  ({ dir, cleanup } = tempDir("auditx-nestjs-options-"));
});
afterEach(async () => {
  try {
    await running?.close();
    for (const logger of loggers.splice(0)) await logger.shutdown();
  } finally {
    running = undefined;
    cleanup();
  }
});

async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; requestId: string | null }> {
  const response = await fetch(`${running!.url}${path}`, { headers });
  await response.arrayBuffer();
  return { status: response.status, requestId: response.headers.get("x-request-id") };
}

async function entriesIn(logDir: string, count: number): Promise<TrailEntry[]> {
  await eventually(() => auditEntries(logDir).length >= count, 10_000, `${count} entries in ${logDir}`);
  return auditEntries(logDir);
}

describe.each(PLATFORMS)("AuditModule.forRoot on %s", (platform) => {
  it("takes the request auditing options: excluded paths, module, request id header", async () => {
    const options: AuditModuleOptions = {
      logger: newLogger(),
      excludePaths: ["/plain"],
      module: "erp",
      requestIdHeader: "X-Correlation-ID",
    };
    running = await startApp(platform, erpModule(AuditModule.forRoot(options)));
    expect((await get("/plain")).status).toBe(200);
    const response = await fetch(`${running.url}/healthz`, { headers: { "X-Correlation-ID": "corr-7" } });
    expect(response.headers.get("x-correlation-id")).toBe("corr-7");
    expect(response.headers.get("x-request-id")).toBeNull();
    await eventually(() => completionEntries(dir).length === 1, 10_000, "the /healthz completion entry");
    // The given list replaced the defaults: /healthz is audited, /plain is not.
    expect(completionEntries(dir)).toEqual([expect.objectContaining({ endpoint: "/healthz", module: "erp", request_id: "corr-7" })]);
  });

  it("auditRequests: false writes no completion entries, but @Audit entries keep the request's context", async () => {
    running = await startApp(platform, erpModule(AuditModule.forRoot({ logger: newLogger(), auditRequests: false })));
    const viewed = await get("/whoami", { "X-User": "aye", "X-Branch": "BR-YGN", "X-Request-ID": "only-business" });
    expect(viewed).toEqual({ status: 200, requestId: "only-business" });
    await get("/plain");
    const entries = await entriesIn(dir, 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(completionEntries(dir)).toEqual([]);
    expect(entries).toEqual([
      expect.objectContaining({
        description: "Customer list viewed",
        user: "aye",
        branch_id: "BR-YGN",
        request_id: "only-business",
        ip: "127.0.0.1",
      }),
    ]);
  });

  it("provides its logger for injection, by class (decorator metadata) and by @InjectAuditLogger()", async () => {
    const logger = newLogger();
    running = await startApp(platform, erpModule(AuditModule.forRoot({ logger })));
    const ledger = running.app.get(LedgerService);
    expect(ledger.byClass).toBe(logger);
    expect(ledger.byToken).toBe(logger);
  });
});

describe("AuditModule.forRootAsync", () => {
  it("useFactory with injected settings from an imported module", async () => {
    const own = join(dir, "tenant-a");
    const settings = new AuditSettings(own, "tenant-a");
    const auditModule = AuditModule.forRootAsync({
      imports: [settingsModule(settings)],
      inject: [SETTINGS],
      useFactory: async (given: AuditSettings) => ({ logger: newLogger(given.dir), module: given.module }),
    });
    running = await startApp("express", erpModule(auditModule));
    const { requestId } = await get("/plain", { "X-User": "aye" });
    const [entry] = await entriesIn(own, 1);
    expect(entry).toMatchObject({
      module: "tenant-a",
      request_id: requestId,
      user: "aye",
      description: "HTTP GET /plain completed with 200",
    });
  });

  it("useClass: an options factory with its own injected dependencies", async () => {
    const own = join(dir, "tenant-b");
    @Injectable()
    class AuditOptionsService implements AuditOptionsFactory {
      constructor(@Inject(SETTINGS) private readonly settings: AuditSettings) {}
      createAuditOptions(): AuditModuleOptions {
        return { logger: newLogger(this.settings.dir), module: this.settings.module, excludePaths: [] };
      }
    }
    const auditModule = AuditModule.forRootAsync({
      imports: [settingsModule(new AuditSettings(own, "tenant-b"))],
      useClass: AuditOptionsService,
    });
    running = await startApp("fastify", erpModule(auditModule));
    await get("/healthz");
    const [entry] = await entriesIn(own, 1);
    expect(entry).toMatchObject({ module: "tenant-b", endpoint: "/healthz" });
  });

  it("reports options a factory got wrong when the application starts", async () => {
    const auditModule = AuditModule.forRootAsync({ useFactory: () => ({ auditRequests: "yes" }) as unknown as AuditModuleOptions });
    await expect(startApp("express", erpModule(auditModule))).rejects.toThrow(/auditRequests: expected true or false/);
  });
});

describe("AuditModule option `configure`", () => {
  it("configures the global audit logger, which the module then provides", async () => {
    const global = join(dir, "global");
    running = await startApp("express", erpModule(AuditModule.forRoot({ configure: { logDir: global } })));
    expect(running.app.get(LedgerService).byClass).toBe(audit);
    expect(audit.logDir).toBe(global);
    const { requestId } = await get("/whoami", { "X-User": "thida" });
    const entries = await entriesIn(global, 2);
    expect(entries.map((entry) => [entry.description, entry.user, entry.request_id])).toEqual(
      expect.arrayContaining([
        ["Customer list viewed", "thida", requestId],
        ["HTTP GET /whoami completed with 200", "thida", requestId],
      ]),
    );
    await running.close();
    running = undefined;
    configure({ logDir: join(dir, "after") });
    await audit.shutdown();
  });
});

describe("option mistakes are reported with the option's name, before the first request", () => {
  it("AuditModule.forRoot / forRootAsync", () => {
    expect(() => AuditModule.forRoot({ logger: newLogger(), configure: { logDir: dir } })).toThrow(/either `logger`.*or `configure`/);
    expect(() => AuditModule.forRoot({ excludePaths: "/healthz" as unknown as string[] })).toThrow(/excludePaths: expected an array/);
    expect(() => AuditModule.forRoot({ requestIdHeader: "bad header" })).toThrow(/requestIdHeader: expected an HTTP header name/);
    expect(() => AuditModule.forRoot({ logger: {} as AuditLogger })).toThrow(/logger: expected an AuditLogger/);
    expect(() => AuditModule.forRootAsync({})).toThrow(/exactly one of useFactory, useClass, useExisting/);
  });

  it("@Audit, when the class is defined", () => {
    expect(() => Audit({ entityID: "x" } as never)).toThrow(/unknown option "entityID"/);
    expect(() => Audit({ level: "LOUD" as never })).toThrow(/level: expected a LogLevel/);
    expect(() => Audit({ metadata: "x" as never })).toThrow(/metadata: expected an object or a function/);
    expect(() => Audit({ entityId: {} as never })).toThrow(/entityId: expected a value or a function/);
    expect(() => Audit({ level: "warn", module: "sales", entityId: 42, amount: null, metadata: () => ({}) })).not.toThrow();
  });
});

describe("auditx/express in front of a NestJS app", () => {
  it("audits each request once, with the error the Nest interceptor recorded", async () => {
    const logger = newLogger();
    running = await startApp("express", erpModule(AuditModule.forRoot({ logger })), (app) => {
      app.use(auditMiddleware({ logger, module: "edge" }));
    });
    const { requestId, status } = await get("/ledger/close", { "X-User": "su" });
    expect(status).toBe(500);
    // In front of Nest's body parser, it also audits a body the parser refuses.
    const malformed = await fetch(`${running.url}/invoices`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{oops",
    });
    expect(malformed.status).toBe(400);
    const malformedId = malformed.headers.get("x-request-id");
    await eventually(() => completionEntries(dir).length >= 2, 10_000, "completion entries");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(completionEntries(dir)).toEqual([
      expect.objectContaining({
        module: "edge",
        request_id: requestId,
        user: "su",
        status: 500,
        description: "HTTP Request Failed: ledger offline",
        metadata: expect.objectContaining({ route: "/ledger/close" }),
      }),
      expect.objectContaining({ request_id: malformedId, status: 400, method: "POST", endpoint: "/invoices", success: false }),
    ]);
  });
});
