/**
 * The rotation lock never stalls a writer: it says who holds it, a holder
 * that died on this host is displaced at once, a lock whose mtime lies in the
 * future is still broken in time, and a writer that finds it taken by a live
 * process keeps writing instead of waiting, call after call.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AuditLogger, createLogger } from "../src/index.js";
import { acquireFileLock, readLockHolder } from "../src/internal/fileLock.js";
import { readTrail, tempDir, trailFiles } from "./support/core-trail.js";
import { eventually } from "./support/eventually.js";

let dir: string;
let cleanup: () => void;
let logger: AuditLogger | undefined;
beforeEach(() => {
  ({ dir, cleanup } = tempDir("auditx-lock-"));
});
afterEach(async () => {
  await logger?.shutdown();
  logger = undefined;
  cleanup();
});

/** The pid of a process that has exited (and was reaped): a dead holder. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(child.stdout);
}

function writeLock(path: string, holder: { pid: number; host?: string; thread?: number }, mtime?: Date): void {
  writeFileSync(
    path,
    `${JSON.stringify({ pid: holder.pid, thread: holder.thread ?? 0, host: holder.host ?? hostname(), since: Date.now(), purpose: "rotate" })}\n`,
  );
  if (mtime) utimesSync(path, mtime, mtime);
}

/** Writes `count` records, returning the slowest call in ms. */
function timedWrites(target: AuditLogger, count: number, tag = "r"): number {
  let worst = 0;
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    target.log(`${tag} ${i}`, { metadata: { i, pad: "x".repeat(150) } });
    worst = Math.max(worst, performance.now() - start);
  }
  return worst;
}

describe("the rotation lock", () => {
  it("says who holds it: pid, thread, host, since when and what for", () => {
    const path = join(dir, "some.lock");
    const lock = acquireFileLock(path, { purpose: "rotate" });
    expect(lock).toBeDefined();
    expect(readLockHolder(path)).toMatchObject({ pid: process.pid, thread: 0, host: hostname(), purpose: "rotate" });
    expect(JSON.parse(readFileSync(path, "utf8")).since).toBeGreaterThan(Date.now() - 5000);
    lock?.release();
    expect(existsSync(path)).toBe(false);
  });

  it("a holder that died on this host is displaced at once, even with a fresh lock: no call waits", () => {
    const lockPath = join(dir, "audit.jsonl.lock");
    writeLock(lockPath, { pid: deadPid() });
    logger = createLogger({ logDir: dir, maxFileBytes: 4096 });
    const worst = timedWrites(logger, 300);
    expect(trailFiles(dir, "audit.jsonl").length).toBeGreaterThan(5);
    expect(existsSync(lockPath)).toBe(false);
    expect(worst).toBeLessThan(250);
    expect(readTrail(dir).map((record) => record.description)).toEqual(Array.from({ length: 300 }, (_, i) => `r ${i}`));
  });

  it("a lock whose mtime lies in the future (clock stepped back) is broken once this writer has seen it long enough", async () => {
    const path = join(dir, "future.lock");
    const inAnHour = new Date(Date.now() + 3_600_000);
    writeLock(path, { pid: 1, host: "another-host" }, inAnHour);
    // First sight: taken (a live holder elsewhere, for all we know); no wait.
    const start = performance.now();
    expect(acquireFileLock(path, { staleMs: 300 })).toBeUndefined();
    expect(performance.now() - start).toBeLessThan(100);
    await new Promise((resolve) => setTimeout(resolve, 400));
    // Unchanged for longer than staleMs by our own clock: abandoned, whatever its mtime says.
    const lock = acquireFileLock(path, { staleMs: 300 });
    expect(lock?.tookOver).toBe("stale");
    expect(readLockHolder(path)?.pid).toBe(process.pid);
    lock?.release();
  });

  it("a live holder that keeps the lock: the writer does not wait, not once, and rotates as soon as the holder is gone", async () => {
    const holder = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
    try {
      const lockPath = join(dir, "audit.jsonl.lock");
      writeLock(lockPath, { pid: holder.pid as number });
      logger = createLogger({ logDir: dir, maxFileBytes: 4096 });
      const worst = timedWrites(logger, 400, "held");
      // Nobody could rotate: every record went on into the live file, and no call stalled.
      expect(trailFiles(dir, "audit.jsonl")).toEqual([join(dir, "audit.jsonl")]);
      expect(worst).toBeLessThan(250);
      // Later calls (the check interval passed) do not wait either.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      expect(timedWrites(logger, 50, "later")).toBeLessThan(250);
      holder.kill("SIGKILL");
      await eventually(() => holder.exitCode !== null || holder.signalCode !== null, 5000, "the holder to die");
      await new Promise((resolve) => setTimeout(resolve, 1100));
      timedWrites(logger, 50, "after");
      expect(trailFiles(dir, "audit.jsonl").length).toBeGreaterThan(1);
      expect(existsSync(lockPath)).toBe(false);
      await eventually(
        () => existsSync(join(dir, "app.log")) && readFileSync(join(dir, "app.log"), "utf8").includes("took over a lock"),
        10_000,
        `the take-over note (stats: ${JSON.stringify(logger.stats())})`,
      );
      expect(readFileSync(join(dir, "app.log"), "utf8")).toMatch(new RegExp(`held by process ${holder.pid}|left unchanged too long`));
    } finally {
      holder.kill("SIGKILL");
    }
  });
});
