/**
 * The report worker: a process of its own, taking export jobs from Redis with
 * BullMQ. Each job runs in the RequestContext of the request that enqueued it
 * (the snapshot in job.data.auditContext), so its entries name that request's
 * user, branch, IP and request id; a failed attempt is written as such.
 *
 *   npm run build && node examples/jobs-queue/worker.mjs
 *
 * REDIS_URL (default redis://127.0.0.1:6379), REPORTS_QUEUE (default "reports")
 * and AUDITX_LOG_DIR (default ./logs) configure it.
 */
import { AuditAction, audit, BusinessModule, configure, LogLevel, RequestContext } from "auditx";
import { Worker } from "bullmq";
import { connection, REPORTS_QUEUE } from "./reports-queue.mjs";

configure({ logDir: process.env.AUDITX_LOG_DIR ?? "logs" });

/**
 * Wraps a BullMQ processor: it runs in the context the job was enqueued with,
 * and a failed attempt is audited (ERROR, success false, the error, which
 * attempt, whether BullMQ will retry) before the error goes back to BullMQ.
 */
function withAuditContext(processor) {
  return (job) =>
    RequestContext.run(job.data.auditContext ?? {}, async () => {
      try {
        return await processor(job);
      } catch (error) {
        const attempt = job.attemptsMade + 1;
        const attempts = job.opts.attempts ?? 1;
        audit.log(`Job ${job.name} #${job.id} on ${job.queueName} failed: ${error.message}`, {
          level: LogLevel.ERROR,
          module: BusinessModule.REPORTING,
          action: AuditAction.EXPORT,
          success: false,
          metadata: {
            queue: job.queueName,
            job_id: job.id,
            attempt,
            attempts,
            final: attempt >= attempts,
            error: error.message,
            pid: process.pid,
          },
        });
        throw error;
      }
    });
}

async function exportReport(job) {
  await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20));
  if (job.data.report === "general-ledger") throw new Error("ledger is locked for period close");
  audit.log(`Report ${job.data.report} exported`, {
    module: BusinessModule.REPORTING,
    action: AuditAction.EXPORT,
    referenceNo: `EXP-${job.id}`,
    metadata: { queue: job.queueName, job_id: job.id, format: job.data.format, rows: 120, pid: process.pid },
  });
  return { rows: 120 };
}

const worker = new Worker(REPORTS_QUEUE, withAuditContext(exportReport), { connection, concurrency: 3 });
worker.on("error", (error) => console.error(`worker: ${error.message}`));
await worker.waitUntilReady();
console.log(`report worker ${process.pid} ready on queue ${REPORTS_QUEUE}`);

async function stop() {
  await worker.close();
  await audit.shutdown();
  process.exit(0);
}
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
