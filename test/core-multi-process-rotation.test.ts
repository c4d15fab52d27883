/**
 * Several processes (cluster, PM2) writing one log folder with rotation:
 * every record of every process is in the trail exactly once, no line torn.
 * The children run the compiled library (npm run build first).
 */
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIST_INDEX, type RunningChild, readTrail, spawnFixture, tempDir, trailFiles } from "./support/core-trail.js";

const PROCESSES = 4;
const RECORDS = 6_000;
const MAX_FILE_BYTES = 256 * 1024;

/** Counts how often each `tag-seq` occurs. */
function occurrences(records: Record<string, unknown>[]): Map<string, number> {
  const seen = new Map<string, number>();
  for (const record of records) {
    const { tag, seq } = record.metadata as { tag: string; seq: number };
    const key = `${tag}-${seq}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return seen;
}

function expectEachOnce(seen: Map<string, number>, every: number): void {
  const missing: string[] = [];
  const duplicated: string[] = [];
  let expected = 0;
  for (let p = 0; p < PROCESSES; p++) {
    for (let seq = 0; seq < RECORDS; seq += every) {
      expected++;
      const n = seen.get(`p${p}-${seq}`) ?? 0;
      if (n === 0) missing.push(`p${p}-${seq}`);
      if (n > 1) duplicated.push(`p${p}-${seq}`);
    }
  }
  expect(missing.slice(0, 20)).toEqual([]);
  expect(duplicated.slice(0, 20)).toEqual([]);
  expect(seen.size).toBe(expected);
}

describe.each([
  ["one write per call", false, false],
  ["buffered", true, false],
  ["after a crash left the rotation locks behind", false, true],
])(`${PROCESSES} processes writing one folder with rotation (%s)`, (_mode, buffered, staleLocks) => {
  const temp = tempDir("auditx-multi-");
  const children: RunningChild[] = [];
  let results: { code: number | null; signal: NodeJS.Signals | null }[] = [];

  beforeAll(async () => {
    expect(existsSync(DIST_INDEX), "run `npm run build` first").toBe(true);
    if (staleLocks) {
      // A process that died mid-rotation a minute ago: every writer finds these stale locks at its first rotation.
      const aMinuteAgo = new Date(Date.now() - 60_000);
      for (const name of ["audit.jsonl.lock", "security.jsonl.lock"]) {
        writeFileSync(join(temp.dir, name), "99999\n");
        utimesSync(join(temp.dir, name), aMinuteAgo, aMinuteAgo);
      }
    }
    for (let p = 0; p < PROCESSES; p++) {
      children.push(
        spawnFixture("core-writer.mjs", [
          JSON.stringify({
            mode: "count",
            buffered,
            tag: `p${p}`,
            count: RECORDS,
            logDir: temp.dir,
            maxFileBytes: MAX_FILE_BYTES,
            backupCount: 10_000,
          }),
        ]),
      );
    }
    results = await Promise.all(children.map((child) => child.exited));
  });
  afterAll(() => {
    for (const child of children) child.stop();
    temp.cleanup();
  });

  it("all exit normally", () => {
    expect(
      results.map((r) => r.code),
      children.map((c) => c.stderr).join("\n"),
    ).toEqual(Array(PROCESSES).fill(0));
  });

  it("rotated: many backups, none far over maxFileBytes", () => {
    const files = trailFiles(temp.dir, "audit.jsonl");
    expect(files.length).toBeGreaterThan(10);
    // A file can pass the limit by what writers put in before they notice the rotation; never by much.
    // A writer never waits for another's rotation: until it follows, it writes on (one write per call, or in buffered
    // mode 64 KiB at a time). How much that is depends on how long the rotating process is kept off a core (on a
    // loaded 2-core machine, a few of those writes each): bounded, never growing with the trail.
    for (const file of files) expect(statSync(file).size).toBeLessThan(6 * MAX_FILE_BYTES);
    // No lock, and no stale lock set aside, left behind.
    expect(readdirSync(temp.dir).filter((name) => name.includes(".lock"))).toEqual([]);
  });

  it("audit.jsonl and its backups hold every record exactly once, every line parses", () => {
    const records = readTrail(temp.dir, "audit.jsonl");
    const transactions = records.filter((r) => r.level === "AUDIT");
    expect(transactions).toHaveLength(PROCESSES * RECORDS);
    expectEachOnce(occurrences(transactions), 1);
    // Within one process, the order of its records is kept across files.
    for (let p = 0; p < PROCESSES; p++) {
      const seqs = transactions.filter((r) => r.user === `p${p}`).map((r) => (r.metadata as { seq: number }).seq);
      expect(seqs).toEqual(Array.from({ length: RECORDS }, (_, i) => i));
    }
  });

  it("security.jsonl and its backups hold every security record exactly once", () => {
    const records = readTrail(temp.dir, "security.jsonl");
    expect(records.every((r) => r.level === "SECURITY")).toBe(true);
    expectEachOnce(occurrences(records), 10);
  });

  it("the same check fails when a line is missing or duplicated (the check is real)", () => {
    const records = readTrail(temp.dir, "security.jsonl");
    expect(() => expectEachOnce(occurrences(records.slice(1)), 10)).toThrow();
    expect(() => expectEachOnce(occurrences([...records, records[5]]), 10)).toThrow();
  });
});
