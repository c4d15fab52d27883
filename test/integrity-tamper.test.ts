/**
 * verify finds every class of tampering, each with its file and line: an
 * edited line; a line deleted anywhere, a chain's first and last lines
 * included; a whole chain deleted; a segment deleted; lines reordered; a line
 * without a seal slipped into a sealed trail; lines spliced in from another
 * writer; a keyed trail re-sealed without the key. Each test writes a real
 * trail with two writers and edits its files.
 */
import { execFile } from "node:child_process";
import { cpSync, readFileSync, rmSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { verifyTrail } from "../src/index.js";
import { tempDir } from "./support/core-trail.js";
import { auditFiles, chainOf, fileLines, kinds, resealChain, stripSeal, writeLines, writeSealedTrail } from "./support/integrity-trail.js";

const run = promisify(execFile);
const cli = join(import.meta.dirname, "..", "dist", "cli", "main.js");

let dir: string;
let cleanup: () => void;
beforeEach(() => {
  ({ dir, cleanup } = tempDir("auditx-tamper-"));
});
afterEach(() => cleanup());

const live = () => join(dir, "audit.jsonl");
const edit = (path: string, change: (lines: string[]) => string[]) => writeLines(path, change(fileLines(path)));
/** Line numbers (1-based) of a chain's lines in a file. */
const linesOf = (path: string, chainId: string) =>
  fileLines(path)
    .map((line, i) => (chainOf(line) === chainId ? i + 1 : 0))
    .filter(Boolean);

describe("an untouched trail", () => {
  it("verifies, across restarts and rotated segments, with both writers' chains whole", async () => {
    // With the loggers' own START and STOP entries, sealed in each writer's chain like its records.
    await writeSealedTrail(dir, { records: 200, maxFileBytes: 16 * 1024, lifecycle: true });
    await writeSealedTrail(dir, { records: 50, maxFileBytes: 16 * 1024, lifecycle: true }); // both writers restart and continue
    const report = await verifyTrail({ logDir: dir });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.chains).toHaveLength(2);
    // Each writer's 250 records, and a START and a STOP for each of its two runs.
    for (const chain of report.chains) expect(chain).toMatchObject({ firstSeq: 1, lastSeq: 254, lines: 254 });
    expect(report.files.length).toBeGreaterThan(5);
    const clean = await run(process.execPath, [cli, "verify", "--log-dir", dir]);
    expect(clean.stdout).toMatch(/OK: no sign of tampering/);
    expect(clean.stdout).toMatch(/lines\/s\)/);
  });
});

