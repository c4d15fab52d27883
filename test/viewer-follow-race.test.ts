import { readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it, vi } from "vitest";
import { rotatedSegmentName } from "../src/trail/segments.js";
import { type AppendedEntries, JsonlTrailSource } from "../src/viewer/index.js";
import { eventually } from "./support/eventually.js";
import { entryLine, viewerTempDir, writeTrail } from "./support/viewer-server.js";

/**
 * The folder listing of the trail follower is the real one; a one-shot hook
 * runs right after the folder is read, so that another writer's rotation (or
 * the background compression) lands exactly between the listing and the stat
 * of each listed file: the window a loaded machine opens only now and then.
 */
const between = vi.hoisted(() => ({ dir: "", run: null as null | (() => void) }));
vi.mock("node:fs", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs")>();
  const readdirSync = ((...args: Parameters<typeof real.readdirSync>) => {
    const names = real.readdirSync(...args);
    const run = between.run;
    if (run && String(args[0]) === between.dir) {
      between.run = null;
      run();
    }
    return names;
  }) as typeof real.readdirSync;
  return { ...real, readdirSync, default: { ...real, readdirSync } };
});

/** The name of a segment rotated now (after the source started following the trail), as a writer names it. */
let lastStamp = 0;
const segmentName = () => rotatedSegmentName("audit.jsonl", (lastStamp = Math.max(Date.now(), lastStamp + 1)));
const line = (requestId: string) => entryLine(1, { user: "w1", request_id: requestId });

