import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger, entryFromDict, verifyTrail } from "../src/index.js";

const run = promisify(execFile);
const cli = join(import.meta.dirname, "..", "dist", "cli", "main.js");

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "auditx-integrity-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** `count` sealed entries; with `lifecycle` the logger's START and STOP entries are sealed around them. */
async function writeTrail(count: number, options: { key?: string; maxFileBytes?: number; backupCount?: number; lifecycle?: boolean } = {}) {
  const logger = createLogger({
    logDir: dir,
    auditLifecycle: options.lifecycle ?? false,
    integrity: options.key ? { key: options.key } : true,
    maxFileBytes: options.maxFileBytes,
    backupCount: options.backupCount,
  });
  const entries = [];
  for (let i = 0; i < count; i++) {
    entries.push(
      logger.logTransaction(`Invoice ${i} posted`, { referenceNo: `SI-${i}`, amount: 1000 + i, user: i % 2 ? "thida" : "admin" }),
    );
  }
  await logger.shutdown();
  return entries;
}

const auditPath = () => join(dir, "audit.jsonl");
const lines = () => readFileSync(auditPath(), "utf8").split("\n").filter(Boolean);
const rewrite = (edit: (lines: string[]) => string[]) => writeFileSync(auditPath(), `${edit(lines()).join("\n")}\n`);

describe("integrity chain", () => {
  it("seals each line with chain_id, seq, prev_hash and hash, in the entry as in the file", async () => {
    const entries = await writeTrail(3);
    const parsed = lines().map((line) => JSON.parse(line));
    expect(Object.keys(parsed[0]).slice(-4)).toEqual(["chain_id", "seq", "prev_hash", "hash"]);
    expect(parsed.map((p) => p.seq)).toEqual([1, 2, 3]);
    expect(parsed[1].prev_hash).toBe(parsed[0].hash);
    expect(parsed[2].prev_hash).toBe(parsed[1].hash);
    expect(entries[2]?.toDict()).toEqual(parsed[2]);
    expect(entryFromDict(parsed[2]).hash).toBe(parsed[2].hash);
  });

  it("verifies an untouched trail, across rotated backups", async () => {
    await writeTrail(400, { maxFileBytes: 16 * 1024, backupCount: 50, lifecycle: true });
    const report = await verifyTrail({ logDir: dir });
    expect(report.files.length).toBeGreaterThan(3);
    // The logger's START and STOP entries are in the chain like any other.
    expect(report).toMatchObject({ ok: true, lines: 402, sealed: 402, unsealed: 0, problems: [] });
    expect(report.chains).toHaveLength(1);
    expect(report.chains[0]).toMatchObject({ firstSeq: 1, lastSeq: 402, lines: 402 });
  });

  it("finds an edited amount, a deleted line and a swapped pair", async () => {
    await writeTrail(10);
    rewrite((all) => {
      all[2] = (all[2] as string).replace('"amount":1002', '"amount":9002');
      all.splice(5, 1);
      [all[7], all[8]] = [all[8] as string, all[7] as string];
      return all;
    });
    const report = await verifyTrail({ logDir: dir });
    expect(report.ok).toBe(false);
    const kinds = report.problems.map((p) => `${p.kind}@${p.line}`);
    expect(kinds).toContain("modified@3");
    expect(kinds).toContain("gap@6");
    expect(kinds.some((k) => k.startsWith("reordered"))).toBe(true);
  });

  it("with a key, a line recomputed without the key does not pass", async () => {
    await writeTrail(4, { key: "s3cret" });
    expect((await verifyTrail({ logDir: dir, key: "s3cret" })).ok).toBe(true);
    const wrongKey = await verifyTrail({ logDir: dir, key: "guess" });
    expect(wrongKey.problems.filter((p) => p.kind === "modified")).toHaveLength(4);
  });

  it("auditx verify exits 0 on a clean trail and 1 with the problem listed", async () => {
    await writeTrail(5);
    const clean = await run(process.execPath, [cli, "verify", "--log-dir", dir]);
    expect(clean.stdout).toContain("OK: no sign of tampering");
    rewrite((all) => all.filter((_, i) => i !== 1));
    const failed = await run(process.execPath, [cli, "verify", "--log-dir", dir]).catch((error) => error);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/GAP .*audit\.jsonl:2 .*seq 2\.\.2 missing/);
  });
});
