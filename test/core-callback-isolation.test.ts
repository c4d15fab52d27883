/** A failing sink never breaks the caller: onAudit, console and hub errors are contained, reported and counted. */
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AuditEntry, AuditHub, type AuditLogger, CallbackProcessor, createLogger } from "../src/index.js";
import { rawLines, readJsonl, tempDir } from "./support/core-trail.js";

let dir: string;
let cleanup: () => void;
let logger: AuditLogger;
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
});
afterEach(async () => {
  try {
    await logger.shutdown();
  } finally {
    cleanup();
  }
});

const appLines = () => rawLines(join(dir, "app.log"));

describe("onAudit", () => {
  it("a throwing callback: the call returns, the line is written, the error goes to app.log and the counter", () => {
    logger = createLogger({
      auditLifecycle: false,
      logDir: dir,
      onAudit: () => {
        throw new Error("database unreachable");
      },
    });
    const entry = logger.logTransaction("Invoice posted", { amount: 10 });
    expect(entry.description).toBe("Invoice posted");
    expect(readJsonl(join(dir, "audit.jsonl"))).toEqual([entry.toDict()]);
    expect(logger.stats().errors.onAudit).toBe(1);
    const app = appLines();
    expect(app).toHaveLength(1);
    expect(app[0]).toMatch(/\| ERROR \| onAudit failed: Error: database unreachable$/);
    logger.log("second");
    expect(logger.stats().errors.onAudit).toBe(2);
  });

  it("a rejecting async callback: no unhandled rejection, reported once settled", async () => {
    logger = createLogger({
      auditLifecycle: false,
      logDir: dir,
      onAudit: async (entry: AuditEntry) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        throw new TypeError(`cannot sync ${entry.referenceNo}`);
      },
    });
    const entry = await logger.alogTransaction("Invoice posted", { referenceNo: "SI-1" });
    expect(entry.referenceNo).toBe("SI-1");
    expect(readJsonl(join(dir, "audit.jsonl"))).toHaveLength(1);
    await logger.flush();
    expect(logger.stats().errors.onAudit).toBe(1);
    expect(appLines().some((line) => line.includes("onAudit failed: TypeError: cannot sync SI-1"))).toBe(true);
  });

  it("flush() waits for async callbacks still running", async () => {
    const done: string[] = [];
    logger = createLogger({
      auditLifecycle: false,
      logDir: dir,
      onAudit: async (entry: AuditEntry) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        done.push(entry.description);
      },
    });
    logger.log("a");
    logger.log("b");
    expect(done).toEqual([]);
    await logger.flush();
    expect(done).toEqual(["a", "b"]);
  });

  it("a callback that never settles does not hang flush() or shutdown()", async () => {
    const reports: string[] = [];
    const neverSettles = new CallbackProcessor(
      () => new Promise(() => {}),
      (source, error) => void reports.push(`${source}: ${(error as Error).message}`),
      100,
    );
    logger = createLogger({ auditLifecycle: false, logDir: dir, processors: [neverSettles] });
    logger.log("a");
    logger.log("b");
    await logger.flush();
    expect(reports).toEqual(["onAudit: 2 callback(s) still running after 100 ms"]);
    await logger.shutdown();
    expect(reports).toHaveLength(2);
    expect(readJsonl(join(dir, "audit.jsonl"))).toHaveLength(2);
  });

  it("odd throw values (null, a Symbol, an object whose toString throws, a newline) are contained", () => {
    const throws: unknown[] = [
      null,
      undefined,
      Symbol("s"),
      {
        toString() {
          throw new Error("nested");
        },
      },
      new Error("line one\n01/01/2026 12:00:00 AM | admin | POST | INFO | forged"),
    ];
    let i = 0;
    logger = createLogger({
      auditLifecycle: false,
      logDir: dir,
      onAudit: () => {
        throw throws[i++];
      },
    });
    for (let n = 0; n < throws.length; n++) expect(() => logger.log(`entry ${n}`)).not.toThrow();
    expect(readJsonl(join(dir, "audit.jsonl"))).toHaveLength(throws.length);
    const stats = logger.stats();
    expect(stats.errors.onAudit).toBe(throws.length);
    // Each error is either in app.log (one line each) or, if it could not even be described, counted.
    const reports = appLines();
    expect(reports.length + stats.errors.report).toBe(throws.length);
    expect(reports.every((line) => line.includes("onAudit failed"))).toBe(true);
    expect(reports.some((line) => line.includes("forged"))).toBe(true);
    expect(reports.some((line) => line.startsWith("01/01/2026"))).toBe(false);
  });

  it("a callback that logs app messages itself works", () => {
    logger = createLogger({ auditLifecycle: false, logDir: dir, onAudit: (entry) => logger.info(`synced ${entry.description}`) });
    logger.log("x");
    expect(appLines()[0]).toContain("| INFO | synced x");
    expect(logger.stats().errors.onAudit).toBe(0);
  });
});

describe("console and hub", () => {
  it("a throwing console sink is contained, reported once and counted", () => {
    logger = createLogger({
      auditLifecycle: false,
      logDir: dir,
      console: {
        write() {
          throw new Error("EPIPE");
        },
      },
    });
    for (let i = 0; i < 5; i++) logger.log(`entry ${i}`);
    logger.info("app message");
    expect(readJsonl(join(dir, "audit.jsonl"))).toHaveLength(5);
    expect(logger.stats().errors.console).toBe(6);
    const reports = appLines().filter((line) => line.includes("console failed"));
    expect(reports).toHaveLength(1);
    expect(reports[0]).toContain("Error: EPIPE");
  });

  it("a working console sink gets one line per record", () => {
    const written: string[] = [];
    logger = createLogger({ auditLifecycle: false, logDir: dir, console: { write: (text: string) => void written.push(text) } });
    logger.logTransaction("Sales invoice posted", { referenceNo: "SI-2026-0042", amount: 1_250_000 });
    expect(written).toHaveLength(1);
    expect(written[0]).toContain("| AUDIT | sales/CREATE | N/A | 200 | Sales invoice posted [SI-2026-0042] 1,250,000.00 MMK | SYSTEM@HQ |");
    expect(written[0]).not.toContain("\x1b[");
  });

  it("a throwing processor given in options.processors is contained, reported once and counted", () => {
    class BrokenSiemProcessor {
      onEmit(): void {
        throw new Error("SIEM socket closed");
      }
      async forceFlush(): Promise<void> {}
      async shutdown(): Promise<void> {}
    }
    logger = createLogger({ auditLifecycle: false, logDir: dir, processors: [new BrokenSiemProcessor()] });
    expect(() => logger.logTransaction("Invoice posted", { amount: 1 })).not.toThrow();
    expect(() => logger.logSecurity("login")).not.toThrow();
    expect(readJsonl(join(dir, "audit.jsonl"))).toHaveLength(2);
    expect(logger.stats().errors.processors).toBe(2);
    const reports = appLines().filter((line) => line.includes("failed"));
    expect(reports).toHaveLength(1);
    expect(reports[0]).toContain("processor BrokenSiemProcessor failed: Error: SIEM socket closed");
  });

  it("a throwing hub listener does not reach the caller", () => {
    logger = createLogger({ auditLifecycle: false, logDir: dir });
    const hub = new AuditHub();
    hub.subscribe(() => {
      throw new Error("socket closed");
    });
    logger.connectHub(hub);
    expect(() => logger.logSecurity("login failed", { success: false })).not.toThrow();
    expect(hub.recent("security")).toHaveLength(1);
    expect(readJsonl(join(dir, "audit.jsonl"))).toHaveLength(1);
  });
});
