/**
 * The logger writes its own lifecycle to the trail (PCI DSS 10.2.1.6): START
 * with the effective configuration and no secret in it, STOP at shutdown()
 * and at process exit, CONFIGURE (and OTLP on or off) when configure()
 * replaces it. They are SECURITY entries, so they reach security.jsonl and
 * OTLP like any other.
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AuditEntry, type AuditLogger, audit, configure, createLogger } from "../src/index.js";
import { DIST_INDEX, readJsonl, readOwnEntries, tempDir } from "./support/core-trail.js";
import { OtlpReceiver } from "./support/otlp-receiver.js";

const INTEGRITY_KEY = "integrity-key-zk1-0123456789";
const HMAC_KEY = "hmac-key-zk2-0123456789abcdef";
const OTLP_PASSWORD = "otlp-pass-zk3";
const OTLP_TOKEN = "otlp-token-zk4";
const HEADER_VALUE = "header-value-zk5";
const SECRETS = [INTEGRITY_KEY, HMAC_KEY, OTLP_PASSWORD, OTLP_TOKEN, HEADER_VALUE];

let dir: string;
let cleanup: () => void;
let receiver: OtlpReceiver;
const loggers: AuditLogger[] = [];

beforeEach(async () => {
  ({ dir, cleanup } = tempDir("auditx-lifecycle-"));
  receiver = await new OtlpReceiver().start();
});
afterEach(async () => {
  await Promise.all(loggers.splice(0).map((logger) => logger.shutdown()));
  await receiver.stop();
  cleanup();
});

function trailText(folder = dir): string {
  return ["audit.jsonl", "security.jsonl", "app.log"]
    .map((name) => {
      try {
        return readFileSync(join(folder, name), "utf8");
      } catch {
        return "";
      }
    })
    .join("\n");
}

describe("the logger's lifecycle", () => {
  it("writes START with the effective configuration, secrets removed, before its first entry; STOP with its figures at shutdown", async () => {
    const logger = createLogger({
      logDir: dir,
      serviceName: "billing",
      integrity: { key: INTEGRITY_KEY },
      redact: { paths: [{ path: "metadata.card", censor: { hmac: { key: HMAC_KEY, keyId: "k1" } } }] },
      otlp: {
        url: `${receiver.origin.replace("://", `://collector:${OTLP_PASSWORD}@`)}/v1/logs?token=${OTLP_TOKEN}`,
        headers: { "x-api-key": HEADER_VALUE },
        scheduledDelayMillis: 20,
      },
    });
    expect(readOwnEntries(dir)).toEqual([]);
    logger.logTransaction("Invoice posted", { amount: 10 });
    logger.log("Second");
    await logger.shutdown();

    const own = readOwnEntries(dir);
    expect(own.map((entry) => entry.action)).toEqual(["START", "STOP"]);
    const [start, stop] = own as [Record<string, unknown>, Record<string, unknown>];
    expect(start).toMatchObject({
      level: "SECURITY",
      module: "system",
      user: "auditx",
      entity_type: "auditx",
      entity_id: "logger",
      service: "billing",
      success: true,
    });
    expect(start.description).toMatch(
      /^auditx \S+ started, OTLP export on to http:\/\/\[REDACTED\]@127\.0\.0\.1:\d+\/v1\/logs\?token=\[REDACTED\]$/,
    );
    expect(start.metadata).toMatchObject({
      configuration: {
        logDir: dir,
        service: "billing",
        integrity: "hmac-sha256",
        redact: { defaults: true, maskCards: false, paths: [{ path: "metadata.card", censor: "hmac (key k1)" }] },
        otlp: { headers: ["x-api-key"] },
        onAudit: false,
      },
      pid: process.pid,
    });
    // START comes before the first entry, STOP after the last, all in one sealed chain.
    const all = readFileSync(join(dir, "audit.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(all.map((line) => line.description)).toEqual([start.description, "Invoice posted", "Second", "auditx stopped (shutdown())"]);
    expect(all.map((line) => line.seq)).toEqual([1, 2, 3, 4]);
    expect(stop.metadata).toMatchObject({ reason: "shutdown()", written: { audit: 3, security: 1 } });
    // SECURITY entries: in security.jsonl and over OTLP as security records.
    expect(readOwnEntries(dir, "security.jsonl").map((entry) => entry.action)).toEqual(["START", "STOP"]);
    await receiver.waitForRecords(4);
    const exported = receiver.records.filter((record) => record.attributes["auditx.entity.type"] === "auditx");
    expect(exported.map((record) => [record.attributes["auditx.action"], record.attributes["auditx.stream"]])).toEqual([
      ["START", "security"],
      ["STOP", "security"],
    ]);
    for (const secret of SECRETS) {
      expect(trailText(), secret).not.toContain(secret);
      expect(JSON.stringify(receiver.records), secret).not.toContain(secret);
    }
  });

  it("writes nothing for a logger that writes nothing, and nothing with auditLifecycle: false", async () => {
    await createLogger({ logDir: dir }).shutdown();
    expect(readOwnEntries(dir)).toEqual([]);
    const quiet = createLogger({ logDir: dir, auditLifecycle: false });
    quiet.log("only this");
    await quiet.shutdown();
    expect(readOwnEntries(dir)).toEqual([]);
    expect(readJsonl(join(dir, "audit.jsonl")).map((entry) => entry.description)).toEqual(["only this"]);
  });

  it("writes STOP on the exit path of a process that never calls shutdown()", async () => {
    const script = `
      import { createLogger } from ${JSON.stringify(DIST_INDEX)};
      const logger = createLogger({ logDir: ${JSON.stringify(dir)} });
      logger.log("job ran");
    `;
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: "ignore" });
      child.on("error", reject);
      child.on("close", resolve);
    });
    expect(code).toBe(0);
    const all = readFileSync(join(dir, "audit.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(all.map((line) => line.action)).toEqual(["START", "READ", "STOP"]);
    expect(all[2]).toMatchObject({
      description: "auditx stopped (process exit)",
      metadata: { reason: "process exit", written: { audit: 2 } },
    });
  });

  it("writes CONFIGURE with what changed when configure() replaces a logger, and OTLP turned on and off", async () => {
    const first = configure({ logDir: dir, maxFileBytes: 1_000_000 });
    loggers.push(first);
    audit.log("before");
    const second = configure({
      logDir: dir,
      maxFileBytes: 2_000_000,
      otlp: { url: receiver.url, headers: { authorization: HEADER_VALUE } },
    });
    loggers.push(second);
    audit.log("during");
    const third = configure({ logDir: dir, maxFileBytes: 2_000_000 });
    loggers.push(third);
    audit.log("after");
    await audit.shutdown();
    const own = readOwnEntries(dir).map((entry) => [entry.action, entry.entity_id, entry.description]);
    expect(own).toEqual([
      ["START", "logger", expect.stringMatching(/^auditx \S+ started$/)],
      ["STOP", "logger", "auditx stopped (shutdown())"],
      ["CONFIGURE", "logger", "auditx reconfigured: maxFileBytes, otlp changed"],
      ["CONFIGURE", "otlp", expect.stringMatching(/^OTLP export turned on, to http:\/\/127\.0\.0\.1:\d+\/v1\/logs$/)],
      ["STOP", "logger", "auditx stopped (shutdown())"],
      ["CONFIGURE", "logger", "auditx reconfigured: otlp changed"],
      ["CONFIGURE", "otlp", "OTLP export turned off"],
      ["STOP", "logger", "auditx stopped (shutdown())"],
    ]);
    const change = readOwnEntries(dir).find((entry) => entry.description === "auditx reconfigured: maxFileBytes, otlp changed");
    expect(change?.metadata).toMatchObject({ changes: { maxFileBytes: { from: 1_000_000, to: 2_000_000 }, otlp: { from: false } } });
    expect(readJsonl(join(dir, "audit.jsonl")).map((entry) => entry.description)).toEqual(["before", "during", "after"]);
    expect(trailText()).not.toContain(HEADER_VALUE);
  });

  it("writes no retention entry while nothing is dropped, nor with auditLifecycle: false", async () => {
    const seen: AuditEntry[] = [];
    const roomy = createLogger({ logDir: dir, maxFileBytes: 4096, backupCount: 50, onAudit: (entry) => void seen.push(entry) });
    for (let i = 0; i < 60; i++) roomy.log(`posted ${i}`, { metadata: { padding: "x".repeat(400) } });
    await roomy.shutdown();
    expect(roomy.stats().rotations).toBeGreaterThan(3);
    expect(seen.filter((entry) => entry.action === "DELETE")).toEqual([]);
    const quietDir = join(dir, "quiet");
    const quiet = createLogger({
      logDir: quietDir,
      maxFileBytes: 4096,
      backupCount: 1,
      auditLifecycle: false,
      onAudit: (entry) => void seen.push(entry),
    });
    for (let i = 0; i < 60; i++) quiet.log(`posted ${i}`, { metadata: { padding: "x".repeat(400) } });
    await quiet.shutdown();
    expect(quiet.stats().rotations).toBeGreaterThan(3);
    expect(seen.filter((entry) => entry.action === "DELETE")).toEqual([]);
  });

  it("a START that cannot reach security.jsonl does not fail the caller's AUDIT entry", async () => {
    mkdirSync(join(dir, "security.jsonl"));
    const logger = createLogger({ logDir: dir });
    loggers.push(logger);
    const entry = logger.log("still written");
    expect(entry.description).toBe("still written");
    expect(readJsonl(join(dir, "audit.jsonl")).map((line) => line.description)).toEqual(["still written"]);
    expect(readOwnEntries(dir).map((line) => line.action)).toEqual(["START"]);
    expect(logger.stats().errors.write).toBeGreaterThan(0);
    logger.log("and the next one");
    expect(readOwnEntries(dir).map((line) => line.action)).toEqual(["START"]);
  });
});
