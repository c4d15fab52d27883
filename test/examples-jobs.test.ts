/** examples/jobs-worker-threads: a job carries the RequestContext snapshot of the request that started it to a worker thread (the queue example needs Redis: test/services). */
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
});
