/**
 * Retention instead of deletion: rotated segments are never deleted by
 * default; they are gzip-compressed in the background without holding up the
 * event loop; an explicit retention policy deletes whole segments only, each
 * announced in the trail first (so verify accepts the pruned start); a legal
 * hold stops all of it. Also with four processes writing one folder.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { gunzipSync, gzipSync } from "node:zlib";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type AuditLogger, createLogger, verifyTrail } from "../src/index.js";
import { listTrailSegments } from "../src/trail/segments.js";
import { DIST_INDEX, type RunningChild, readJsonl, readTrail, spawnFixture, tempDir, trailFiles } from "./support/core-trail.js";
import { eventually } from "./support/eventually.js";

const run = promisify(execFile);
const cli = join(import.meta.dirname, "..", "dist", "cli", "main.js");

let dir: string;
let cleanup: () => void;
let logger: AuditLogger | undefined;
beforeEach(() => {
  ({ dir, cleanup } = tempDir("auditx-retention-"));
});
afterEach(async () => {
  await logger?.shutdown();
  logger = undefined;
  cleanup();
});

const SEGMENT = /^audit\.(\d{8}T\d{6}\.\d{3}Z)\.[0-9a-f]{6}\.jsonl(\.gz)?$/;
const pruningEntries = (records: Record<string, unknown>[]) =>
  records.filter((record) => (record.metadata as { auditx_event?: string } | undefined)?.auditx_event === "trail.segment_pruned");

function writeRecords(target: AuditLogger, count: number, tag = "r"): void {
  for (let i = 0; i < count; i++)
    target.logTransaction(`${tag} ${i}`, { amount: i, metadata: { i, tag, pad: "p".repeat(200 + (i % 200)) } });
}

/** Renames the oldest `count` segments to stamps `daysAgo` days back (names keep their order). */
function ageSegments(count: number, daysAgo: number): string[] {
  const segments = listTrailSegments(dir, "audit.jsonl").filter((segment) => !segment.live);
  const renamed: string[] = [];
  segments.slice(0, count).forEach((segment, i) => {
    const stamp = new Date(Date.now() - daysAgo * 86_400_000 + i * 1000)
      .toISOString()
      .replace(/[-:]/g, "")
      .replace(/\.(\d{3})Z$/, ".$1Z");
    const name = segment.name.replace(SEGMENT, (_all, _stamp, gz) => `audit.${stamp}.${segment.name.split(".")[3]}.jsonl${gz ?? ""}`);
    renameSync(segment.path, join(dir, name));
    renamed.push(name);
  });
  return renamed;
}

describe("segments are kept, and compressed in the background", () => {
  it("never deletes a segment by default; gzips rotated ones without holding up the event loop; the .gz is the same segment", async () => {
    // The trail holds the 14,000 records alone (no START entry of the logger): verify counts its lines.
    logger = createLogger({ logDir: dir, maxFileBytes: 4 * 1024 * 1024, compress: { afterMs: 0 }, integrity: true, auditLifecycle: false });
    writeRecords(logger, 14_000);
    const before = listTrailSegments(dir, "audit.jsonl").filter((segment) => !segment.live);
    expect(before.length).toBeGreaterThanOrEqual(2);
    const plainText = new Map(before.map((segment) => [segment.id, readFileSync(segment.path)]));
    // What compressing one segment on the event loop would hold it up for, on this machine, now.
    const syncStart = performance.now();
    gzipSync(plainText.get((before[0] as { id: string }).id) as Buffer);
    const syncMs = performance.now() - syncStart;
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    await eventually(
      () =>
        listTrailSegments(dir, "audit.jsonl").every((segment) => segment.live || segment.compressed) &&
        // Counted once compressSegment resolves, a moment after the .gz took the plain file's place.
        logger?.stats().trail.compressed === before.length,
      30_000,
      "compression",
    );
    delay.disable();
    const after = listTrailSegments(dir, "audit.jsonl").filter((segment) => !segment.live);
    // Same segments, same identities, same bytes.
    expect(after.map((segment) => segment.id)).toEqual(before.map((segment) => segment.id));
    for (const segment of after) {
      expect(segment.name).toBe(`${segment.id}.gz`);
      expect(gunzipSync(readFileSync(segment.path)).equals(plainText.get(segment.id) as Buffer)).toBe(true);
    }
    // zlib runs on the thread pool: the loop is held only for a chunk's callback at a time, far less than a whole
    // segment's compression would hold it (the machine's own noise aside: the median pause stays small).
    const measured = `sync gzip of a segment: ${syncMs.toFixed(0)} ms; loop delay median ${(delay.percentile(50) / 1e6).toFixed(1)} ms, max ${(delay.max / 1e6).toFixed(0)} ms`;
    expect(delay.percentile(50) / 1e6, measured).toBeLessThan(Math.max(20, syncMs / 4));
    expect(delay.max / 1e6, measured).toBeLessThan(Math.max(250, syncMs * 2));
    expect(readTrail(dir).filter((record) => record.user !== "auditx")).toHaveLength(14_000);
    const report = await verifyTrail({ logDir: dir });
    expect(report.problems).toEqual([]);
    expect(report.files.filter((file) => file.endsWith(".gz"))).toHaveLength(before.length);
    expect(report.lines).toBe(14_000);
  });
});