describe("each tamper class is found, with file and line", () => {
  it("an edited line: modified", async () => {
    await writeSealedTrail(dir);
    edit(live(), (lines) => {
      lines[6] = (lines[6] as string).replace(/"amount":\d+/, '"amount":999999');
      return lines;
    });
    const report = await verifyTrail({ logDir: dir });
    expect(report.problems).toEqual([expect.objectContaining({ kind: "modified", file: live(), line: 7 })]);
  });

  it("a line deleted in the middle of a chain: gap, at the chain's next line", async () => {
    await writeSealedTrail(dir);
    const chain = chainOf(fileLines(live())[0] as string);
    const at = linesOf(live(), chain)[5] as number;
    edit(live(), (lines) => lines.filter((_, i) => i !== at - 1));
    const report = await verifyTrail({ logDir: dir });
    // The writers' lines interleave: the chain's next line was two further down, one after the deletion.
    expect(report.problems).toEqual([expect.objectContaining({ kind: "gap", file: live(), line: at + 1, chainId: chain })]);
    expect(report.problems[0]?.detail).toMatch(/seq 6\.\.6 missing/);
  });

  it("a chain's first lines deleted: chain-start-missing", async () => {
    await writeSealedTrail(dir);
    const chain = chainOf(fileLines(live())[0] as string);
    const doomed = new Set(linesOf(live(), chain).slice(0, 3));
    edit(live(), (lines) => lines.filter((_, i) => !doomed.has(i + 1)));
    const report = await verifyTrail({ logDir: dir });
    expect(kinds(report.problems)).toContain("chain-start-missing");
    // Its first line left was line 7 (lines 1, 3 and 5 were its), line 4 once they are gone.
    expect(report.problems.find((problem) => problem.kind === "chain-start-missing")).toMatchObject({ chainId: chain, line: 4 });
  });

  it("a chain's last lines deleted: tail-cut (its writer's saved head is ahead of the trail)", async () => {
    await writeSealedTrail(dir);
    const chain = chainOf(fileLines(live())[1] as string);
    const doomed = new Set(linesOf(live(), chain).slice(-3));
    edit(live(), (lines) => lines.filter((_, i) => !doomed.has(i + 1)));
    const report = await verifyTrail({ logDir: dir });
    expect(report.problems).toEqual([expect.objectContaining({ kind: "tail-cut", chainId: chain })]);
    expect(report.problems[0]?.detail).toMatch(/seq 18\.\.20 of writer/);
  });

  it("a whole chain deleted: chain-missing", async () => {
    await writeSealedTrail(dir);
    const chain = chainOf(fileLines(live())[1] as string);
    edit(live(), (lines) => lines.filter((line) => chainOf(line) !== chain));
    const report = await verifyTrail({ logDir: dir });
    expect(report.problems).toEqual([expect.objectContaining({ kind: "chain-missing", chainId: chain })]);
  });

  it("a segment deleted: gaps in every chain it held (the oldest one: the chains' starts)", async () => {
    await writeSealedTrail(dir, { records: 200, maxFileBytes: 16 * 1024 });
    const segments = auditFiles(dir);
    unlinkSync(segments[3] as string);
    const middle = await verifyTrail({ logDir: dir });
    expect(kinds(middle.problems)).toEqual(["gap", "gap"]);
    expect(middle.problems[0]?.file).toBe(segments[4]);
    unlinkSync(segments[0] as string);
    const first = await verifyTrail({ logDir: dir });
    expect(kinds(first.problems)).toContain("chain-start-missing");
  });

  it("two lines of a chain swapped: reordered", async () => {
    await writeSealedTrail(dir);
    const chain = chainOf(fileLines(live())[0] as string);
    const [a, , b] = linesOf(live(), chain).slice(4) as [number, number, number];
    edit(live(), (lines) => {
      [lines[a - 1], lines[b - 1]] = [lines[b - 1] as string, lines[a - 1] as string];
      return lines;
    });
    const report = await verifyTrail({ logDir: dir });
    expect(kinds(report.problems)).toContain("reordered");
    expect(report.problems.some((problem) => problem.line === b)).toBe(true);
  });

  it("a forged line without a seal slipped into a sealed trail: unsealed", async () => {
    await writeSealedTrail(dir);
    const forged = JSON.stringify({
      timestamp: "2026-01-05T10:00:00.000+06:30",
      level: "AUDIT",
      module: "sales",
      action: "VOID",
      description: "Invoice voided",
      user: "admin",
      status: null,
      success: true,
    });
    edit(live(), (lines) => [...lines.slice(0, 10), forged, ...lines.slice(10)]);
    const report = await verifyTrail({ logDir: dir });
    expect(report.problems).toEqual([expect.objectContaining({ kind: "unsealed", file: live(), line: 11 })]);
  });

  it("the last line edited with its seal stripped: unsealed (and the chain's tail is short)", async () => {
    await writeSealedTrail(dir);
    edit(live(), (lines) => {
      lines[lines.length - 1] = stripSeal((lines.at(-1) as string).replace(/"amount":\d+/, '"amount":1'));
      return lines;
    });
    const report = await verifyTrail({ logDir: dir });
    expect(kinds(report.problems)).toEqual(expect.arrayContaining(["unsealed", "tail-cut"]));
    expect(report.problems.find((problem) => problem.kind === "unsealed")?.line).toBe(fileLines(live()).length);
  });

  it("lines spliced in from another writer's trail: foreign-chain", async () => {
    const other = tempDir("auditx-tamper-other-");
    try {
      await writeSealedTrail(dir);
      await writeSealedTrail(other.dir, { writers: 1 });
      // A whole chain from elsewhere, from its first line (a valid chain in itself)...
      const spliced = fileLines(join(other.dir, "audit.jsonl"));
      edit(live(), (lines) => [...lines.slice(0, 20), ...spliced, ...lines.slice(20)]);
      const report = await verifyTrail({ logDir: dir });
      expect(kinds(report.problems)).toContain("foreign-chain");
      expect(report.problems.find((problem) => problem.kind === "foreign-chain")).toMatchObject({ file: live(), line: 21 });
    } finally {
      other.cleanup();
    }
  });

  it("a line moved from one chain into the other: broken links where it left and where it landed", async () => {
    await writeSealedTrail(dir);
    const lines = fileLines(live());
    const chainA = chainOf(lines[0] as string);
    const [a] = linesOf(live(), chainA).slice(6) as [number];
    // Relabelled as the other writer's next line: its hash no longer matches.
    edit(live(), (all) => {
      all[a - 1] = (all[a - 1] as string).replace(`"chain_id":"${chainA}"`, `"chain_id":"${chainOf(lines[1] as string)}"`);
      return all;
    });
    const report = await verifyTrail({ logDir: dir });
    expect(kinds(report.problems)).toEqual(expect.arrayContaining(["modified", "gap"]));
  });

  it("a keyed trail re-sealed without the key: downgrade; verified without the key: key-required", async () => {
    await writeSealedTrail(dir, { key: "s3cret-hmac-key" });
    expect((await verifyTrail({ logDir: dir, key: "s3cret-hmac-key" })).ok).toBe(true);
    const chain = chainOf(fileLines(live())[0] as string);
    resealChain(dir, chain, (dict) => (dict.reference_no === "SI-0-7" ? { ...dict, amount: 1 } : undefined));
    const keyed = await verifyTrail({ logDir: dir, key: "s3cret-hmac-key" });
    expect(new Set(kinds(keyed.problems))).toEqual(new Set(["downgrade"]));
    expect(keyed.problems.length).toBe(20);
    const keyless = await verifyTrail({ logDir: dir });
    expect(kinds(keyless.problems)).toEqual(["key-required"]);
    const cliRun = await run(process.execPath, [cli, "verify", "--log-dir", dir]).catch((error) => error);
    expect(cliRun.code).toBe(1);
    expect(cliRun.stdout).toMatch(/KEY-REQUIRED .*sealed with an HMAC key/);
  });
});

