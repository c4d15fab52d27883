/**
 * Process exit with the OTLP path on, in child processes running the built
 * package: a service whose collector is down exits when its work is done
 * (the exporter's retry waits do not hold it), and one whose collector is up
 * still delivers its last batch without calling shutdown().
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DIST_INDEX, rawLines, readJsonl, readOwnEntries, tempDir } from "./support/core-trail.js";
import { OtlpReceiver } from "./support/otlp-receiver.js";

let dir: string;
let cleanup: () => void;
let receiver: OtlpReceiver;

beforeEach(async () => {
  ({ dir, cleanup } = tempDir("auditx-otlp-exit-"));
  receiver = await new OtlpReceiver().start();
});
afterEach(async () => {
  await receiver.stop();
  cleanup();
});

/** Logs `count` entries and lets the process end by itself (no flush, no shutdown). */
function runService(url: string, count: number): Promise<{ code: number | null; millis: number; stderr: string }> {
  const script = `
    import { createLogger } from ${JSON.stringify(DIST_INDEX)};
    const logger = createLogger({ logDir: ${JSON.stringify(dir)}, otlp: { url: ${JSON.stringify(url)}, timeoutMillis: 60000, flushTimeoutMillis: 60000 } });
    for (let i = 0; i < ${count}; i++) logger.logTransaction("Invoice " + i, { amount: i });
  `;
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const killer = setTimeout(() => child.kill("SIGKILL"), 45_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(killer);
      resolve({ code, millis: Date.now() - started, stderr });
    });
  });
}

describe("process exit with OTLP on", () => {
  it("exits when the work is done although the collector is down, with the trail whole and the stall in app.log", async () => {
    const url = receiver.url;
    await receiver.stop();
    const result = await runService(url, 10);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    // With waits that held the process, its five retries with backoff would keep it ~13 s; it exits well before.
    expect(result.millis).toBeLessThan(8_000);
    expect(readJsonl(join(dir, "audit.jsonl"))).toHaveLength(10);
    // The logger's lifecycle: START before the first entry, STOP written on the exit path.
    expect(readOwnEntries(dir).map((line) => [line.action, line.description])).toEqual([
      ["START", expect.stringMatching(/^auditx .* started, OTLP export on to http:\/\/127\.0\.0\.1:\d+\/v1\/logs$/)],
      ["STOP", "auditx stopped (process exit)"],
    ]);
    const report = rawLines(join(dir, "app.log")).find((line) => line.includes("otlp"));
    expect(report).toMatch(/retrying with 11 records pending \(last error: .*ECONNREFUSED/);
  });

  it("delivers the last batch on a normal exit when the collector is up", async () => {
    const result = await runService(receiver.url, 25);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const bodies = receiver.records.map((record) => record.body as string);
    // START goes out with the last batch; STOP is written on the exit path, after the last export.
    expect(bodies.filter((body) => !body.startsWith("auditx "))).toEqual(Array.from({ length: 25 }, (_, i) => `Invoice ${i}`));
    expect(bodies[0]).toMatch(/^auditx .* started/);
  });
});
