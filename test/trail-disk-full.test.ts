/**
 * A full disk, for real: each test mounts a small tmpfs of its own (root, as
 * in CI) and fills it. A write that runs out of space part-way fails with
 * AuditWriteError, its fragment never merges with a later record, nothing a
 * call acknowledged is lost, and logging resumes by itself once space is back.
 */
import { mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type AuditLogger, AuditWriteError, createLogger, verifyTrail } from "../src/index.js";
import { rawLines, readTrail } from "./support/core-trail.js";
import { eventually } from "./support/eventually.js";
import { mountTmpfs, type Tmpfs } from "./support/tmpfs.js";

let fs: Tmpfs | undefined;
const loggers: AuditLogger[] = [];
afterEach(async () => {
  for (const logger of loggers.splice(0)) await logger.shutdown().catch(() => {});
  fs?.unmount();
  fs = undefined;
});

function open(options: Parameters<typeof createLogger>[0]): AuditLogger {
  const logger = createLogger(options);
  loggers.push(logger);
  return logger;
}

/** Logs until a call fails; returns what the calls returned and the first error. */
function logUntilFailure(logger: AuditLogger, tag: string, limit = 5000): { written: string[]; error: unknown } {
  const written: string[] = [];
  for (let i = 0; i < limit; i++) {
    const description = `${tag} ${i}`;
    try {
      logger.log(description, { metadata: { pad: "x".repeat(200 + (i % 300)) } });
      written.push(description);
    } catch (error) {
      return { written, error };
    }
  }
  throw new Error(`${limit} records fit: the disk never filled`);
}

/** Every line of audit.jsonl: records parse; the only other lines are fragments of failed writes. */
function recordsAndFragments(logDir: string): { records: Record<string, unknown>[]; fragments: string[] } {
  const records: Record<string, unknown>[] = [];
  const fragments: string[] = [];
  for (const line of rawLines(join(logDir, "audit.jsonl"))) {
    if (line === "") continue;
    try {
      records.push(JSON.parse(line));
    } catch {
      fragments.push(line);
    }
  }
  return { records, fragments };
}

