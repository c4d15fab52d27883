/**
 * Durable before return: a process killed with SIGKILL mid-stream has on disk
 * every record whose log call had returned, each whole. The one record being
 * written at the kill may be cut short: Linux checks for a fatal signal
 * between the pages a write(2) copies, so a line that crosses a page boundary
 * can be left as a fragment. That call never returned; the fragment has no
 * newline, is the last bytes of its file, and nothing follows it.
 * The children run the compiled library (npm run build first).
 */
import { existsSync, readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { DIST_INDEX, isOwnEntry, type RunningChild, spawnFixture, tempDir, trailFiles } from "./support/core-trail.js";
import { eventually } from "./support/eventually.js";

const children: RunningChild[] = [];
const dirs: ReturnType<typeof tempDir>[] = [];
afterAll(() => {
  for (const child of children) child.stop();
  for (const dir of dirs) dir.cleanup();
});

/** The last sequence number the child reported as returned (complete lines only). */
function lastReported(child: RunningChild): number {
  const lines = child.stdout
    .split("\n")
    .slice(0, -1)
    .filter((line) => /^\d+$/.test(line));
  return lines.length ? Number(lines.at(-1)) : -1;
}

async function crashRun(killAfter: number, reportEvery: number): Promise<{ reported: number; seqs: number[] }> {
  const temp = tempDir("auditx-crash-");
  dirs.push(temp);
  // Small files and many backups: the kill may also land in the middle of a rotation.
  const child = spawnFixture("core-writer.mjs", [
    JSON.stringify({ mode: "loop", logDir: temp.dir, reportEvery, maxFileBytes: 512 * 1024, backupCount: 10_000 }),
  ]);
  children.push(child);
  await eventually(() => lastReported(child) >= killAfter || child.child.exitCode !== null, 30_000, "the writer to report");
  child.child.kill("SIGKILL");
  const { signal } = await child.exited;
  expect(signal, child.stderr).toBe("SIGKILL");
  const reported = lastReported(child);
  const seqs: number[] = [];
  const files = trailFiles(temp.dir, "audit.jsonl");
  let fragments = 0;
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    const lines = text.split("\n");
    const tail = lines.pop() as string;
    // Every complete line is JSON: a torn or interleaved line among them fails here.
    for (const line of lines) {
      const parsed = JSON.parse(line);
      // The logger's own START entry comes first; the records under test carry their seq.
      if (!isOwnEntry(parsed)) seqs.push((parsed.metadata as { seq: number }).seq);
    }
    if (tail !== "") {
      fragments++;
      // Only the record in flight at the kill, at the very end of the trail, may be cut short.
      expect(file, `a fragment in ${file}`).toBe(files.at(-1));
      const start = '{"timestamp":"';
      expect(tail.startsWith(start) || start.startsWith(tail), tail.slice(0, 40)).toBe(true);
    }
  }
  expect(fragments).toBeLessThanOrEqual(1);
  return { reported, seqs };
}

describe("crash durability", () => {
  it("needs the compiled library", () => {
    expect(existsSync(DIST_INDEX), "run `npm run build` first").toBe(true);
  });

  it("keeps every returned record and tears no line when killed with SIGKILL", async () => {
    const runs = await Promise.all([crashRun(2_000, 1), crashRun(5_000, 7), crashRun(9_000, 50)]);
    for (const { reported, seqs } of runs) {
      expect(reported).toBeGreaterThan(0);
      // Every record up to the last reported one is there, in order, once; nothing after a gap.
      expect(seqs.length).toBeGreaterThan(reported);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i));
    }
  });
});
