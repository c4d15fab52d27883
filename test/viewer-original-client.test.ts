/**
 * A client written for auditX's dashboard (test/fixtures/original-dashboard-client.mjs,
 * from the original's README and REST endpoints) runs unchanged against the
 * auditx viewer: same routes, parameters, defaults, answers and live messages.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditAction, BusinessModule, createLogger } from "../src/index.js";
import { connectLogger, type RunningViewer } from "../src/viewer/index.js";
import { appendTrail, entryLine, startTestViewer, viewerTempDir } from "./support/viewer-server.js";

const KEY = "original-client-key";
const CLIENT = join(import.meta.dirname, "fixtures", "original-dashboard-client.mjs");
const USERS = ["admin", "sysadmin", "Admin.Kyaw", "kyaw.zin", "may.phyu"];
const BRANCHES = ["BR-YGN", "BR-MDY", "br-ygn-2"];
const COUNT = 240;

describe("a client written for auditX's dashboard", () => {
  const temp = viewerTempDir();
  const logger = createLogger({ logDir: temp.dir, console: false, auditLifecycle: false });
  const disconnect = connectLogger(logger);
  let running: RunningViewer;
  const written: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    for (let i = 0; i < COUNT; i++) {
      const options = { user: USERS[i % USERS.length]!, branchId: BRANCHES[Math.floor(i / 5) % BRANCHES.length]! };
      const entry =
        i % 8 === 7
          ? logger.logSecurity(`Login failed ${i}`, { ...options, action: AuditAction.LOGIN, success: false })
          : logger.logTransaction(i % 2 ? `Sales invoice posted ${i}` : `Credit note issued ${i}`, {
              ...options,
              module: i % 3 === 0 ? BusinessModule.CRM : BusinessModule.SALES,
              action: AuditAction.POST,
              referenceNo: `SI-${i}`,
              amount: 1000 + i,
            });
      written.push(entry.toDict() as unknown as Record<string, unknown>);
    }
    running = await startTestViewer({ logDir: temp.dir, apiKey: KEY });
  });
  afterAll(async () => {
    disconnect();
    await running?.close();
    await logger.shutdown();
    temp.cleanup();
  });

  it("reads stats, pages, searches, errors, recent entries and both live streams as it would from auditX", async () => {
    const child = spawn(process.execPath, [CLIENT, running.url, KEY, "4"], { stdio: ["ignore", "pipe", "inherit"] });
    const lines = createInterface({ input: child.stdout });
    const output: string[] = [];
    const ready = new Promise<void>((resolve) => {
      lines.on("line", (line) => {
        output.push(line);
        if (line === "READY") resolve();
      });
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    await ready;
    // Three entries pushed in process, then one written by another process (the SSE file tail finds it).
    for (let i = 0; i < 3; i++) logger.logTransaction(`Live invoice ${i}`, { module: BusinessModule.SALES, user: "admin" });
    appendTrail(join(temp.dir, "audit.jsonl"), [entryLine(0, { description: "Written by a worker", request_id: "worker-1" })]);
    expect(await exited).toBe(0);
    const report = JSON.parse(output.at(-1)!);

    const audit = written;
    const securityTrail = audit.filter((e) => e.level === "SECURITY" || e.level === "CRITICAL");
    expect(report.stats.log_dir).toBe(running.viewer.logDir);
    expect(report.stats.audit).toMatchObject({
      total: COUNT,
      failures: audit.filter((e) => e.success === false).length,
      latest_timestamp: audit.at(-1)!.timestamp,
    });
    expect(report.stats.security.total).toBe(securityTrail.length);
    expect(report.firstPage).toEqual({
      status: 200,
      count: 100,
      total: COUNT,
      limit: 100,
      offset: 0,
      source: "audit",
      newest: audit.at(-1)!.description,
    });

    // auditX's matching: user and branch by case-insensitive substring, module ignoring case, q anywhere.
    const found = audit.filter(
      (e) =>
        String(e.user).toLowerCase().includes("adm") &&
        String(e.branch_id).toLowerCase().includes("ygn") &&
        e.module === "sales" &&
        JSON.stringify(e).toLowerCase().includes("invoice"),
    );
    expect(found.length).toBeGreaterThan(5);
    expect(report.search).toEqual({
      status: 200,
      total: found.length,
      users: [...new Set(found.map((e) => e.user))].sort(),
      branches: [...new Set(found.map((e) => e.branch_id))].sort(),
      modules: ["sales"],
    });
    expect(report.search.users).toEqual(["Admin.Kyaw", "admin", "sysadmin"].sort());
    expect(report.search.branches).toEqual(["BR-YGN", "br-ygn-2"]);
    expect(report.security).toEqual({
      status: 200,
      total: securityTrail.filter((e) => e.level === "SECURITY").length,
      levels: ["SECURITY"],
    });
    expect(report.paged).toEqual({ count: COUNT, distinct: COUNT });

    expect(report.tooBig.status).toBe(400);
    expect(report.tooBig.detail[0]).toMatchObject({ loc: ["query", "limit"], msg: expect.stringContaining("5000") });
    expect(report.noKey).toEqual({ status: 401, detail: expect.stringContaining("API key") });
    expect(report.recentBefore).toEqual(audit.slice(-10).map((e) => e.description));
    expect(report.wrongKeyClose).toBe(4401);

    expect(report.ws.connected).toEqual({ type: "connected", transport: "websocket" });
    expect(report.ws.entries).toEqual([
      { source: "audit", description: "Live invoice 0", transport: "realtime" },
      { source: "audit", description: "Live invoice 1", transport: "realtime" },
      { source: "audit", description: "Live invoice 2", transport: "realtime" },
      { source: "audit", description: "Written by a worker", transport: "file" },
    ]);
    // The SSE stream as auditX's: data lines with source and entry, the file tail's with their cursor.
    expect(report.sseStatus).toBe(200);
    expect(report.sseType).toContain("text/event-stream");
    expect(report.sse).toEqual([
      { source: "audit", description: "Live invoice 0" },
      { source: "audit", description: "Live invoice 1" },
      { source: "audit", description: "Live invoice 2" },
      { source: "audit", description: "Written by a worker", cursor: COUNT + 4 },
    ]);
    expect(report.recentAfter).toEqual(["Live invoice 0", "Live invoice 1", "Live invoice 2"]);
  });
});
