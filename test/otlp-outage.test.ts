/**
 * A collector that is down, hangs or answers 5xx never touches the log
 * calls or the trail; memory stays bounded, failures and drops are counted
 * and reported (rate limited) in app.log, shutdown() returns within its
 * timeout, and records flow again once the collector is back.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AuditLogger, createLogger, type OtlpOptions } from "../src/index.js";
import { rawLines, tempDir } from "./support/core-trail.js";
import { eventually } from "./support/eventually.js";
import { OtlpReceiver } from "./support/otlp-receiver.js";

let dir: string;
let cleanup: () => void;
let receiver: OtlpReceiver;
let logger: AuditLogger | undefined;

beforeEach(async () => {
  ({ dir, cleanup } = tempDir("auditx-otlp-outage-"));
  receiver = await new OtlpReceiver().start();
});
afterEach(async () => {
  await logger?.shutdown();
  logger = undefined;
  await receiver.stop();
  cleanup();
});

function open(otlp: OtlpOptions): AuditLogger {
  logger = createLogger({ auditLifecycle: false, logDir: dir, otlp: { url: receiver.url, scheduledDelayMillis: 20, ...otlp } });
  return logger;
}

function otlpLines(): string[] {
  return rawLines(join(dir, "app.log")).filter((line) => line.includes("otlp"));
}

/** Every record handed to the OTLP path is in exactly one bucket. */
function expectAccounted(l: AuditLogger, total: number): void {
  const stats = l.stats().otlp;
  expect(stats).toBeDefined();
  if (!stats) return;
  expect(stats.exported + stats.failed + stats.dropped + stats.pending).toBe(total);
}

