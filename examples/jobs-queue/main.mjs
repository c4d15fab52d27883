/**
 * Queue jobs (BullMQ style) keep the audit context of the request that
 * enqueued them: the producer puts RequestContext.get() into the job data,
 * the worker's processor runs inside RequestContext.run(job.data.auditContext).
 *
 *   npm run build && node examples/jobs-queue/main.mjs
 *
 * With BullMQ, import { Queue, Worker } from "bullmq" instead of the
 * in-memory stand-in and pass a Redis `connection`; nothing else changes.
 * AUDITX_LOG_DIR sets the trail folder (default ./logs).
 */
import { AuditAction, audit, BusinessModule, configure, RequestContext } from "auditx";
import { Queue, Worker } from "./memoryQueue.mjs";

configure({ logDir: process.env.AUDITX_LOG_DIR ?? "logs" });

const reports = new Queue("reports");

/** Wraps a processor so that it runs in the context the job was enqueued with. */
function withAuditContext(processor) {
  return (job) => RequestContext.run(job.data.auditContext ?? {}, () => processor(job));
}

const worker = new Worker(
  "reports",
  withAuditContext(async (job) => {
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
    audit.log(`Report ${job.data.report} exported`, {
      module: BusinessModule.REPORTING,
      action: AuditAction.EXPORT,
      referenceNo: `EXP-${job.id}`,
      metadata: { job_id: job.id, format: job.data.format },
    });
    return { rows: 120 };
  }),
  { concurrency: 3 },
);

// Three requests by different users, each enqueuing an export (as a route would, inside its request scope).
const users = [
  { user: "aye", userRole: "accountant", branchId: "BR-YGN", requestId: "req-export-1" },
  { user: "min", userRole: "sales_manager", branchId: "BR-MDY", requestId: "req-export-2" },
  { user: "hla", userRole: "auditor", branchId: "BR-NPT", requestId: "req-export-3" },
];
const done = new Promise((resolve) => {
  let left = users.length;
  worker.on("completed", (job) => {
    console.log(`job ${job.id} (${job.data.report}) done for ${job.data.auditContext.user}`);
    if (--left === 0) resolve();
  });
  worker.on("failed", (job, error) => console.error(`job ${job.id} failed: ${error.message}`));
});

await Promise.all(
  users.map((context, i) =>
    RequestContext.run(context, async () => {
      const report = ["sales-by-branch", "stock-aging", "ar-aging"][i];
      audit.log(`Report ${report} export requested`, { module: BusinessModule.REPORTING, action: AuditAction.EXPORT });
      await reports.add("export", { report, format: "xlsx", auditContext: RequestContext.get() });
    }),
  ),
);

await done;
await worker.close();
await reports.close();
await audit.shutdown();