describe("a full disk (tmpfs)", () => {
  it("a write cut short fails with AuditWriteError; the fragment ends at once (space reserve); nothing acknowledged is lost; logging resumes", async () => {
    fs = mountTmpfs({ sizeBytes: 1024 * 1024 });
    const logDir = join(fs.dir, "logs");
    const logger = open({ logDir, minFreeBytes: 0, integrity: true });
    const before = { written: Array.from({ length: 20 }, (_, i) => `before ${i}`) };
    for (const description of before.written) logger.log(description);
    fs.fill();
    // The reserve is given back at the first torn write: its fragment is ended, and records fit again for a while.
    const first = logUntilFailure(logger, "first");
    expect(first.error).toBeInstanceOf(AuditWriteError);
    expect((first.error as Error).message).toMatch(/short write|ENOSPC/);
    const second = logUntilFailure(logger, "second");
    expect(second.written.length).toBeGreaterThan(10); // what the released reserve held
    expect(second.error).toBeInstanceOf(AuditWriteError);
    // Later calls keep failing while the disk is full: typed, never another error.
    for (let i = 0; i < 20; i++) expect(() => logger.log(`while full ${i}`)).toThrow(AuditWriteError);
    fs.free();
    const after = ["after 0", "after 1", "after 2"];
    for (const description of after) logger.log(description);
    await logger.flush();

    const { records, fragments } = recordsAndFragments(logDir);
    const descriptions = records.map((record) => record.description);
    // Every call that returned is there, whole, in order; no failed call's record is.
    const acknowledged = [...before.written, ...first.written, ...second.written, ...after];
    expect(descriptions.filter((d) => typeof d === "string" && !String(d).startsWith("auditx"))).toEqual(acknowledged);
    // The torn fragments are lines of their own: starts of records that never got their end.
    expect(fragments.length).toBeGreaterThanOrEqual(1);
    for (const fragment of fragments) {
      const start = '{"timestamp":"';
      expect(fragment.length < start.length ? start.startsWith(fragment) : fragment.startsWith(start), fragment.slice(0, 40)).toBe(true);
    }
    expect(logger.stats().trail.tornWrites).toBeGreaterThanOrEqual(1);
    const appLog = readFileSync(join(logDir, "app.log"), "utf8");
    expect(appLog).toContain("a write failed part-way");

    // verify: torn writes are reported as such, not as tampering; the chain is whole.
    const report = await verifyTrail({ logDir });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.torn).toBe(fragments.length);
    expect(report.notes.filter((note) => note.kind === "torn")).toHaveLength(fragments.length);
  });

  it("a fragment left while the disk stays full: the next record, of this writer or another, is never merged into it", async () => {
    fs = mountTmpfs({ sizeBytes: 1024 * 1024 });
    const logDir = join(fs.dir, "logs");
    const a = open({ logDir, minFreeBytes: 0, integrity: true });
    const b = open({ logDir, minFreeBytes: 0, integrity: true });
    a.log("a first");
    b.log("b first");
    fs.fill();
    // Exhaust both reserves, so that the last fragment cannot be ended while the disk is full.
    const runs = [logUntilFailure(a, "a"), logUntilFailure(b, "b"), logUntilFailure(a, "a2"), logUntilFailure(b, "b2")];
    for (const run of runs) expect(run.error).toBeInstanceOf(AuditWriteError);
    fs.free();
    // Another writer writes first once space is back (before a's own retry can end its fragment).
    b.log("b after");
    a.log("a after");
    await Promise.all([a.flush(), b.flush()]);

    const lines = rawLines(join(logDir, "audit.jsonl")).filter(Boolean);
    const acknowledged = ["a first", "b first", ...runs.flatMap((run) => run.written), "b after", "a after"];
    const report = await verifyTrail({ logDir });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    // Every acknowledged record is read back (verify splits a record glued after a fragment); a's own next record starts a line.
    const { records } = recordsAndFragments(logDir);
    const glued = lines.filter((line) => !line.startsWith('{"timestamp"') || line.indexOf('{"timestamp"', 1) > 0);
    const readable = [
      ...records,
      ...glued.map((line) => JSON.parse(line.slice(line.lastIndexOf('{"timestamp"'))) as Record<string, unknown>),
    ].map((record) => record.description);
    for (const description of acknowledged) expect(readable).toContain(description);
    expect(
      lines.some(
        (line) => line.startsWith('{"timestamp"') && line.includes('"description":"a after"') && line.indexOf('{"timestamp"', 1) === -1,
      ),
    ).toBe(true);
    expect(report.torn).toBeGreaterThanOrEqual(1);
  });

  it("minFreeBytes: crossing the watermark writes a WARNING to app.log and a SECURITY entry, and shows in stats()", async () => {
    fs = mountTmpfs({ sizeBytes: 4 * 1024 * 1024 });
    const logDir = join(fs.dir, "logs");
    mkdirSync(logDir);
    const logger = open({ logDir, minFreeBytes: 2 * 1024 * 1024 });
    logger.log("plenty of space");
    expect(logger.stats().disk).toMatchObject({ low: false, minFreeBytes: 2 * 1024 * 1024 });
    // Leave about 1 MiB: below the watermark, still room to write.
    writeFileSync(join(fs.dir, "ballast"), Buffer.alloc(3 * 1024 * 1024 - 200 * 1024));
    await eventually(() => logger.stats().disk?.low === true, 5000, "the watermark to be crossed");
    const security = await eventually(
      () =>
        readTrail(logDir, "security.jsonl").find(
          (record) => (record.metadata as { auditx_event?: string })?.auditx_event === "trail.disk_low",
        ),
      5000,
      "the SECURITY entry",
    );
    expect(security).toMatchObject({ level: "SECURITY", user: "auditx", module: "system", success: false });
    expect(String(security.description)).toMatch(/Low disk space: [\d.]+ MiB free/);
    expect(readFileSync(join(logDir, "app.log"), "utf8")).toMatch(/WARNING \| low disk space for the audit trail/);
    expect(logger.stats().disk?.freeBytes).toBeLessThan(2 * 1024 * 1024);
    // Space back: the state clears, noted in app.log.
    unlinkSync(join(fs.dir, "ballast"));
    await eventually(() => logger.stats().disk?.low === false, 5000, "the watermark to clear");
    await eventually(() => readFileSync(join(logDir, "app.log"), "utf8").includes("disk space recovered"), 5000, "the recovery note");
  });

  it("a rotation that cannot happen (no inode left for the lock) loses no record: the live file grows, the failure is reported", async () => {
    fs = mountTmpfs({ sizeBytes: 8 * 1024 * 1024, inodes: 64 });
    const logDir = join(fs.dir, "logs");
    const logger = open({ logDir, maxFileBytes: 4096, minFreeBytes: 0 });
    logger.log("first");
    logger.info("app.log exists");
    // Use up every inode: files can grow, none can be made.
    for (let i = 0; ; i++) {
      try {
        writeFileSync(join(fs.dir, `inode-${i}`), "");
      } catch {
        break;
      }
    }
    for (let i = 0; i < 100; i++) logger.log(`entry ${i}`, { metadata: { pad: "x".repeat(200) } });
    const records = readTrail(logDir).map((record) => record.description);
    expect(records).toEqual(["first", ...Array.from({ length: 100 }, (_, i) => `entry ${i}`)]);
    expect(readdirSync(logDir).filter((name) => /^audit\.\d{8}T/.test(name))).toEqual([]);
    expect(logger.stats().errors.write).toBeGreaterThanOrEqual(1);
    expect(readFileSync(join(logDir, "app.log"), "utf8")).toMatch(/cannot rotate audit trail .*audit\.jsonl \(ENOSPC\)/);
  });
});
