/** The worker thread: restores the request's context, then does the job and audits it. */
import { parentPort, threadId, workerData } from "node:worker_threads";
import { AuditAction, audit, BusinessModule, configure, RequestContext } from "auditx";

configure({ logDir: workerData.logDir });
const { period, auditContext } = workerData.job;

await RequestContext.run(auditContext, async () => {
  // ... the long work: post accruals, lock the period ...
  audit.logTransaction(`Accounting period ${period} closed`, {
    module: BusinessModule.ACCOUNTING,
    action: AuditAction.POST,
    referenceNo: `CLOSE-${period}-${auditContext.branchId}`,
    metadata: { thread_id: threadId },
  });
  parentPort.postMessage({ period, branchId: RequestContext.get().branchId, threadId });
});
await audit.shutdown();