describe("trail follower: a rotation between the folder listing and the stats", () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    between.run = null;
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A source over `dir` (built, no persisted index, on this thread) and what its live feed tells. */
  async function follow(dir: string): Promise<{ source: JsonlTrailSource; told: Array<[string, number]> }> {
    const source = new JsonlTrailSource({ logDir: dir, indexDir: false, indexThreads: 0, pollIntervalMs: 60_000 });
    cleanups.push(() => source.close());
    await source.ready();
    const told: Array<[string, number]> = [];
    (async () => {
      for await (const { source: trail, entries, cursor } of source.live() as AsyncIterable<AppendedEntries>) {
        if (trail !== "audit") continue;
        for (const [i, entry] of entries.entries()) told.push([String(entry.request_id), cursor! - (entries.length - 1 - i)]);
      }
    })().catch(() => {});
    return { source, told };
  }

  it("streams the lines of a live file rotated under the listing before those of the next live file", async () => {
    const t = viewerTempDir();
    cleanups.push(t.cleanup);
    const live = join(t.dir, "audit.jsonl");
    writeTrail(live, [line("w1-0")]);
    const { source, told } = await follow(t.dir);
    // Between two passes: a writer rotates, writes w1-1 to the new live file; it rotates again
    // right after the next pass has read the folder, and the writer goes on in the newest file.
    renameSync(live, join(t.dir, segmentName()));
    writeTrail(live, [line("w1-1")]);
    between.dir = t.dir;
    between.run = () => {
      renameSync(live, join(t.dir, segmentName()));
      writeTrail(live, [line("w1-2")]);
    };
    await source.refresh();
    expect(between.run).toBeNull();
    await source.refresh();
    await eventually(() => told.length >= 2, 5000, "two live entries");
    await source.refresh();
    expect(told).toEqual([
      ["w1-1", 2],
      ["w1-2", 3],
    ]);
    expect((await source.since("audit", 0, 10)).entries.map((e) => e.request_id)).toEqual(["w1-0", "w1-1", "w1-2"]);
  });

  it("streams a segment compressed between the listing and its stat, before the newer live file", async () => {
    const t = viewerTempDir();
    cleanups.push(t.cleanup);
    const live = join(t.dir, "audit.jsonl");
    writeTrail(live, [line("w1-0")]);
    const { source, told } = await follow(t.dir);
    // Between two passes: w1-1 goes to a file that is rotated at once, then w1-2 to the next live file;
    // the background compression replaces the rotated segment right after the next pass read the folder.
    renameSync(live, join(t.dir, segmentName()));
    writeTrail(live, [line("w1-1")]);
    const rotated = join(t.dir, segmentName());
    renameSync(live, rotated);
    writeTrail(live, [line("w1-2")]);
    between.dir = t.dir;
    between.run = () => {
      writeFileSync(`${rotated}.gz`, gzipSync(readFileSync(rotated)));
      unlinkSync(rotated);
    };
    await source.refresh();
    expect(between.run).toBeNull();
    await source.refresh();
    await eventually(() => told.length >= 2, 5000, "two live entries");
    await source.refresh();
    expect(told).toEqual([
      ["w1-1", 2],
      ["w1-2", 3],
    ]);
    expect((await source.since("audit", 0, 10)).entries.map((e) => e.request_id)).toEqual(["w1-0", "w1-1", "w1-2"]);
  });

  it("streams a segment rotated and compressed between two passes before the newer live file", async () => {
    const t = viewerTempDir();
    cleanups.push(t.cleanup);
    const live = join(t.dir, "audit.jsonl");
    writeTrail(live, [line("w1-0")]);
    const { source, told } = await follow(t.dir);
    // The follower never sees w1-1's file plain: it is rotated and compressed before the next pass.
    renameSync(live, join(t.dir, segmentName()));
    writeTrail(live, [line("w1-1"), line("w1-2")]);
    const rotated = join(t.dir, segmentName());
    renameSync(live, rotated);
    writeFileSync(`${rotated}.gz`, gzipSync(readFileSync(rotated)));
    unlinkSync(rotated);
    writeTrail(live, [line("w1-3")]);
    await source.refresh();
    await eventually(() => told.length >= 3, 5000, "three live entries");
    await source.refresh();
    expect(told).toEqual([
      ["w1-1", 2],
      ["w1-2", 3],
      ["w1-3", 4],
    ]);
  });

  it("streams a large segment rotated between two passes (never seen live) before the newer live file", async () => {
    const t = viewerTempDir();
    cleanups.push(t.cleanup);
    const live = join(t.dir, "audit.jsonl");
    writeTrail(live, [line("w1-0")]);
    const { source, told } = await follow(t.dir);
    // More than the follower reads of a file it meets already rotated (1 MiB): written, rotated, then the next file.
    renameSync(live, join(t.dir, segmentName()));
    writeTrail(
      live,
      Array.from({ length: 5000 }, (_, i) => line(`w1-${i + 1}`)),
    );
    const rotated = join(t.dir, segmentName());
    renameSync(live, rotated);
    expect(statSync(rotated).size).toBeGreaterThan(1024 * 1024);
    writeTrail(live, [line("w1-5001")]);
    await source.refresh();
    await eventually(() => told.length >= 5001, 5000, "5001 live entries");
    await source.refresh();
    expect(told).toEqual(Array.from({ length: 5001 }, (_, i) => [`w1-${i + 1}`, i + 2]));
  });

  it("indexes a compressed segment copied in from an archive without telling it as new", async () => {
    const t = viewerTempDir();
    cleanups.push(t.cleanup);
    writeTrail(join(t.dir, "audit.jsonl"), [line("w1-0")]);
    const { source, told } = await follow(t.dir);
    const archived = [line("old-0"), line("old-1")].map((entry) => `${JSON.stringify(entry)}\n`).join("");
    writeFileSync(join(t.dir, `${rotatedSegmentName("audit.jsonl", Date.UTC(2025, 0, 1))}.gz`), gzipSync(archived));
    writeTrail(join(t.dir, "audit.jsonl"), [line("w1-0"), line("w1-1")]);
    await source.refresh();
    await eventually(async () => (await source.count("audit", {})).total === 4, 5000, "the archive indexed");
    await source.refresh();
    expect(told.map(([id]) => id)).toEqual(["w1-1"]);
  });
});
