/**
 * An ERP customer API on Express and TypeORM whose credit-limit changes are
 * audited where they happen, in the data layer (auditx/typeorm): no
 * hand-written logChange beside the update. The auditor's question "who
 * changed this credit limit, from which branch, when?" is answered from the
 * trail (GET /api/customers/:code/credit-limit-history) and in the viewer's
 * entity history (/audit/, or /audit/api/entries?entity_type=Customer&entity_id=…).
 *
 *   npm run build && node examples/orm-credit-limit/server.mjs
 *
 * DATABASE_URL names a PostgreSQL database (otherwise a SQLite file in the
 * log folder); PORT (default 3000; 0 picks a free one), HOST (default
 * 127.0.0.1) and AUDITX_LOG_DIR (default ./logs). Try:
 *
 *   curl -X PATCH localhost:3000/api/customers/C-100/credit-limit -H 'X-User: thida' -H 'X-Role: manager' \
 *        -H 'X-Branch: BR-YGN' -H 'content-type: application/json' -d '{"creditLimit":1500000}'
 *   curl localhost:3000/api/customers/C-100/credit-limit-history -H 'X-User: auditor' -H 'X-Role: auditor'
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { AuditAction, audit, configure, RequestContext } from "auditx";
import { auditErrorHandler, auditMiddleware } from "auditx/express";
import { auditTypeOrm } from "auditx/typeorm";
import { mountAuditViewer } from "auditx/web";
import express from "express";
import { DataSource, EntitySchema } from "typeorm";

const logDir = process.env.AUDITX_LOG_DIR ?? "logs";
configure({ logDir });

// ---- the data layer: TypeORM, audited ----------------------------------------
const postgres = Boolean(process.env.DATABASE_URL);
const Customer = new EntitySchema({
  name: "Customer",
  tableName: "erp_customers",
  columns: {
    id: { type: Number, primary: true, generated: true },
    code: { type: String, unique: true },
    name: { type: String },
    creditLimit: { type: "decimal", precision: 14, scale: 2, name: "credit_limit" },
    updatedAt: { type: postgres ? "timestamptz" : "datetime", name: "updated_at", updateDate: true },
  },
});
const dataSource = postgres
  ? new DataSource({ type: "postgres", url: process.env.DATABASE_URL, entities: [Customer], synchronize: true })
  : new DataSource({ type: "better-sqlite3", database: join(logDir, "erp.sqlite"), entities: [Customer], synchronize: true });
auditTypeOrm(dataSource, {
  // Credit limits are audit-critical: a change whose entry cannot be written fails the request.
  entities: { Customer: { module: "sales", critical: true, referenceNo: (row) => row.code } },
});
await dataSource.initialize();
const customers = dataSource.getRepository(Customer);
if ((await customers.countBy({ code: "C-100" })) === 0) {
  await RequestContext.run({ user: "setup", userRole: "system" }, () =>
    customers.insert([
      { code: "C-100", name: "Golden Trading Co.", creditLimit: 1_000_000 },
      { code: "C-200", name: "Shwe Electronics", creditLimit: 300_000 },
    ]),
  );
}

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// ---- the app -----------------------------------------------------------------
const app = express();
app.use(auditMiddleware({ excludePaths: ["/favicon.ico"] }));
const viewer = mountAuditViewer(app, { logDir, prefix: "/audit", logger: audit });
app.use(express.json());

const ROLES = new Set(["manager", "clerk", "auditor"]);
app.use("/api", (req, _res, next) => {
  const user = req.get("x-user");
  const role = req.get("x-role");
  if (!user || !ROLES.has(role)) return next(new HttpError(401, "X-User and a known X-Role are required"));
  RequestContext.update({ user, userRole: role, companyId: req.get("x-company") ?? "CO-001", branchId: req.get("x-branch") });
  next();
});

async function customerByCode(code) {
  const customer = await customers.findOneBy({ code });
  if (!customer) throw new HttpError(404, `no customer ${code}`);
  return customer;
}

app.get("/api/customers/:code", async (req, res) => {
  res.json(await customerByCode(req.params.code));
});

// The change itself: one ORM call. The adapter reads the row before it (in the same transaction,
// under a row lock) and writes the entry with the old and new limit once the transaction committed.
app.patch("/api/customers/:code/credit-limit", async (req, res) => {
  const { user, userRole } = RequestContext.get();
  if (userRole !== "manager") {
    audit.logSecurity(`Credit limit change refused for ${user} (${userRole})`, {
      action: AuditAction.UPDATE,
      success: false,
      level: "WARNING",
    });
    throw new HttpError(403, "only a manager may change a credit limit");
  }
  const creditLimit = Number(req.body?.creditLimit);
  if (!Number.isFinite(creditLimit) || creditLimit < 0) throw new HttpError(400, "creditLimit must be a number >= 0");
  const customer = await customerByCode(req.params.code);
  await customers.update({ id: customer.id }, { creditLimit });
  res.json(await customerByCode(req.params.code));
});

// The auditor's question, answered from the trail: every committed credit-limit change of one customer.
app.get("/api/customers/:code/credit-limit-history", async (req, res) => {
  const customer = await customerByCode(req.params.code);
  const changes = readFileSync(join(logDir, "audit.jsonl"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line))
    .filter(
      (entry) => entry.entity_type === "Customer" && entry.entity_id === String(customer.id) && entry.new_values?.creditLimit !== undefined,
    )
    .map((entry) => ({
      when: entry.timestamp,
      who: entry.user,
      role: entry.user_role,
      branch: entry.branch_id,
      from: entry.old_values?.creditLimit ?? null,
      to: entry.new_values.creditLimit,
      requestId: entry.request_id,
      entryId: entry.id,
    }));
  res.json({ customer: customer.code, entityId: String(customer.id), changes });
});

app.use(auditErrorHandler());
app.use((error, _req, res, _next) => {
  res.status(error.status ?? 500).json({ error: error.status ? error.message : "internal error" });
});

const server = createServer(app);
viewer.attach(server);
server.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? "127.0.0.1", () => {
  const { address, port } = server.address();
  console.log(`ERP customer API listening on http://${address}:${port} (viewer at /audit/)`);
});

async function stop() {
  server.closeAllConnections();
  server.close();
  await viewer.close();
  await dataSource.destroy();
  await audit.shutdown();
  process.exit(0);
}
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