describe("what the trail alone cannot prove", () => {
  it("an unkeyed chain re-sealed from an edited line on passes the file checks; a signed checkpoint exposes it", async () => {
    const { generateKeyPairSync } = await import("node:crypto");
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    await writeSealedTrail(dir, { signingKey: privateKey });
    const copy = tempDir("auditx-tamper-copy-");
    try {
      cpSync(dir, copy.dir, { recursive: true });
      const chain = chainOf(fileLines(live())[0] as string);
      resealChain(dir, chain, (dict) => (dict.reference_no === "SI-0-7" ? { ...dict, amount: 1 } : undefined));
      // Hashes and links are consistent again: without a key or checkpoints this is not detectable.
      expect((await verifyTrail({ logDir: dir })).problems).toEqual([]);
      const signed = await verifyTrail({ logDir: dir, publicKey });
      expect(kinds(signed.problems)).toContain("checkpoint-mismatch");
      expect(signed.problems.find((problem) => problem.kind === "checkpoint-mismatch")?.file).toBe(join(dir, "checkpoints.jsonl"));
      expect(readFileSync(join(copy.dir, "audit.jsonl"), "utf8")).not.toBe(readFileSync(live(), "utf8"));
    } finally {
      copy.cleanup();
      rmSync(join(dir, "never"), { force: true });
    }
  });
});
