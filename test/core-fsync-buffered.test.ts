/**
 * The write modes: `fsync` (alog* resolve once the record is on stable
 * storage, many calls of one tick sharing fsyncs) and `buffered` (lines
 * written once per event-loop turn, on flush() and on process exit).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { AuditAction, type AuditEntry, type AuditLogger, createLogger } from "../src/index.js";
import { DIST_INDEX, type RunningChild, rawLines, readJsonl, readTrail, spawnFixture, tempDir, trailFiles } from "./support/core-trail.js";

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

/** Starts 300 alog* calls of every kind in one tick. */
function manyAlogCalls(target: AuditLogger): Promise<AuditEntry>[] {
  const calls: Promise<AuditEntry>[] = [];
  for (let i = 0; i < 50; i++) {
    calls.push(target.alog(`log ${i}`));
    calls.push(target.alogChange(`change ${i}`, { oldValues: { n: i }, newValues: { n: i + 1 } }));
    calls.push(target.alogTransaction(`transaction ${i}`, { amount: i, party: "Golden Trading Co." }));
    calls.push(target.alogInventory(`inventory ${i}`, { productId: `P-${i}`, quantity: i }));
    calls.push(target.alogService(`service ${i}`, { jobId: `J-${i}` }));
    // Failed (so on the security stream, as in the original), and not a login: no rate limiting.
    calls.push(target.alogSecurity(`security ${i}`, { action: AuditAction.LOGOUT, success: false }));
  }
  return calls;
}

describe("fsync mode", () => {
  it("alog* resolve with their entries, and every line is in the files once they have", async () => {
    logger = createLogger({ logDir: dir, fsync: true });
    const entries = await Promise.all(manyAlogCalls(logger));
    expect(entries).toHaveLength(300);
    const lines = readJsonl(join(dir, "audit.jsonl"));
    expect(lines).toEqual(entries.map((entry) => entry.toDict()));
    expect(readJsonl(join(dir, "security.jsonl")).map((line) => line.description)).toEqual(
      Array.from({ length: 50 }, (_, i) => `security ${i}`),
    );
  });

  it("calls spread over several ticks all resolve, each after its own line is written", async () => {
    logger = createLogger({ logDir: dir, fsync: true });
    for (let round = 0; round < 5; round++) {
      const entry = await logger.alogTransaction(`round ${round}`, { amount: round });
      expect(readJsonl(join(dir, "audit.jsonl")).at(-1)).toEqual(entry.toDict());
    }
  });

  it("with buffered lines too: the lines are written before alog* resolve", async () => {
    logger = createLogger({ logDir: dir, fsync: true, buffered: true });
    const entries = await Promise.all(manyAlogCalls(logger));
    expect(readJsonl(join(dir, "audit.jsonl"))).toEqual(entries.map((entry) => entry.toDict()));
  });

  it("rotations while fsyncs are in flight fail no call (no EBADF) and lose no line", async () => {
    logger = createLogger({ logDir: dir, fsync: true, maxFileBytes: 2048, backupCount: 100_000 });
    const outcomes: Promise<string>[] = [];
    for (let tick = 0; tick < 120; tick++) {
      for (let i = 0; i < 5; i++) {
        const call = logger.alog(`t${tick} i${i}`, { metadata: { tick, i, pad: "z".repeat(100) } });
        outcomes.push(
          call.then(
            () => "ok",
            (error: Error) => `${error.name}: ${error.message}`,
          ),
        );
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    const failures = (await Promise.all(outcomes)).filter((outcome) => outcome !== "ok");
    expect(failures.slice(0, 3)).toEqual([]);
    expect(readTrail(dir)).toHaveLength(600);
    expect(trailFiles(dir, "audit.jsonl").length).toBeGreaterThan(20);
  });

  it("shutdown() while an fsync is pending or in flight fails no alog* call", async () => {
    await (logger = createLogger({ logDir: dir })).shutdown();
    const failures: string[] = [];
    for (let round = 0; round < 100; round++) {
      const roundDir = join(dir, `r${round}`);
      const target = createLogger({ logDir: roundDir, fsync: true });
      const pending = target.alog("before shutdown").then(
        () => "ok",
        (error: Error) => `${error.name}: ${error.message}`,
      );
      // Every other round lets the fsync start before shutting down.
      if (round % 2) await new Promise((resolve) => setImmediate(resolve));
      await target.shutdown();
      const outcome = await pending;
      if (outcome !== "ok") failures.push(outcome);
      expect(readJsonl(join(roundDir, "audit.jsonl"))).toHaveLength(1);
    }
    expect(failures.slice(0, 3)).toEqual([]);
  });

  it("without fsync, alog* resolve as soon as the line is written", async () => {
    logger = createLogger({ logDir: dir });
    const entry = await logger.alog("plain");
    expect(readJsonl(join(dir, "audit.jsonl"))).toEqual([entry.toDict()]);
  });
});

describe("buffered mode", () => {
  it("writes lines after the current event-loop turn, or on flush()", async () => {
    logger = createLogger({ logDir: dir, buffered: true });
    const entry = logger.log("later");
    logger.info("app later");
    expect(rawLines(join(dir, "audit.jsonl"))).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(readJsonl(join(dir, "audit.jsonl"))).toEqual([entry.toDict()]);
    expect(rawLines(join(dir, "app.log"))).toHaveLength(1);

    const second = logger.logSecurity("flushed", { success: false });
    expect(readJsonl(join(dir, "audit.jsonl"))).toHaveLength(1);
    await logger.flush();
    expect(readJsonl(join(dir, "audit.jsonl"))).toEqual([entry.toDict(), second.toDict()]);
    expect(readJsonl(join(dir, "security.jsonl"))).toEqual([second.toDict()]);
  });

  it("writes everything on shutdown()", async () => {
    logger = createLogger({ logDir: dir, buffered: true });
    for (let i = 0; i < 1000; i++) logger.log(`entry ${i}`);
    await logger.shutdown();
    expect(readJsonl(join(dir, "audit.jsonl")).map((line) => line.description)).toEqual(
      Array.from({ length: 1000 }, (_, i) => `entry ${i}`),
    );
  });
});

describe("buffered mode on process exit (compiled library)", () => {
  const children: RunningChild[] = [];
  const dirs: ReturnType<typeof tempDir>[] = [];
  afterAll(() => {
    for (const child of children) child.stop();
    for (const temp of dirs) temp.cleanup();
  });

  for (const [exit, exitCode] of [
    ["natural", 0],
    ["process.exit", 0],
    ["uncaught exception", 1],
  ] as const) {
    it(`keeps every line when the process ends (${exit})`, async () => {
      expect(existsSync(DIST_INDEX), "run `npm run build` first").toBe(true);
      const temp = tempDir("auditx-exit-");
      dirs.push(temp);
      const count = 3000;
      const child = spawnFixture("core-writer.mjs", [JSON.stringify({ mode: "buffered", exit, count, tag: "b", logDir: temp.dir })]);
      children.push(child);
      const { code } = await child.exited;
      expect(code, child.stderr).toBe(exitCode);
      const seqs = readJsonl(join(temp.dir, "audit.jsonl")).map((line) => (line.metadata as { seq: number }).seq);
      expect(seqs).toEqual(Array.from({ length: count }, (_, i) => i));
      const app = rawLines(join(temp.dir, "app.log"));
      expect(app).toHaveLength(count);
      expect(app.at(-1)).toContain(`b app line ${count - 1}`);
    });
  }
});
