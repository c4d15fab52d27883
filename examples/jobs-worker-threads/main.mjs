/**
 * A request hands a long job to a worker thread: the request's audit context
 * (RequestContext.get(), a plain object) travels with the job, and the worker
 * restores it with RequestContext.run(), so the job's entries name the user,
 * branch and request id of the request that started it.
 *
 *   npm run build && node examples/jobs-worker-threads/main.mjs
 *
 * AUDITX_LOG_DIR sets the trail folder (default ./logs).
 */
import { Worker } from "node:worker_threads";
import { AuditAction, audit, BusinessModule, configure, RequestContext } from "auditx";

const logDir = process.env.AUDITX_LOG_DIR ?? "logs";
configure({ logDir });

/** Runs one job in a worker thread and resolves with its answer. */
function runInWorker(job) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./close-period.worker.mjs", import.meta.url), { workerData: { logDir, job } });
    worker.once("message", resolve);
    worker.once("error", reject);
    worker.once("exit", (code) => code === 0 || reject(new Error(`worker exited with ${code}`)));
  });
}

// Two requests at once, as an audit middleware and an auth guard would scope them.
const requests = [
  {
    user: "aye",
    userRole: "accountant",
    companyId: "CO-001",
    branchId: "BR-YGN",
    requestId: "req-close-ygn",
    ip: "192.168.1.10",
    period: "2026-10",
  },
  {
    user: "min",
    userRole: "accountant",
    companyId: "CO-001",
    branchId: "BR-MDY",
    requestId: "req-close-mdy",
    ip: "192.168.2.20",
    period: "2026-10",
  },
];

const results = await Promise.all(
  requests.map(({ period, ...context }) =>
    RequestContext.run(context, async () => {
      audit.log(`Period close ${period} requested`, { module: BusinessModule.ACCOUNTING, action: AuditAction.CREATE });
      // The snapshot is plain data: it crosses the thread boundary with the job.
      return runInWorker({ period, auditContext: RequestContext.get() });
    }),
  ),
);

for (const result of results) console.log(`closed ${result.period} for ${result.branchId} in thread ${result.threadId}`);
await audit.shutdown();
