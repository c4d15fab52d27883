/**
 * Report exports on a real queue: an HTTP API enqueues BullMQ jobs carrying
 * the request's audit context, and a worker process (worker.mjs) runs them
 * under that context.
 *
 *   npm run build && node examples/jobs-queue/server.mjs
 *
 * It starts worker.mjs as a separate process too (START_WORKER=0 to run the
 * worker yourself). Needs Redis: REDIS_URL (default redis://127.0.0.1:6379).
 * PORT (default 3002; 0 picks a free one), HOST (default 127.0.0.1),
 * REPORTS_QUEUE (default "reports"), AUDITX_LOG_DIR (default ./logs),
 * TRUST_PROXY=1 (believe X-Forwarded-For). Try:
 *
 *   curl -X POST localhost:3002/reports -H 'X-User: aye' -H 'X-Branch: BR-YGN' \
 *        -H 'content-type: application/json' -d '{"report":"ar-aging","format":"xlsx"}'
 *   curl localhost:3002/reports/1 -H 'X-User: aye'
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { AuditAction, audit, BusinessModule, configure, RequestContext } from "auditx";
import { createAuditedServer } from "auditx/http";
import { Queue } from "bullmq";
import { connection, REPORTS_QUEUE } from "./reports-queue.mjs";

configure({ logDir: process.env.AUDITX_LOG_DIR ?? "logs" });

const reports = new Queue(REPORTS_QUEUE, { connection });

function send(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

async function readJson(req) {
  let text = "";
  req.setEncoding("utf8");
  for await (const chunk of req) text += chunk;
  try {
    return JSON.parse(text || "{}");
  } catch {
    return undefined;
  }
}

async function handle(req, res) {
  // The auth guard: the user it sets is part of the context every job carries.
  const user = req.headers["x-user"];
  if (!user) return send(res, 401, { error: "X-User is required" });
  RequestContext.update({ user, userRole: req.headers["x-role"], companyId: req.headers["x-company"], branchId: req.headers["x-branch"] });

  const path = (req.url ?? "/").split("?")[0];
  if (req.method === "POST" && path === "/reports") {
    const body = await readJson(req);
    if (typeof body?.report !== "string" || body.report === "") return send(res, 400, { error: "report is required" });
    audit.log(`Report ${body.report} export requested`, { module: BusinessModule.REPORTING, action: AuditAction.EXPORT });
    // The snapshot is plain JSON: it travels to the worker inside the job's data.
    const job = await reports.add(
      "export",
      { report: body.report, format: String(body.format ?? "xlsx"), auditContext: RequestContext.get() },
      { attempts: 2, backoff: { type: "fixed", delay: 50 }, removeOnComplete: 1000, removeOnFail: 1000 },
    );
    return send(res, 202, { jobId: job.id });
  }
  const match = /^\/reports\/([^/]+)$/.exec(path);
  if (req.method === "GET" && match) {
    const jobId = decodeURIComponent(match[1]);
    // The state first: once it is final, the job read after it is final too.
    const state = await reports.getJobState(jobId);
    const job = await reports.getJob(jobId);
    if (state === "unknown" || !job) return send(res, 404, { error: "no such job" });
    return send(res, 200, {
      jobId: job.id,
      state,
      result: job.returnvalue,
      failedReason: job.failedReason,
      attemptsMade: job.attemptsMade,
    });
  }
  send(res, 404, { error: "not found" });
}

const server = createAuditedServer(handle, { trustProxy: process.env.TRUST_PROXY === "1" });

// The worker is a process of its own, as in production; it inherits REDIS_URL, REPORTS_QUEUE and AUDITX_LOG_DIR.
const worker =
  process.env.START_WORKER === "0"
    ? undefined
    : spawn(process.execPath, [new URL("./worker.mjs", import.meta.url).pathname], { stdio: ["ignore", "inherit", "inherit"] });

server.listen(Number(process.env.PORT ?? 3002), process.env.HOST ?? "127.0.0.1", () => {
  const { address, port } = server.address();
  console.log(`report API ${process.pid} listening on http://${address}:${port}`);
});

async function stop() {
  server.closeAllConnections();
  server.close();
  if (worker && worker.exitCode === null) {
    worker.kill("SIGTERM");
    await once(worker, "exit");
  }
  await reports.close();
  await audit.shutdown();
  process.exit(0);
}
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
