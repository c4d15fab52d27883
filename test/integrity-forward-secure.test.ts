/**
 * Forward security: with `integrity.forwardSecure`, the signing key evolves
 * every epoch and the old one is erased. An attacker who takes the machine
 * holds only the current epoch's key: whatever it re-signs in the name of an
 * earlier epoch, verify (with epoch 0's public key only) notices.
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger, verifyTrail } from "../src/index.js";
import { nextSeed } from "../src/integrity/ForwardSecureKey.js";
import { privateKeyFromSeed, rawPublicKey } from "../src/integrity/signingKeys.js";
import { tempDir } from "./support/core-trail.js";
import { chainOf, fileLines, kinds, resealChain, resign, writeLines } from "./support/integrity-trail.js";

const EPOCH_MS = 400;

let dir: string;
let cleanup: () => void;
let initial: { privateKey: KeyObject; publicKey: KeyObject };
beforeEach(() => {
  ({ dir, cleanup } = tempDir("auditx-fss-"));
  initial = generateKeyPairSync("ed25519");
});
afterEach(() => cleanup());

const digest = () => join(dir, "checkpoints.jsonl");
const stateFile = () => join(dir, ".auditx", "signing-key.json");
const stolenKey = (): { epoch: number; key: KeyObject; seed: Buffer } => {
  const stored = JSON.parse(readFileSync(stateFile(), "utf8")) as { epoch: number; seed: string };
  const seed = Buffer.from(stored.seed, "base64url");
  return { epoch: stored.epoch, key: privateKeyFromSeed(seed), seed };
};

/** Writes across several epochs: a checkpoint every 100 ms, a line every 20 ms. */
async function writeAcrossEpochs(epochs: number): Promise<void> {
  const logger = createLogger({
    logDir: dir,
    minFreeBytes: 0,
    integrity: { signingKey: initial.privateKey, forwardSecure: { epochMs: EPOCH_MS }, checkpoints: { intervalMs: 100 } },
  });
  const end = Date.now() + epochs * EPOCH_MS;
  let i = 0;
  while (Date.now() < end) {
    logger.logTransaction(`invoice ${i}`, { referenceNo: `SI-${i}`, amount: 100 + i });
    i++;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await logger.shutdown();
}

describe("forward-secure checkpoints", () => {
  it("the initial key is taken once; while its file stays on the host every start warns; later starts need only the folder's key", async () => {
    const keyFile = join(dir, "..", `${dir.split("/").at(-1)}-initial.key`);
    writeFileSync(keyFile, initial.privateKey.export({ format: "pem", type: "pkcs8" }) as string, { mode: 0o600 });
    try {
      const first = createLogger({ logDir: dir, minFreeBytes: 0, integrity: { signingKey: keyFile, forwardSecure: true } });
      first.log("first start");
      await first.shutdown();
      expect(readFileSync(join(dir, "app.log"), "utf8")).toMatch(
        /WARNING \| forward security: the initial signing key .* is still on this host; its key now evolves in the log folder: remove it/,
      );
    } finally {
      unlinkSync(keyFile);
    }
    const second = createLogger({ logDir: dir, minFreeBytes: 0, integrity: { forwardSecure: true } });
    second.log("second start, the initial key gone");
    await second.shutdown();
    expect((await verifyTrail({ logDir: dir, publicKey: initial.publicKey })).problems).toEqual([]);
    expect(() => createLogger({ logDir: join(dir, "fresh"), integrity: { forwardSecure: true } })).toThrow(
      /needs a signing key the first time/,
    );
  });

  it("the key evolves every epoch: each handover is signed by the key it replaces, the file keeps only the current key", async () => {
    await writeAcrossEpochs(4);
    const records = fileLines(digest()).map((line) => JSON.parse(line) as Record<string, unknown>);
    const handovers = records.filter((record) => record.type === "epoch");
    expect(handovers.length).toBeGreaterThanOrEqual(3);
    expect(handovers.map((record) => record.from)).toEqual(handovers.map((record) => (record.epoch as number) - 1));
    // The old key vouches for the head at its epoch's end before it hands over (unless its timer fired too late for it).
    const epochEnds = records.filter((record) => record.reason === "epoch-end").length;
    expect(epochEnds).toBeGreaterThan(0);
    expect(epochEnds).toBeLessThanOrEqual(handovers.length);
    const stolen = stolenKey();
    expect(stolen.epoch).toBe(handovers.at(-1)?.epoch);
    expect(rawPublicKey(stolen.key)).toBe(handovers.at(-1)?.public_key);
    expect(rawPublicKey(stolen.key)).not.toBe(rawPublicKey(initial.publicKey));
    // The initial key is nowhere in the folder any more.
    expect(readFileSync(stateFile(), "utf8")).not.toContain(initial.privateKey.export({ format: "jwk" }).d as string);
    // One-way: the next key follows from the current one, never the other way round.
    expect(rawPublicKey(privateKeyFromSeed(nextSeed(stolen.seed)))).not.toBe(handovers.at(-2)?.public_key);
    const report = await verifyTrail({ logDir: dir, publicKey: initial.publicKey });
    expect(report.problems).toEqual([]);
    expect(report.checkpoints?.epochs).toBe(handovers.length);
  }, 20_000);

  describe("an attacker with the current epoch's key re-seals an edit made to an earlier epoch", () => {
    /** Edits invoice 2 (epoch 0) and re-seals the chain from there, as someone with write access can. */
    function editEarlyLine(): void {
      const chain = chainOf(fileLines(join(dir, "audit.jsonl"))[0] as string);
      resealChain(dir, chain, (dict) => (dict.reference_no === "SI-2" ? { ...dict, amount: 1 } : undefined));
    }

    it("re-signing the old checkpoints under their own epochs: their signatures do not hold", async () => {
      await writeAcrossEpochs(3);
      const stolen = stolenKey();
      editEarlyLine();
      const heads = new Map<number, string>();
      for (const line of fileLines(join(dir, "audit.jsonl"))) {
        const { seq, hash } = JSON.parse(line) as { seq: number; hash: string };
        heads.set(seq, hash);
      }
      writeLines(
        digest(),
        fileLines(digest()).map((line) =>
          JSON.parse(line).type === "checkpoint"
            ? resign(line, stolen.key, (record) => (record.hash = heads.get(record.seq as number) ?? record.hash))
            : line,
        ),
      );
      const report = await verifyTrail({ logDir: dir, publicKey: initial.publicKey });
      expect(report.ok).toBe(false);
      expect(kinds(report.problems)).toContain("checkpoint-invalid");
      // The checkpoints of the current epoch re-sign fine, the earlier ones cannot.
      const invalid = report.problems.filter((problem) => problem.kind === "checkpoint-invalid");
      expect(invalid.every((problem) => /signature does not match/.test(problem.detail))).toBe(true);
    }, 20_000);

    it("re-signing them as the current epoch: they are dated before it began", async () => {
      await writeAcrossEpochs(3);
      const stolen = stolenKey();
      editEarlyLine();
      writeLines(
        digest(),
        fileLines(digest()).map((line) =>
          JSON.parse(line).type === "checkpoint" ? resign(line, stolen.key, (record) => (record.epoch = stolen.epoch)) : line,
        ),
      );
      const report = await verifyTrail({ logDir: dir, publicKey: initial.publicKey });
      expect(
        report.problems.some((problem) => problem.kind === "checkpoint-invalid" && /outside epoch/.test(problem.detail)),
        JSON.stringify(report.problems.slice(0, 5)),
      ).toBe(true);
    }, 20_000);

    it("dropping the earlier checkpoints and signing a fresh one: the handovers still vouch for what was dropped", async () => {
      await writeAcrossEpochs(3);
      const stolen = stolenKey();
      editEarlyLine();
      const lines = fileLines(digest());
      const kept = lines.filter((line) => {
        const record = JSON.parse(line);
        return record.type === "epoch" || record.epoch === stolen.epoch;
      });
      writeLines(digest(), kept);
      const report = await verifyTrail({ logDir: dir, publicKey: initial.publicKey });
      expect(kinds(report.problems)).toContain("checkpoint-missing");
      expect(report.problems.some((problem) => /vouches for a checkpoint/.test(problem.detail))).toBe(true);
    }, 20_000);

    it("a handover forged with the stolen key (to rewrite an earlier epoch) does not chain back to epoch 0's key", async () => {
      await writeAcrossEpochs(3);
      const stolen = stolenKey();
      const lines = fileLines(digest());
      const handover = lines.find((line) => JSON.parse(line).type === "epoch") as string;
      const forged = resign(handover, stolen.key, (record) => (record.public_key = rawPublicKey(generateKeyPairSync("ed25519").publicKey)));
      writeLines(
        digest(),
        lines.map((line) => (line === handover ? forged : line)),
      );
      const report = await verifyTrail({ logDir: dir, publicKey: initial.publicKey });
      expect(kinds(report.problems)).toContain("epoch-invalid");
    }, 20_000);
  });
});
