/**
 * Signed checkpoints: each writer signs its chain head (Ed25519) every
 * interval, even when idle, every N lines, at start and at shutdown, into the
 * digest file beside the trail and over OTLP; `auditx verify --public-key`
 * then proves each writer's head, finds a cut-off tail with its time window,
 * and compares the digest file with a copy kept elsewhere. Writers keep their
 * chain across restarts, crashes included.
 */
import { execFile } from "node:child_process";
import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, onTestFinished } from "vitest";
import { type AuditLogger, createLogger, verifyTrail } from "../src/index.js";
import { DIST_INDEX, spawnFixture, tempDir } from "./support/core-trail.js";
import { eventually } from "./support/eventually.js";
import { chainOf, fileLines, kinds, writeLines, writeSealedTrail } from "./support/integrity-trail.js";
import { OtlpReceiver } from "./support/otlp-receiver.js";

const run = promisify(execFile);
const cli = join(import.meta.dirname, "..", "dist", "cli", "main.js");

let keys: { dir: string; cleanup: () => void };
let privateKey: string;
let publicKey: string;
beforeAll(async () => {
  keys = tempDir("auditx-keys-");
  const made = await run(process.execPath, [cli, "keygen", "--out", keys.dir]);
  expect(made.stdout).toMatch(/key id: +[A-Za-z0-9_-]{16}/);
  privateKey = join(keys.dir, "auditx-checkpoint.key");
  publicKey = join(keys.dir, "auditx-checkpoint.pub");
});
afterAll(() => keys.cleanup());

let dir: string;
let cleanup: () => void;
let logger: AuditLogger | undefined;
beforeEach(() => {
  ({ dir, cleanup } = tempDir("auditx-checkpoints-"));
});
afterEach(async () => {
  await logger?.shutdown();
  logger = undefined;
  cleanup();
});

const digest = () => join(dir, "checkpoints.jsonl");
const checkpoints = () => fileLines(digest()).map((line) => JSON.parse(line) as Record<string, unknown>);
const live = () => join(dir, "audit.jsonl");

describe("auditx keygen", () => {
  it("writes a PEM key pair, the private key readable by its owner only", async () => {
    expect(readFileSync(privateKey, "utf8")).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(readFileSync(publicKey, "utf8")).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(statSync(privateKey).mode & 0o777).toBe(0o600);
    const again = await run(process.execPath, [cli, "keygen", "--out", keys.dir]).catch((error) => error);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/exists \(--force replaces them\)/);
  });
});

