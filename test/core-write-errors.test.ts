/** A trail that cannot be written is an error the caller sees: AuditWriteError, thrown or rejected. */
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AuditEntry, type AuditLogger, AuditWriteError, createLogger } from "../src/index.js";
import { readJsonl, tempDir } from "./support/core-trail.js";
import { eventually } from "./support/eventually.js";

let dir: string;
let cleanup: () => void;
let logger: AuditLogger | undefined;
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
});
afterEach(async () => {
  try {
    await logger?.shutdown();
  } finally {
    logger = undefined;
    cleanup();
  }
});

/** Shutting down a logger whose folder is broken either closes or reports the lines it could not write, typed. */
async function expectShutdownTyped(): Promise<void> {
  const closing = await logger?.shutdown().then(
    () => "closed",
    (error: Error) => error.name,
  );
  expect(["closed", "AuditWriteError"]).toContain(closing);
  logger = undefined;
}

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}

describe("AuditWriteError", () => {
  it("logDir under a regular file (ENOTDIR): sync calls throw, alog* reject, onAudit is not called", async () => {
    writeFileSync(join(dir, "blocker"), "not a folder");
    const logDir = join(dir, "blocker", "logs");
    const received: AuditEntry[] = [];
    logger = createLogger({ auditLifecycle: false, logDir, onAudit: (entry) => void received.push(entry) });
    const error = caught(() => logger?.logTransaction("Invoice posted", { amount: 5 }));
    expect(error).toBeInstanceOf(AuditWriteError);
    expect((error as AuditWriteError).path).toBe(join(logDir, "audit.jsonl"));
    expect((error as Error).message).toContain("ENOTDIR");
    expect(((error as Error).cause as NodeJS.ErrnoException).code).toBe("ENOTDIR");
    await expect(logger.alog("async")).rejects.toBeInstanceOf(AuditWriteError);
    await expect(logger.alogSecurity("async security")).rejects.toBeInstanceOf(AuditWriteError);
    expect(() => logger?.info("app message")).toThrow(AuditWriteError);
    expect(() => logger?.loggingCustom("custom", { level: "warning" })).toThrow(AuditWriteError);
    expect(received).toEqual([]);
    expect(logger.stats().errors.write).toBeGreaterThanOrEqual(3);
  });

  it("recovers once the folder can be created", () => {
    writeFileSync(join(dir, "blocker"), "not a folder");
    const logDir = join(dir, "blocker", "logs");
    logger = createLogger({ auditLifecycle: false, logDir });
    expect(() => logger?.log("first")).toThrow(AuditWriteError);
    rmSync(join(dir, "blocker"));
    const entry = logger.log("second");
    expect(readJsonl(join(logDir, "audit.jsonl"))).toEqual([entry.toDict()]);
  });

  it("the folder replaced by a file while running: AuditWriteError once the change is seen, never another error", () => {
    const logDir = join(dir, "logs");
    logger = createLogger({ auditLifecycle: false, logDir, maxFileBytes: 4096, backupCount: 2 });
    logger.log("first");
    rmSync(logDir, { recursive: true });
    writeFileSync(logDir, "now a file");
    const outcomes = new Set<string>();
    for (let i = 0; i < 40; i++) {
      try {
        logger.log(`entry ${i}`, { metadata: { pad: "x".repeat(200) } });
        outcomes.add("ok");
      } catch (error) {
        outcomes.add((error as Error).name);
        expect((error as Error).message).toContain("ENOTDIR");
      }
    }
    expect(outcomes.has("AuditWriteError")).toBe(true);
    expect([...outcomes].filter((outcome) => outcome !== "ok" && outcome !== "AuditWriteError")).toEqual([]);
  });

  it("a full disk (audit.jsonl -> /dev/full, ENOSPC) throws AuditWriteError", async () => {
    mkdirSync(join(dir, "logs"));
    symlinkSync("/dev/full", join(dir, "logs", "audit.jsonl"));
    logger = createLogger({ auditLifecycle: false, logDir: join(dir, "logs") });
    const error = caught(() => logger?.log("cannot land"));
    expect(error).toBeInstanceOf(AuditWriteError);
    expect((error as Error).message).toContain("ENOSPC");
    await expect(logger.alogTransaction("async", { amount: 1 })).rejects.toBeInstanceOf(AuditWriteError);
    // Other streams are unaffected: app.log still works.
    logger.info("still here");
    expect(existsSync(join(dir, "logs", "app.log"))).toBe(true);
  });

  it("a full disk on security.jsonl fails a security entry even though audit.jsonl took it", () => {
    mkdirSync(join(dir, "logs"));
    symlinkSync("/dev/full", join(dir, "logs", "security.jsonl"));
    logger = createLogger({ auditLifecycle: false, logDir: join(dir, "logs") });
    expect(logger.log("plain entry").description).toBe("plain entry");
    expect(() => logger?.logSecurity("login failed", { success: false })).toThrow(AuditWriteError);
  });

  it("buffered mode: a failing background write is counted, and flush() / fsync'ed alog* reject with AuditWriteError", async () => {
    writeFileSync(join(dir, "blocker"), "not a folder");
    logger = createLogger({ auditLifecycle: false, logDir: join(dir, "blocker", "logs"), buffered: true, fsync: true });
    expect(() => logger?.log("gathered")).not.toThrow();
    await new Promise((resolve) => setImmediate(resolve));
    expect(logger.stats().errors.write).toBeGreaterThanOrEqual(1);
    logger.log("gathered again");
    await expect(logger.flush()).rejects.toBeInstanceOf(AuditWriteError);
    await expect(logger.alog("durable?")).rejects.toBeInstanceOf(AuditWriteError);
    await expectShutdownTyped();
  });

  it("buffered mode: a broken folder does not start an endless report loop (app.log reporting its own failure)", async () => {
    writeFileSync(join(dir, "blocker"), "not a folder");
    logger = createLogger({ auditLifecycle: false, logDir: join(dir, "blocker", "logs"), buffered: true });
    logger.log("gathered");
    logger.info("app line");
    await eventually(() => logger.stats().errors.write >= 2, 5000, "both background writes to fail");
    // A report loop would fail once more per event-loop turn (each buffered write is flushed on the next one).
    for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
    const errors = logger.stats().errors.write;
    expect(errors).toBeGreaterThanOrEqual(2);
    expect(errors).toBeLessThan(10);
    await expectShutdownTyped();
  });

  it("after shutdown() every log call throws AuditWriteError (alog* reject)", async () => {
    logger = createLogger({ auditLifecycle: false, logDir: dir });
    logger.log("before");
    await logger.shutdown();
    expect(() => logger?.log("after")).toThrow(AuditWriteError);
    expect(() => logger?.logSecurity("after")).toThrow(AuditWriteError);
    expect(() => logger?.info("after")).toThrow(AuditWriteError);
    await expect(logger.alog("after")).rejects.toBeInstanceOf(AuditWriteError);
    expect(readJsonl(join(dir, "audit.jsonl")).map((line) => line.description)).toEqual(["before"]);
    // A second shutdown is harmless.
    await expect(logger.shutdown()).resolves.toBeUndefined();
  });
});
