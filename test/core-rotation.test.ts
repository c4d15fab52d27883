/** Size rotation of the trail files into time-named segments: maxFileBytes and backupCount, nothing lost or torn. */
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AuditLogger, createLogger, LogLevel } from "../src/index.js";
import { rawLines, readJsonl, readTrail, tempDir, trailFiles } from "./support/core-trail.js";
import { eventually } from "./support/eventually.js";

const SEGMENT = /^audit\.\d{8}T\d{6}\.\d{3}Z\.[0-9a-f]{6}\.jsonl$/;

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
  it("rotates into time-named segments that sort by time, none far over maxFileBytes, records contiguous", () => {
    const maxFileBytes = 4096;
    logger = createLogger({ logDir: dir, maxFileBytes });
    const longest = writeRecords(logger, 1000);
    const files = trailFiles(dir, "audit.jsonl");
    const names = files.map((file) => file.slice(dir.length + 1));
    expect(names.at(-1)).toBe("audit.jsonl");
    expect(names.length).toBeGreaterThan(20);
    for (const name of names.slice(0, -1)) expect(name).toMatch(SEGMENT);
    expect([...names.slice(0, -1)].sort()).toEqual(names.slice(0, -1));
    for (const file of files.slice(0, -1)) {
      const size = statSync(file).size;
      expect(size).toBeGreaterThanOrEqual(maxFileBytes);
      expect(size).toBeLessThan(maxFileBytes + longest);
    }
    // Nothing is deleted by default: every record of the run is there, in order.
    expect(readTrail(dir).map(seqOf)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(logger.stats().rotations).toBe(names.length - 1);
  });

  it("backupCount keeps the newest N segments: older ones are deleted in the background, each deletion announced and counted", async () => {
    // Segments large beside an announcement (about 800 bytes), as they are in use (10 MiB by default).
    logger = createLogger({ logDir: dir, maxFileBytes: 64 * 1024, backupCount: 3 });
    writeRecords(logger, 5000);
    await eventually(() => trailFiles(dir, "audit.jsonl").length === 4, 20_000, "pruning to 3 segments");
    const seqs = readTrail(dir)
      .filter((record) => record.user !== "auditx")
      .map(seqOf);
    expect(seqs.at(-1)).toBe(4999);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0] + i));
    const announcements = readTrail(dir).filter(
      (record) => (record.metadata as { auditx_event?: string })?.auditx_event === "trail.segment_pruned",
    );
    const pruned = logger.stats().trail.pruned;
    expect(pruned).toBeGreaterThan(10);
    // Announcements made into segments later pruned are gone with them; the ones left name deleted segments.
    expect(announcements.length).toBeGreaterThan(0);
    for (const record of announcements) {
      const metadata = record.metadata as { segment: string; reason: string; lines: number };
      expect(metadata.reason).toBe("backupCount");
      expect(existsSync(join(dir, metadata.segment))).toBe(false);
      expect(metadata.lines).toBeGreaterThan(0);
    }
  });

  it("security.jsonl and app.log rotate as well", async () => {
    logger = createLogger({ logDir: dir, maxFileBytes: 2048, backupCount: 2 });
    writeRecords(logger, 300, true);
    for (let i = 0; i < 300; i++) logger.info(`app line ${i}`, { i });
    await eventually(
      () => trailFiles(dir, "security.jsonl").length === 3 && trailFiles(dir, "app.log").length === 3,
      10_000,
      "pruning to 2 segments each",
    );
    expect(readdirSync(dir).some((name) => /^security\.\d{8}T.*\.jsonl$/.test(name))).toBe(true);
    expect(readdirSync(dir).some((name) => /^app\.\d{8}T.*\.log$/.test(name))).toBe(true);
    const seqs = readTrail(dir, "security.jsonl")
      .filter((record) => record.user !== "auditx")
      .map(seqOf);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => 300 - seqs.length + i));
    const app = trailFiles(dir, "app.log")
      .flatMap((file) => rawLines(file))
      .filter((line) => line.includes("app line"));
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
    const [segment, live] = trailFiles(dir, "audit.jsonl") as [string, string];
    expect(readJsonl(segment).map(seqOf)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(readJsonl(live).map(seqOf)).toEqual([20, 21]);
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
    logger = createLogger({ logDir: dir, maxFileBytes: 8192, buffered: true });
    writeRecords(logger, 3000);
    await logger.flush();
    const seqs = readTrail(dir).map(seqOf);
    expect(seqs).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    expect(trailFiles(dir, "audit.jsonl").length).toBeGreaterThan(10);
  });
});

describe("the rotation lock", () => {
  it("a lock left by a process that died mid-rotation (an older auditx's, with only a pid) is broken once stale", () => {
    const lock = join(dir, "audit.jsonl.lock");
    writeFileSync(lock, "99999\n");
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    logger = createLogger({ logDir: dir, maxFileBytes: 2048 });
    writeRecords(logger, 100);
    expect(trailFiles(dir, "audit.jsonl").length).toBeGreaterThan(2);
    expect(existsSync(lock)).toBe(false);
    const seqs = readTrail(dir).map(seqOf);
    expect(seqs.at(-1)).toBe(99);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => 100 - seqs.length + i));
  });
});