describe("OTLP outage", () => {
  it("keeps the trail whole with the collector down, counts the failures, reports once, and recovers", async () => {
    await receiver.stop();
    const l = open({ timeoutMillis: 300 });
    for (let i = 0; i < 40; i++) l.logTransaction(`down ${i}`, { amount: i });
    // The trail has every record the moment the calls return.
    expect(rawLines(join(dir, "audit.jsonl"))).toHaveLength(40);
    await l.flush();
    await eventually(() => (l.stats().otlp?.failed ?? 0) === 40, 15_000, "40 failed records");
    for (let i = 0; i < 40; i++) l.log(`still down ${i}`);
    await l.flush();
    await eventually(() => (l.stats().otlp?.failed ?? 0) === 80, 15_000, "80 failed records");
    const stats = l.stats().otlp;
    expect(stats).toMatchObject({ exported: 0, failed: 80, dropped: 0, pending: 0 });
    expect(stats?.lastError).toMatch(/ECONNREFUSED|connect/i);
    // Rate limited: one report for the first failures, the rest wait for the interval.
    const lines = otlpLines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("not exported");
    expect(lines[0]).toContain(receiver.url);

    await receiver.start();
    for (let i = 0; i < 10; i++) l.log(`back ${i}`);
    await l.flush();
    await receiver.waitForRecords(10);
    expect(receiver.records.map((record) => record.body)).toEqual(Array.from({ length: 10 }, (_, i) => `back ${i}`));
    expect(l.stats().otlp).toMatchObject({ exported: 10, failed: 80, dropped: 0, pending: 0 });
    expect(rawLines(join(dir, "audit.jsonl"))).toHaveLength(90);
  });

  it("sums the failures of an interval into one app.log line", async () => {
    await receiver.stop();
    const l = open({ timeoutMillis: 200, reportIntervalMillis: 400, maxExportBatchSize: 10 });
    for (let i = 0; i < 30; i++) l.log(`first ${i}`);
    await l.flush();
    await eventually(() => otlpLines().length === 1, 15_000, "the first report");
    for (let i = 0; i < 30; i++) l.log(`second ${i}`);
    await l.flush();
    await eventually(() => (l.stats().otlp?.failed ?? 0) === 60, 15_000, "60 failed records");
    // Failures after the first report wait for the interval, then come as one line with their sum.
    await eventually(() => otlpLines().length === 2, 15_000, "the second report");
    const [first, second] = otlpLines();
    const notExported = (line: string | undefined) => Number(/(\d+) records not exported/.exec(line ?? "")?.[1]);
    expect(notExported(first) + notExported(second)).toBe(60);
    expect(second).toContain("totals exported 0, failed 60, dropped 0");
  });

  it("does not wait through the exporter's backoff: flush() returns once the collector refuses, shutdown() makes a last attempt", async () => {
    await receiver.stop();
    // Timeouts far beyond the ~13 s the exporter's five retries take, so only not waiting for them explains a quick return.
    const l = open({ timeoutMillis: 60_000, exportTimeoutMillis: 60_000, flushTimeoutMillis: 60_000 });
    for (let i = 0; i < 12; i++) l.log(`refused ${i}`);
    const flushStarted = Date.now();
    await l.flush();
    expect(Date.now() - flushStarted).toBeLessThan(8_000);
    expect(l.stats().otlp).toMatchObject({ exported: 0, failed: 0, pending: 12 });
    expect(l.stats().otlp?.lastError).toMatch(/ECONNREFUSED/);
    await eventually(() => otlpLines().some((line) => line.includes("retrying with 12 records pending")), 15_000, "the stall report");

    const shutdownStarted = Date.now();
    await l.shutdown();
    logger = undefined;
    expect(Date.now() - shutdownStarted).toBeLessThan(8_000);
    expect(l.stats().otlp).toMatchObject({ exported: 0, failed: 12, dropped: 0, pending: 0 });
    expect(rawLines(join(dir, "audit.jsonl"))).toHaveLength(12);
  });

  it("counts 5xx answers as failures after the exporter's retries", async () => {
    receiver.mode = "fail";
    const l = open({ timeoutMillis: 400 });
    for (let i = 0; i < 5; i++) l.log(`rejected ${i}`);
    await l.flush();
    await eventually(() => (l.stats().otlp?.failed ?? 0) === 5, 15_000, "5 failed records");
    expect(receiver.rejected).toBeGreaterThanOrEqual(1);
    expect(l.stats().otlp?.exported).toBe(0);
    expectAccounted(l, 5);
    receiver.mode = "ok";
    l.log("accepted again");
    await l.flush();
    await receiver.waitForRecords(1);
    expect(l.stats().otlp).toMatchObject({ exported: 1, failed: 5 });
  });

  it("bounds memory when the collector hangs: the queue stops at maxQueueSize and the rest is counted as dropped", async () => {
    receiver.mode = "hang";
    const l = open({
      maxQueueSize: 100,
      maxExportBatchSize: 50,
      timeoutMillis: 60_000,
      exportTimeoutMillis: 60_000,
      flushTimeoutMillis: 200,
    });
    const total = 1000;
    for (let i = 0; i < total; i++) l.log(`flood ${i}`, { metadata: { i } });
    expect(rawLines(join(dir, "audit.jsonl"))).toHaveLength(total);
    const stats = l.stats().otlp;
    expect(stats?.pending).toBe(100);
    expect(stats?.dropped).toBe(total - 100);
    expectAccounted(l, total);
    // The drops are reported in app.log, once.
    await eventually(() => otlpLines().length > 0, 15_000, "a drop report");
    expect(otlpLines()[0]).toContain("900 records dropped");
  });

  it("returns from flush() and shutdown() within flushTimeoutMillis while the collector hangs", async () => {
    receiver.mode = "hang";
    const l = open({ timeoutMillis: 30_000, exportTimeoutMillis: 30_000, flushTimeoutMillis: 300, reportIntervalMillis: 100 });
    for (let i = 0; i < 20; i++) l.log(`hanging ${i}`);
    const started = Date.now();
    await l.flush();
    // The receiver never answers: returning at all proves the bound; the clock only checks it is the flush timeout, not the export's.
    expect(Date.now() - started).toBeLessThan(10_000);
    await eventually(() => receiver.rejected > 0, 15_000, "the hanging request");
    const shutdownStarted = Date.now();
    await l.shutdown();
    logger = undefined;
    expect(Date.now() - shutdownStarted).toBeLessThan(10_000);
    const appLog = readFileSync(join(dir, "app.log"), "utf8");
    expect(appLog).toMatch(/gave up after 300 ms with 20 records pending/);
    expect(rawLines(join(dir, "audit.jsonl"))).toHaveLength(20);
    // The export given up on ends later (the collector goes away): counted, but nothing is written after shutdown returned.
    await receiver.stop();
    await eventually(() => l.stats().otlp?.pending === 0, 15_000, "the hanging export to end");
    expect(l.stats().otlp).toMatchObject({ exported: 0, failed: 20, pending: 0 });
    // Past the report interval (100 ms), when a failure would be reported.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(readFileSync(join(dir, "app.log"), "utf8")).toBe(appLog);
  });

  it("makes a second shutdown() wait for the first to end (a signal handler and the app's own close)", async () => {
    receiver.mode = "hang";
    const l = open({ timeoutMillis: 30_000, exportTimeoutMillis: 30_000, flushTimeoutMillis: 1_500 });
    for (let i = 0; i < 5; i++) l.log(`closing ${i}`);
    await eventually(() => receiver.rejected > 0, 15_000, "the hanging request");
    const ended: string[] = [];
    const first = l.shutdown().then(() => ended.push("first"));
    const second = l.shutdown().then(() => ended.push("second"));
    await new Promise((resolve) => setTimeout(resolve, 500));
    // The export still hangs: neither call has returned.
    expect(ended).toEqual([]);
    await Promise.all([first, second]);
    logger = undefined;
    expect(ended).toEqual(["first", "second"]);
    // What the first shutdown wrote (the give-up report) is in app.log by the time the second returns.
    expect(readFileSync(join(dir, "app.log"), "utf8")).toMatch(/gave up after 1500 ms with 5 records pending/);
  });
});
