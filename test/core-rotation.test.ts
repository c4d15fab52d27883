/** Size rotation of the trail files: maxFileBytes and backupCount, nothing lost or torn within backupCount. */
import { existsSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AuditLogger, createLogger, LogLevel } from "../src/index.js";
import { rawLines, readJsonl, readTrail, tempDir, trailFiles } from "./support/core-trail.js";

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

const seqOf = (record: Record<string, unknown>) => (record.metadata as { seq: number }).seq;

/** Writes `count` audit records of varying length; returns the longest line's byte length. */
function writeRecords(target: AuditLogger, count: number, security = false): number {
  let longest = 0;
  for (let seq = 0; seq < count; seq++) {
    const entry = target.log(`record ${seq}`, {
      level: security ? LogLevel.SECURITY : undefined,
      metadata: { seq, pad: "y".repeat(seq % 97) },
    });
    longest = Math.max(longest, Buffer.byteLength(JSON.stringify(entry.toDict())) + 1);
  }
  return longest;
}

describe("rotation by size", () => {
  it("keeps backups .1..N (.1 newest), drops the oldest, keeps the newest records contiguous", () => {
    const maxFileBytes = 4096;
    logger = createLogger({ logDir: dir, maxFileBytes, backupCount: 3 });
    const longest = writeRecords(logger, 1000);
    const files = trailFiles(dir, "audit.jsonl");
    expect(files.map((file) => file.slice(dir.length + 1))).toEqual(["audit.jsonl.3", "audit.jsonl.2", "audit.jsonl.1", "audit.jsonl"]);
    expect(existsSync(join(dir, "audit.jsonl.4"))).toBe(false);
    for (const file of files.slice(0, 3)) {
      const size = statSync(file).size;
      expect(size).toBeGreaterThanOrEqual(maxFileBytes);
      expect(size).toBeLessThan(maxFileBytes + longest);
    }
    // The files, oldest first, hold one unbroken run of records that ends with the last one written.
    const seqs = readTrail(dir).map(seqOf);
    expect(seqs.at(-1)).toBe(999);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0] + i));
    // .1 is the newest backup: its records come right before the current file's.
    const newestBackup = readJsonl(join(dir, "audit.jsonl.1")).map(seqOf);
    const current = readJsonl(join(dir, "audit.jsonl")).map(seqOf);
    expect((newestBackup.at(-1) as number) + 1).toBe(current[0]);
    expect(logger.stats().rotations).toBeGreaterThanOrEqual(3);
  });

  it("security.jsonl and app.log rotate as well", () => {
    logger = createLogger({ logDir: dir, maxFileBytes: 2048, backupCount: 2 });
    writeRecords(logger, 300, true);
    for (let i = 0; i < 300; i++) logger.info(`app line ${i}`, { i });
    expect(trailFiles(dir, "security.jsonl")).toHaveLength(3);
    expect(trailFiles(dir, "app.log")).toHaveLength(3);
    const seqs = readTrail(dir, "security.jsonl").map(seqOf);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => 300 - seqs.length + i));
    const app = trailFiles(dir, "app.log").flatMap((file) => rawLines(file));
    const numbers = app.map((line) => Number(/app line (\d+)/.exec(line)?.[1]));
    expect(numbers).toEqual(Array.from({ length: numbers.length }, (_, i) => 300 - numbers.length + i));
  });

  it("a new logger on an existing folder appends and rotates from the size on disk", async () => {
    logger = createLogger({ logDir: dir, maxFileBytes: 1024 * 1024, backupCount: 5 });
    writeRecords(logger, 20);
    await logger.shutdown();
    const sizeBefore = statSync(join(dir, "audit.jsonl")).size;
    logger = createLogger({ logDir: dir, maxFileBytes: sizeBefore + 10, backupCount: 5 });
    logger.log("one more", { metadata: { seq: 20 } });
    logger.log("rotates now", { metadata: { seq: 21 } });
    // The second logger's START entry comes first, so "one more" is what passes the size and rotates.
    expect(readJsonl(join(dir, "audit.jsonl.1")).map(seqOf)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(readJsonl(join(dir, "audit.jsonl")).map(seqOf)).toEqual([20, 21]);
  });

  it("backupCount 0 or maxFileBytes 0 never rotates", () => {
    logger = createLogger({ logDir: dir, maxFileBytes: 1024, backupCount: 0 });
    writeRecords(logger, 200);
    expect(trailFiles(dir, "audit.jsonl")).toEqual([join(dir, "audit.jsonl")]);
    expect(readJsonl(join(dir, "audit.jsonl"))).toHaveLength(200);
  });

  it("maxFileBytes 0 never rotates", () => {
    logger = createLogger({ logDir: dir, maxFileBytes: 0, backupCount: 3 });
    writeRecords(logger, 200);
    expect(trailFiles(dir, "audit.jsonl")).toEqual([join(dir, "audit.jsonl")]);
  });

  it("buffered mode rotates without losing lines", async () => {
    logger = createLogger({ logDir: dir, maxFileBytes: 8192, backupCount: 1000, buffered: true });
    writeRecords(logger, 3000);
    await logger.flush();
    const seqs = readTrail(dir).map(seqOf);
    expect(seqs).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    expect(trailFiles(dir, "audit.jsonl").length).toBeGreaterThan(10);
  });
});

describe("the rotation lock", () => {
  it("a lock left by a process that died mid-rotation is broken once stale", () => {
    const lock = join(dir, "audit.jsonl.lock");
    writeFileSync(lock, "99999\n");
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    logger = createLogger({ logDir: dir, maxFileBytes: 2048, backupCount: 5 });
    writeRecords(logger, 100);
    expect(existsSync(join(dir, "audit.jsonl.1"))).toBe(true);
    expect(existsSync(lock)).toBe(false);
    const seqs = readTrail(dir).map(seqOf);
    expect(seqs.at(-1)).toBe(99);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => 100 - seqs.length + i));
  });
});