describe("retention", () => {
  it("retention.days deletes the segments past it, oldest first, each announced in the trail first; verify accepts the pruned start", async () => {
    logger = createLogger({ logDir: dir, maxFileBytes: 64 * 1024, integrity: true });
    writeRecords(logger, 1500);
    await logger.shutdown();
    const segments = trailFiles(dir, "audit.jsonl");
    expect(segments.length).toBeGreaterThan(8);
    const aged = ageSegments(4, 400);
    // Segments are counted exactly: the logger that prunes rotates at 1 MiB, so that its entries (its START, then the
    // announcements) never take the live file past maxFileBytes, into a segment of its own at its next check.
    logger = createLogger({ logDir: dir, maxFileBytes: 1024 * 1024, integrity: true, retention: { days: 365 } });
    await eventually(() => logger?.stats().trail.pruned === 4, 20_000, "4 segments pruned");
    for (const name of aged) expect(existsSync(join(dir, name))).toBe(false);
    expect(trailFiles(dir, "audit.jsonl")).toHaveLength(segments.length - 4);
    const announced = pruningEntries(readTrail(dir));
    expect(announced.map((record) => (record.metadata as { segment: string }).segment)).toEqual(aged);
    const first = announced[0] as Record<string, unknown>;
    expect(first).toMatchObject({ level: "SECURITY", user: "auditx", module: "system", action: "DELETE", entity_type: "audit_trail" });
    const metadata = first.metadata as Record<string, unknown>;
    expect(metadata).toMatchObject({ trail: "audit.jsonl", reason: "retention.days", segment_id: aged[0] });
    expect(metadata.lines).toBeGreaterThan(50);
    expect(String(metadata.first_timestamp) < String(metadata.last_timestamp)).toBe(true);
    expect((metadata.chains as { first_seq: number }[])[0]).toMatchObject({ first_seq: 1 });
    // The same announcements went to security.jsonl: each trail states its own pruning.
    expect(pruningEntries(readTrail(dir, "security.jsonl"))).toHaveLength(4);
    const report = await verifyTrail({ logDir: dir });
    expect(report.problems).toEqual([]);
    expect(report.notes.map((note) => note.kind)).toContain("pruned-start");
    // Without the announcements, the same gap is a deleted chain start (they are in the live file, or in the
    // segment it rotated into when they took it past maxFileBytes).
    await logger.shutdown();
    for (const segment of listTrailSegments(dir, "audit.jsonl").filter((each) => !each.compressed)) {
      writeFileSync(
        segment.path,
        readFileSync(segment.path, "utf8")
          .split("\n")
          .filter((line) => !line.includes("trail.segment_pruned"))
          .join("\n"),
      );
    }
    expect((await verifyTrail({ logDir: dir })).problems.map((problem) => problem.kind)).toContain("chain-start-missing");
  });

  it("retention.maxBytes deletes the oldest segments while the trail is larger", async () => {
    logger = createLogger({ logDir: dir, maxFileBytes: 32 * 1024, integrity: true, retention: { maxBytes: 200 * 1024 } });
    writeRecords(logger, 2000);
    await eventually(
      () => {
        const total = trailFiles(dir, "audit.jsonl").reduce((sum, file) => sum + statSync(file).size, 0);
        return total <= 200 * 1024 + 32 * 1024 && (logger?.stats().trail.pruned ?? 0) > 10;
      },
      20_000,
      "the trail to shrink under maxBytes",
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const report = await verifyTrail({ logDir: dir });
    expect(report.problems).toEqual([]);
    const kept = readTrail(dir)
      .filter((record) => record.user !== "auditx")
      .map((record) => (record.metadata as { i: number }).i);
    // What is left is the newest records, contiguous.
    expect(kept.at(-1)).toBe(1999);
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => (kept[0] as number) + i));
  });

  it("a legal hold (auditx hold on) stops all pruning, and is recorded in the trail; lifted (hold off), retention resumes", async () => {
    logger = createLogger({ logDir: dir, maxFileBytes: 32 * 1024, integrity: true });
    writeRecords(logger, 600);
    await logger.shutdown();
    const segments = trailFiles(dir, "audit.jsonl").length;
    ageSegments(3, 400);
    const on = await run(process.execPath, [cli, "hold", "on", "--log-dir", dir, "--reason", "Case 2026-17"]);
    expect(on.stdout).toContain("legal hold on");
    expect(JSON.parse(readFileSync(join(dir, "legal-hold"), "utf8"))).toMatchObject({ reason: "Case 2026-17" });
    logger = createLogger({ logDir: dir, maxFileBytes: 32 * 1024, integrity: true, retention: { days: 365 } });
    const held = await eventually(
      () => readTrail(dir).find((record) => (record.metadata as { auditx_event?: string })?.auditx_event === "trail.legal_hold"),
      10_000,
      "the hold entry",
    );
    expect(held).toMatchObject({ level: "SECURITY", description: "Legal hold on the trail (Case 2026-17): no segment will be pruned" });
    expect(logger.stats().trail.legalHold).toBe(true);
    writeRecords(logger, 300, "held"); // rotations: the janitor runs, and keeps everything
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(logger.stats().trail.pruned).toBe(0);
    expect(trailFiles(dir, "audit.jsonl").length).toBeGreaterThanOrEqual(segments);
    const status = await run(process.execPath, [cli, "hold", "status", "--log-dir", dir]);
    expect(status.stdout).toMatch(/legal hold on .* \(Case 2026-17\)/);
    await run(process.execPath, [cli, "hold", "off", "--log-dir", dir]);
    writeRecords(logger, 200, "lifted");
    await eventually(() => logger?.stats().trail.pruned === 3, 15_000, "the aged segments pruned once lifted");
    expect(readTrail(dir).some((record) => record.description === "Legal hold lifted: retention applies again")).toBe(true);
    expect((await verifyTrail({ logDir: dir })).problems).toEqual([]);
  });

  it("a marker file made by hand is a hold as well", async () => {
    logger = createLogger({ logDir: dir, maxFileBytes: 32 * 1024 });
    writeRecords(logger, 400);
    await logger.shutdown();
    ageSegments(2, 400);
    writeFileSync(join(dir, "legal-hold"), "litigation hold, per counsel\n");
    logger = createLogger({ logDir: dir, maxFileBytes: 32 * 1024, retention: { days: 1 } });
    await eventually(() => logger?.stats().trail.legalHold, 10_000, "the hold to be seen");
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(logger.stats().trail.pruned).toBe(0);
  });
});

