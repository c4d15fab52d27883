/**
 * A service-department API on Fastify with the auditx plugin: bearer tokens
 * resolve to technicians in a preHandler guard, each request is audited, and
 * job changes are written as service entries.
 *
 *   npm run build && node examples/fastify-service/server.mjs
 *
 * PORT (default 3001; 0 picks a free one), HOST (default 127.0.0.1),
 * AUDITX_LOG_DIR (default ./logs). Try:
 *
 *   curl -X POST localhost:3001/jobs -H 'Authorization: Bearer tok-kyaw' \
 *        -H 'content-type: application/json' -d '{"customerId":"C-100","serviceType":"installation"}'
 */
import { AuditAction, createLogger, RequestContext } from "auditx";
import { auditPlugin } from "auditx/fastify";
import Fastify from "fastify";

const logger = createLogger({ logDir: process.env.AUDITX_LOG_DIR ?? "logs", serviceName: "service-desk" });

// Tokens of the service desk's staff (a real service would verify a JWT here).
const STAFF = new Map([
  ["tok-kyaw", { user: "kyaw", userRole: "technician", companyId: "CO-001", branchId: "BR-MDY" }],
  ["tok-su", { user: "su", userRole: "service_manager", companyId: "CO-001", branchId: "BR-MDY" }],
]);
const jobs = new Map();
let jobSeq = 0;

const app = Fastify({ trustProxy: process.env.TRUST_PROXY === "1" });
await app.register(auditPlugin, { logger, excludePaths: ["/healthz"] });

app.get("/healthz", async () => ({ ok: true }));

// The guard runs after the plugin's onRequest hook: the user it sets is in the completion entry.
app.addHook("preHandler", async (request, reply) => {
  if (request.routeOptions.url === "/healthz") return;
  const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? "")?.[1];
  const staff = token && STAFF.get(token);
  if (!staff) {
    logger.logSecurity("Service desk call with an unknown token", { action: AuditAction.LOGIN, success: false });
    return reply.code(401).send({ error: "unknown token" });
  }
  RequestContext.update(staff);
});

const jobBody = {
  type: "object",
  required: ["customerId"],
  properties: { customerId: { type: "string", maxLength: 64 }, serviceType: { type: "string", maxLength: 64 } },
};

app.get("/jobs", async () => [...jobs.values()]);

app.post("/jobs", { schema: { body: jobBody } }, async (request, reply) => {
  const job = { id: `SJ-${String(++jobSeq).padStart(4, "0")}`, ...request.body, status: "open", technician: null };
  jobs.set(job.id, job);
  logger.logService("Service job opened", {
    action: AuditAction.CREATE,
    jobId: job.id,
    customerId: job.customerId,
    serviceType: job.serviceType ?? "repair",
    statusLabel: "open",
  });
  return reply.code(201).send(job);
});

app.post("/jobs/:id/assign", async (request, reply) => {
  const job = jobs.get(request.params.id);
  if (!job) return reply.code(404).send({ error: "no such job" });
  const before = { status: job.status, technician: job.technician };
  Object.assign(job, { status: "assigned", technician: RequestContext.get().user });
  logger.logChange("Service job assigned", {
    module: "service",
    action: AuditAction.UPDATE,
    entityType: "service_job",
    entityId: job.id,
    oldValues: before,
    newValues: { status: job.status, technician: job.technician },
  });
  return job;
});

app.post("/jobs/:id/complete", async (request, reply) => {
  const job = jobs.get(request.params.id);
  if (!job) return reply.code(404).send({ error: "no such job" });
  if (job.technician !== RequestContext.get().user)
    throw Object.assign(new Error("only the assigned technician can complete a job"), { statusCode: 403 });
  job.status = "completed";
  logger.logService("Service job completed", {
    action: AuditAction.UPDATE,
    jobId: job.id,
    technician: job.technician,
    statusLabel: "completed",
  });
  return job;
});

await app.listen({ port: Number(process.env.PORT ?? 3001), host: process.env.HOST ?? "127.0.0.1" });
const { address, port } = app.server.address();
console.log(`service desk listening on http://${address}:${port}`);

async function stop() {
  await app.close();
  await logger.shutdown();
  process.exit(0);
}
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
