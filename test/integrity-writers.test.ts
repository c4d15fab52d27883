/**
 * A writer's chain outlives its process: the state under `.auditx/writers/`
 * lets a restarted process (or each worker of a restarted cluster) continue
 * the chain it wrote, so that a restart is no place to hide deleted lines.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger, verifyTrail } from "../src/index.js";
import { tempDir } from "./support/core-trail.js";
import { chainOf, fileLines, kinds, writeLines, writeSealedTrail } from "./support/integrity-trail.js";

let dir: string;
let cleanup: () => void;
beforeEach(() => {
  ({ dir, cleanup } = tempDir("auditx-writers-"));
});
afterEach(() => cleanup());

const live = () => join(dir, "audit.jsonl");
const chainIds = () => [...new Set(fileLines(live()).map(chainOf))].sort();

describe("writer identity across restarts", () => {
  it("a restarted writer continues its chain: same chain id, the next sequence number", async () => {
    // Without the loggers' START and STOP entries, the entry after the restart is the one right after `before`.
    const first = createLogger({ logDir: dir, integrity: true, minFreeBytes: 0, auditLifecycle: false });
    const before = first.log("before the restart");
    await first.shutdown();
    const second = createLogger({ logDir: dir, integrity: true, minFreeBytes: 0, auditLifecycle: false });
    const after = second.log("after the restart");
    expect(after.chainId).toBe(before.chainId);
    expect(after.seq).toBe(before.seq + 1);
    expect(after.prevHash).toBe(before.hash);
    expect(second.stats().integrity).toMatchObject({ chainId: before.chainId, resumed: true });
    await second.shutdown();
    const state = JSON.parse(readFileSync(join(dir, ".auditx", "writers", `${before.chainId}.json`), "utf8"));
    expect(state).toMatchObject({ chain_id: before.chainId, seq: 2, hash: after.hash, closed: true, pid: process.pid });
    expect(state.position).toMatchObject({ inode: expect.any(Number), offset: expect.any(Number) });
  });

  it("two writers at once take two identities; restarted, they take the same two again", async () => {
    await writeSealedTrail(dir, { writers: 2, records: 5 });
    const identities = chainIds();
    expect(identities).toHaveLength(2);
    await writeSealedTrail(dir, { writers: 2, records: 5 });
    expect(chainIds()).toEqual(identities);
    expect(
      readdirSync(join(dir, ".auditx", "writers"))
        .filter((name) => name.endsWith(".json"))
        .sort(),
    ).toEqual(identities.map((id) => `${id}.json`));
    const report = await verifyTrail({ logDir: dir });
    expect(report.problems).toEqual([]);
    for (const chain of report.chains) expect(chain).toMatchObject({ firstSeq: 1, lastSeq: 10 });
  });

  it("lines deleted before a restart stay a gap after it: the chain does not start over", async () => {
    await writeSealedTrail(dir, { writers: 1, records: 10 });
    writeLines(live(), fileLines(live()).slice(0, -3));
    await writeSealedTrail(dir, { writers: 1, records: 5 });
    const report = await verifyTrail({ logDir: dir });
    expect(kinds(report.problems)).toEqual(["gap"]);
    expect(report.problems[0]?.detail).toMatch(/seq 8\.\.10 missing/);
  });
});