describe("retention over many rotations with 4 processes", () => {
  const PROCESSES = 4;
  const RECORDS = 3000;
  const temp = tempDir("auditx-retention-multi-");
  const children: RunningChild[] = [];
  let results: { code: number | null }[] = [];
  let finalRotations = 0;
  const ownEntries = (tag: string) => join(temp.dir, `own-${tag}.jsonl`);

  beforeAll(async () => {
    expect(existsSync(DIST_INDEX), "run `npm run build` first").toBe(true);
    const options = { retention: { maxBytes: 600 * 1024 }, compress: { afterMs: 100 }, integrity: true, minFreeBytes: 0 };
    const logDir = join(temp.dir, "logs");
    for (let p = 0; p < PROCESSES; p++) {
      children.push(
        spawnFixture("core-writer.mjs", [
          JSON.stringify({
            mode: "count",
            tag: `p${p}`,
            count: RECORDS,
            logDir,
            maxFileBytes: 32 * 1024,
            yieldEvery: 25,
            options,
            ownEntries: ownEntries(`p${p}`),
            printStats: true,
          }),
        ]),
      );
    }
    results = await Promise.all(children.map((child) => child.exited));
    // One more start finishes what the last pass of each writer left (segments rotated at the very end).
    // Without its own START and STOP: its STOP, written after the last pruning, could rotate one more segment left uncompressed.
    const final = createLogger({
      logDir,
      maxFileBytes: 32 * 1024,
      auditLifecycle: false,
      ...options,
      onAudit: (entry) => {
        if (entry.user === "auditx") writeFileSync(ownEntries("final"), `${JSON.stringify(entry.toDict())}\n`, { flag: "a" });
      },
    });
    const trailBytes = () => listTrailSegments(logDir, "audit.jsonl").reduce((sum, segment) => sum + statSync(segment.path).size, 0);
    await eventually(
      () => listTrailSegments(logDir, "audit.jsonl").every((segment) => segment.live || segment.compressed) && trailBytes() <= 600 * 1024,
      60_000,
      "compression and pruning",
    );
    await final.shutdown();
    finalRotations = final.stats().rotations;
  }, 240_000);
  afterAll(() => {
    for (const child of children) child.stop();
    temp.cleanup();
  });

  const logDir = () => join(temp.dir, "logs");
  const announcements = () =>
    readdirSync(temp.dir)
      .filter((name) => name.startsWith("own-"))
      .flatMap((name) => readJsonl(join(temp.dir, name)))
      .filter((record) => (record.metadata as { auditx_event?: string }).auditx_event === "trail.segment_pruned");

  it("all writers exit normally", () => {
    expect(
      results.map((result) => result.code),
      children.map((child) => child.stderr).join("\n"),
    ).toEqual(Array(PROCESSES).fill(0));
  });

  it("segments were pruned by one process at a time: each deletion announced exactly once, and every announced segment is gone", () => {
    const all = announcements();
    const names = all.map((record) => (record.metadata as { segment: string }).segment);
    expect(names.length).toBeGreaterThan(20);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(existsSync(join(logDir(), name))).toBe(false);
    // Nothing deleted without an announcement: every rotation made a segment, and each is either still here or announced.
    const rotations =
      finalRotations +
      children.reduce((sum, child) => sum + (JSON.parse(child.stdout.trim().split("\n").at(-1) as string).rotations as number), 0);
    const segmentsLeft = ["audit.jsonl", "security.jsonl"].reduce(
      (sum, trail) => sum + listTrailSegments(logDir(), trail).filter((segment) => !segment.live).length,
      0,
    );
    const appSegmentsLeft = listTrailSegments(logDir(), "app.log").filter((segment) => !segment.live).length;
    expect(appSegmentsLeft).toBe(0);
    expect(segmentsLeft + names.length).toBe(rotations);
  });

  it("the remaining trail stays under maxBytes, compressed, and verifies: chains start where their pruning says", async () => {
    const segments = listTrailSegments(logDir(), "audit.jsonl");
    const total = segments.reduce((sum, segment) => sum + statSync(segment.path).size, 0);
    expect(total).toBeLessThanOrEqual(600 * 1024);
    expect(segments.filter((segment) => segment.compressed).length).toBe(segments.length - 1);
    const report = await verifyTrail({ logDir: logDir() });
    expect(report.problems).toEqual([]);
    expect(report.notes.filter((note) => note.kind === "pruned-start").length).toBeGreaterThanOrEqual(1);
  });

  it("each process's newest records are all there, in order", () => {
    const records = readTrail(logDir()).filter((record) => record.level === "AUDIT");
    for (let p = 0; p < PROCESSES; p++) {
      const seqs = records.filter((record) => record.user === `p${p}`).map((record) => (record.metadata as { seq: number }).seq);
      expect(seqs.at(-1)).toBe(RECORDS - 1);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => (seqs[0] as number) + i));
    }
    expect(readdirSync(logDir()).filter((name) => name.includes(".lock"))).toEqual([]);
  });
});
