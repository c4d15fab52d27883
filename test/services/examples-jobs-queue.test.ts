/**
 * examples/jobs-queue on a real Redis with BullMQ: the API enqueues jobs
 * carrying the request's context, a worker in a process of its own runs them,
 * and its entries carry the user, branch, IP and request id of the request
 * that enqueued each job; a failing job is written as such, attempt by attempt.
 */
import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/core-trail.js";
import { eventually } from "../support/eventually.js";
import { type RunningExample, startExample } from "../support/integration-example.js";
import { auditEntries, type TrailEntry } from "../support/integration-trail.js";
import { requireRedis } from "../support/redis.js";

const QUEUE = `auditx-test-reports-${randomUUID().slice(0, 8)}`;

let dir: string;
let cleanup: () => void;
let redisUrl: string;
let api: RunningExample;
let apiPid: number;
let workerPid: number;

beforeAll(async () => {
  redisUrl = await requireRedis();
  ({ dir, cleanup } = tempDir("auditx-example-queue-"));
  api = await startExample("examples/jobs-queue/server.mjs", dir, { REDIS_URL: redisUrl, REPORTS_QUEUE: QUEUE, TRUST_PROXY: "1" });
  await eventually(() => /report worker \d+ ready/.test(api.stdout), 20_000, "the worker process to be ready");
  apiPid = Number(/report API (\d+) listening/.exec(api.stdout)?.[1]);
  workerPid = Number(/report worker (\d+) ready/.exec(api.stdout)?.[1]);
});
afterAll(async () => {
  api?.stop();
  await api?.exited;
  if (redisUrl) {
    const queue = new Queue(QUEUE, { connection: { url: redisUrl } });
    await queue.obliterate({ force: true });
    await queue.close();
  }
  cleanup?.();
});

const requests = [
  { user: "aye", branch: "BR-YGN", ip: "192.168.1.10", requestId: "req-export-1", report: "sales-by-branch" },
  { user: "min", branch: "BR-MDY", ip: "192.168.2.20", requestId: "req-export-2", report: "stock-aging" },
  { user: "hla", branch: "BR-NPT", ip: "192.168.3.30", requestId: "req-export-3", report: "ar-aging" },
  { user: "su", branch: "BR-YGN", ip: "192.168.1.99", requestId: "req-export-4", report: "general-ledger" },
];

interface JobState {
  jobId: string;
  state: string;
  failedReason?: string;
  attemptsMade: number;
}

async function enqueue(request: (typeof requests)[number]): Promise<string> {
  const response = await fetch(`${api.url}/reports`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "X-User": request.user,
      "X-Role": "accountant",
      "X-Branch": request.branch,
      "X-Forwarded-For": request.ip,
      "X-Request-ID": request.requestId,
    },
    body: JSON.stringify({ report: request.report, format: "xlsx" }),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { jobId: string }).jobId;
}

async function settled(jobId: string): Promise<JobState> {
  return eventually(
    async () => {
      const state = (await (await fetch(`${api.url}/reports/${jobId}`, { headers: { "X-User": "poller" } })).json()) as JobState;
      return state.state === "completed" || state.state === "failed" ? state : undefined;
    },
    30_000,
    `job ${jobId} to settle`,
  );
}

describe("examples/jobs-queue (BullMQ on Redis, worker in its own process)", () => {
  it("writes each job's entries under the user, branch, IP and request id of the request that enqueued it", async () => {
    expect(workerPid).toBeGreaterThan(0);
    expect(workerPid).not.toBe(apiPid);
    const jobIds = await Promise.all(requests.map(enqueue));
    const states = await Promise.all(jobIds.map(settled));
    expect(states.map((state) => state.state)).toEqual(["completed", "completed", "completed", "failed"]);
    expect(states[3]).toMatchObject({ failedReason: "ledger is locked for period close", attemptsMade: 2 });

    await eventually(() => auditEntries(dir).filter((entry) => entry.module === "reporting").length >= 9, 10_000, "the jobs' entries");
    const entries = auditEntries(dir).filter((entry) => entry.module === "reporting");
    for (const [i, request] of requests.entries()) {
      const fromRequest = {
        user: request.user,
        user_role: "accountant",
        branch_id: request.branch,
        ip: request.ip,
        request_id: request.requestId,
        method: "POST",
        endpoint: "/reports",
      };
      expect(entries.find((entry) => entry.description === `Report ${request.report} export requested`)).toMatchObject(fromRequest);
      const written = entries.filter((entry) => (entry.metadata as { job_id?: string } | undefined)?.job_id === jobIds[i]);
      // Written by the worker process, not by the API that enqueued the job.
      for (const entry of written) expect(entry.metadata).toMatchObject({ pid: workerPid, queue: QUEUE });
      if (request.report !== "general-ledger") {
        expect(written).toEqual([
          expect.objectContaining({ ...fromRequest, description: `Report ${request.report} exported`, success: true, level: "AUDIT" }),
        ]);
      } else {
        const failure = (attempt: number, final: boolean): TrailEntry =>
          expect.objectContaining({
            ...fromRequest,
            level: "ERROR",
            success: false,
            description: `Job export #${jobIds[i]} on ${QUEUE} failed: ledger is locked for period close`,
            metadata: expect.objectContaining({ attempt, attempts: 2, final, error: "ledger is locked for period close" }),
          });
        expect(written).toEqual([failure(1, false), failure(2, true)]);
      }
    }
  });

  it("stops the API and its worker cleanly on SIGTERM", async () => {
    api.child.kill("SIGTERM");
    expect(await api.exited).toEqual({ code: 0, signal: null });
    expect(() => process.kill(workerPid, 0)).toThrow();
  });
});
