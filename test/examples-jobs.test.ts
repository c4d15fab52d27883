/** examples/jobs-*: a job carries the RequestContext snapshot of the request that started it, to a worker thread or through a queue. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir } from "./support/core-trail.js";
import { runExample } from "./support/integration-example.js";
import { auditEntries } from "./support/integration-trail.js";

let dir: string;
let cleanup: () => void;
beforeEach(() => {
  ({ dir, cleanup } = tempDir("auditx-example-jobs-"));
});
afterEach(() => cleanup());

async function runToEnd(path: string) {
  const run = runExample(path, dir);
  const exit = await run.exited;
  expect(exit, run.stderr).toEqual({ code: 0, signal: null });
  return run;
}

describe("job context examples", () => {
  it("worker_threads: the worker's entries carry the user, branch, ip and request id of their request", async () => {
    await runToEnd("examples/jobs-worker-threads/main.mjs");
    const closed = auditEntries(dir).filter((entry) => String(entry.description).startsWith("Accounting period"));
    expect(closed).toHaveLength(2);
    const byBranch = Object.fromEntries(closed.map((entry) => [entry.branch_id, entry]));
    expect(byBranch["BR-YGN"]).toMatchObject({
      user: "aye",
      request_id: "req-close-ygn",
      ip: "192.168.1.10",
      reference_no: "CLOSE-2026-10-BR-YGN",
    });
    expect(byBranch["BR-MDY"]).toMatchObject({
      user: "min",
      request_id: "req-close-mdy",
      ip: "192.168.2.20",
      reference_no: "CLOSE-2026-10-BR-MDY",
    });
    // Written by two other threads than the main one.
    const threads = new Set(closed.map((entry) => (entry.metadata as { thread_id: number }).thread_id));
    expect(threads.size).toBe(2);
    expect(threads.has(0)).toBe(false);
  });

  it("queue: each exported report is audited under the user who enqueued it", async () => {
    const run = await runToEnd("examples/jobs-queue/main.mjs");
    expect(run.stdout.match(/done for/g)).toHaveLength(3);
    const exported = auditEntries(dir).filter((entry) => String(entry.description).endsWith(" exported"));
    expect(exported.map((entry) => [entry.description, entry.user, entry.request_id, entry.branch_id]).sort()).toEqual(
      [
        ["Report ar-aging exported", "hla", "req-export-3", "BR-NPT"],
        ["Report sales-by-branch exported", "aye", "req-export-1", "BR-YGN"],
        ["Report stock-aging exported", "min", "req-export-2", "BR-MDY"],
      ].sort(),
    );
  });
});
