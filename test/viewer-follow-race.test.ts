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

  /**
   * A trail whose live file holds w1-0, a source over it (built, no persisted
   * index, on this thread), and what its live feed tells.
   */
  async function follow() {
    const t = viewerTempDir();
    cleanups.push(t.cleanup);
    const live = join(t.dir, "audit.jsonl");
    writeTrail(live, [line("w1-0")]);
    const source = new JsonlTrailSource({ logDir: t.dir, indexDir: false, indexThreads: 0, pollIntervalMs: 60_000 });
    cleanups.push(() => source.close());
    await source.ready();
    const told: Array<[string, number]> = [];
    (async () => {
      for await (const { source: trail, entries, cursor } of source.live() as AsyncIterable<AppendedEntries>) {
        if (trail !== "audit") continue;
        for (const [i, entry] of entries.entries()) told.push([String(entry.request_id), cursor! - (entries.length - 1 - i)]);
      }
    })().catch(() => {});
    /** Rotates the live file as a writer does; the segment's path. */
    const rotate = () => {
      const segment = join(t.dir, segmentName());
      renameSync(live, segment);
      return segment;
    };
    /** Refreshes until `count` entries were told (and once more, for any that should not be). */
    const waitTold = async (count: number) => {
      await source.refresh();
      await source.refresh();
      await eventually(() => told.length >= count, 5000, `${count} live entries`);
      await source.refresh();
      return told;
    };
    return { dir: t.dir, live, source, rotate, told: waitTold };
  }

  /** Compresses a segment as the background compression does: the `.gz` first, then the plain file goes. */
  function compress(segment: string): void {
    writeFileSync(`${segment}.gz`, gzipSync(readFileSync(segment)));
    unlinkSync(segment);
  }

  it("streams the lines of a live file rotated under the listing before those of the next live file", async () => {
    const { dir, live, source, rotate, told } = await follow();
    // Between two passes: a writer rotates, writes w1-1 to the new live file; it rotates again
    // right after the next pass has read the folder, and the writer goes on in the newest file.
    rotate();
    writeTrail(live, [line("w1-1")]);
    between.dir = dir;
    between.run = () => {
      rotate();
      writeTrail(live, [line("w1-2")]);
    };
    expect(await told(2)).toEqual([
      ["w1-1", 2],
      ["w1-2", 3],
    ]);
    expect(between.run).toBeNull();
    expect((await source.since("audit", 0, 10)).entries.map((e) => e.request_id)).toEqual(["w1-0", "w1-1", "w1-2"]);
  });

  it("streams a segment compressed between the listing and its stat, before the newer live file", async () => {
    const { dir, live, source, rotate, told } = await follow();
    // Between two passes: w1-1 goes to a file that is rotated at once, then w1-2 to the next live file;
    // the background compression replaces the rotated segment right after the next pass read the folder.
    rotate();
    writeTrail(live, [line("w1-1")]);
    const rotated = rotate();
    writeTrail(live, [line("w1-2")]);
    between.dir = dir;
    between.run = () => compress(rotated);
    expect(await told(2)).toEqual([
      ["w1-1", 2],
      ["w1-2", 3],
    ]);
    expect(between.run).toBeNull();
    expect((await source.since("audit", 0, 10)).entries.map((e) => e.request_id)).toEqual(["w1-0", "w1-1", "w1-2"]);
  });

  it("streams a segment rotated and compressed between two passes before the newer live file", async () => {
    const { live, rotate, told } = await follow();
    // The follower never sees w1-1's file plain: it is rotated and compressed before the next pass.
    rotate();
    writeTrail(live, [line("w1-1"), line("w1-2")]);
    compress(rotate());
    writeTrail(live, [line("w1-3")]);
    expect(await told(3)).toEqual([
      ["w1-1", 2],
      ["w1-2", 3],
      ["w1-3", 4],
    ]);
  });

  it("streams a large segment rotated between two passes (never seen live) before the newer live file", async () => {
    const { live, rotate, told } = await follow();
    // More than the follower reads of a file it meets already rotated (1 MiB): written, rotated, then the next file.
    rotate();
    writeTrail(
      live,
      Array.from({ length: 5000 }, (_, i) => line(`w1-${i + 1}`)),
    );
    expect(statSync(rotate()).size).toBeGreaterThan(1024 * 1024);
    writeTrail(live, [line("w1-5001")]);
    expect(await told(5001)).toEqual(Array.from({ length: 5001 }, (_, i) => [`w1-${i + 1}`, i + 2]));
  });

  it("indexes a compressed segment copied in from an archive without telling it as new", async () => {
    const { dir, live, source, told } = await follow();
    const archived = [line("old-0"), line("old-1")].map((entry) => `${JSON.stringify(entry)}\n`).join("");
    writeFileSync(join(dir, `${rotatedSegmentName("audit.jsonl", Date.UTC(2025, 0, 1))}.gz`), gzipSync(archived));
    writeTrail(live, [line("w1-0"), line("w1-1")]);
    await source.refresh();
    await eventually(async () => (await source.count("audit", {})).total === 4, 5000, "the archive indexed");
    expect((await told(1)).map(([id]) => id)).toEqual(["w1-1"]);
  });
});