describe("checkpoints", () => {
  it("at start, every N lines, every interval (heartbeats when idle) and at shutdown; signed and linked", async () => {
    logger = createLogger({ logDir: dir, integrity: { signingKey: privateKey, checkpoints: { intervalMs: 300, records: 25 } } });
    for (let batch = 0; batch < 4; batch++) {
      for (let i = 0; i < 20; i++) logger.log(`entry ${batch * 20 + i}`);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await new Promise((resolve) => setTimeout(resolve, 1600)); // idle: heartbeats
    await logger.shutdown();
    const records = checkpoints();
    const reasons = records.map((record) => record.reason);
    expect(reasons[0]).toBe("start");
    expect(reasons).toContain("records");
    expect(reasons.filter((reason) => reason === "heartbeat").length).toBeGreaterThanOrEqual(1);
    expect(reasons.at(-1)).toBe("shutdown");
    expect(records.map((record) => record.n)).toEqual(records.map((_, i) => i + 1));
    // The last checkpoint vouches for the 80 entries and the logger's own START and STOP (written before it).
    expect(records.at(-1)).toMatchObject({ type: "checkpoint", v: 1, seq: 82, epoch: 0, key_id: null, interval_ms: 300 });
    expect(String(records.at(-1)?.sig)).toMatch(/^[A-Za-z0-9_-]{86}$/);
    const report = await verifyTrail({ logDir: dir, publicKey });
    expect(report.problems).toEqual([]);
    expect(report.checkpoints).toMatchObject({ total: records.length, valid: records.length, writers: 1 });
    const cliRun = await run(process.execPath, [cli, "verify", "--log-dir", dir, "--public-key", publicKey]);
    expect(cliRun.stdout).toMatch(/checkpoints: \d+ of \d+ valid, 1 writer\(s\)/);
    expect(cliRun.stdout).toMatch(/OK: no sign of tampering; every writer's head is vouched for/);
  });

  it("another key's public key does not validate them; an edited checkpoint is forged", async () => {
    await writeSealedTrail(dir, { signingKey: privateKey });
    const other = tempDir("auditx-otherkey-");
    try {
      await run(process.execPath, [cli, "keygen", "--out", other.dir]);
      const wrong = await verifyTrail({ logDir: dir, publicKey: join(other.dir, "auditx-checkpoint.pub") });
      expect(kinds(wrong.problems)).toContain("checkpoint-invalid");
    } finally {
      other.cleanup();
    }
    const lines = fileLines(digest());
    lines[1] = (lines[1] as string).replace(/"seq":\d+/, '"seq":3');
    writeLines(digest(), lines);
    const forged = await verifyTrail({ logDir: dir, publicKey });
    expect(forged.problems[0]).toMatchObject({ kind: "checkpoint-invalid", file: digest(), line: 2 });
  });

  it("a tail cut off after the last lines (and their checkpoints with it) is reported with its time window", async () => {
    await writeSealedTrail(dir, { signingKey: privateKey, writers: 1, records: 30 });
    const chain = chainOf(fileLines(live())[0] as string);
    const lines = fileLines(live());
    writeLines(live(), lines.slice(0, -5));
    const report = await verifyTrail({ logDir: dir, publicKey });
    const cut = report.problems.find((problem) => problem.kind === "tail-cut" && problem.file === digest());
    expect(cut?.chainId).toBe(chain);
    expect(cut?.detail).toMatch(/seq 26\.\.30 of writer .* were cut off: written between \d{4}-\d\d-\d\dT[\d:.]+[+-]\d\d:\d\d and \d{4}-/);
  });

  it("a writer killed without a final checkpoint: its open tail is reported after the heartbeat window; a restart continues the chain", async () => {
    expect(statSync(DIST_INDEX).isFile(), "run `npm run build` first").toBe(true);
    const child = spawnFixture("core-writer.mjs", [
      JSON.stringify({
        mode: "loop",
        logDir: dir,
        reportEvery: 50,
        options: { integrity: { signingKey: privateKey, checkpoints: { intervalMs: 200 } }, minFreeBytes: 0 },
      }),
    ]);
    await eventually(() => child.stdout.split("\n").filter(Boolean).length > 20, 30_000, "the writer to write");
    child.child.kill("SIGKILL");
    await child.exited;
    const after = Date.now() + 60_000;
    const report = await verifyTrail({ logDir: dir, publicKey, now: after });
    const open = report.problems.find((problem) => problem.kind === "tail-unsealed");
    expect(open?.detail).toMatch(/no later checkpoint vouches for them|stopped without a final checkpoint/);
    // The writer comes back (a restart of the service): it takes over its chain where the trail ends.
    const chain = chainOf(fileLines(live())[0] as string);
    const lastSeq = JSON.parse(fileLines(live()).at(-1) as string).seq as number;
    // Without its START entry, the restarted writer's first line is this entry.
    logger = createLogger({
      logDir: dir,
      integrity: { signingKey: privateKey, checkpoints: { intervalMs: 200 } },
      minFreeBytes: 0,
      auditLifecycle: false,
    });
    const entry = logger.log("after the restart");
    expect(entry.chainId).toBe(chain);
    expect(entry.seq).toBe(lastSeq + 1);
    await logger.shutdown();
    logger = undefined;
    const resumed = await verifyTrail({ logDir: dir, publicKey });
    expect(resumed.problems).toEqual([]);
    expect(resumed.chains).toHaveLength(1);
  });

  it("over OTLP: each checkpoint is a record whose body is the signed line; a SIEM copy finds checkpoints deleted locally", async () => {
    const receiver = await new OtlpReceiver().start();
    try {
      logger = createLogger({
        logDir: dir,
        integrity: { signingKey: privateKey, checkpoints: { records: 10 } },
        otlp: { url: receiver.url, scheduledDelayMillis: 50 },
      });
      for (let batch = 0; batch < 3; batch++) {
        for (let i = 0; i < 10; i++) logger.log(`entry ${batch}-${i}`);
        await new Promise((resolve) => setImmediate(resolve));
      }
      await logger.shutdown();
      logger = undefined;
      const local = fileLines(digest());
      const received = receiver.records.filter((record) => record.eventName === "auditx.checkpoint");
      expect(received.map((record) => record.body)).toEqual(local);
      expect(received[0]?.attributes).toMatchObject({
        "auditx.stream": "checkpoint",
        "auditx.checkpoint.type": "checkpoint",
        "auditx.checkpoint.n": 1,
      });
      // No audit record carries a checkpoint, and no checkpoint reached the trail files.
      expect(fileLines(live()).some((line) => line.includes('"type":"checkpoint"'))).toBe(false);
      const copy = join(dir, "..", `${dir.split("/").at(-1)}-siem-copy.jsonl`);
      writeFileSync(copy, `${received.map((record) => record.body).join("\n")}\n`);
      onTestFinished(() => rmSync(copy, { force: true }));
      try {
        // Someone removes the last lines and the checkpoints that vouched for them.
        writeLines(live(), fileLines(live()).slice(0, -10));
        writeLines(digest(), local.slice(0, -2));
        const alone = await verifyTrail({ logDir: dir, publicKey });
        expect(kinds(alone.problems)).not.toContain("checkpoint-missing");
        const withCopy = await verifyTrail({ logDir: dir, publicKey, checkpoints: [copy] });
        expect(kinds(withCopy.problems)).toEqual(expect.arrayContaining(["checkpoint-missing", "tail-cut"]));
        const cliRun = await run(process.execPath, [
          cli,
          "verify",
          "--log-dir",
          dir,
          "--public-key",
          publicKey,
          "--checkpoints",
          copy,
          "--json",
        ]).catch((error) => error);
        expect(cliRun.code).toBe(1);
        const json = JSON.parse(cliRun.stdout);
        expect(json.ok).toBe(false);
        expect(json.checkpoints.files).toContain(copy);
      } finally {
        writeFileSync(copy, "");
      }
    } finally {
      await receiver.stop();
    }
  });
});
