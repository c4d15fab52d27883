/**
 * An ERP API on Express with request auditing, a header-based auth guard and
 * the live audit viewer at /audit.
 *
 *   npm run build && node examples/express-erp/server.mjs
 *
 * PORT (default 3000; 0 picks a free one), HOST (default 127.0.0.1) and
 * AUDITX_LOG_DIR (default ./logs) configure it. Try:
 *
 *   curl -X POST localhost:3000/api/invoices -H 'X-User: aye' -H 'X-Role: cashier' \
 *        -H 'X-Company: CO-001' -H 'X-Branch: BR-YGN' -H 'content-type: application/json' \
 *        -d '{"customerId":"C-100","amount":250000}'
 *
 * then open http://127.0.0.1:3000/audit/
 */
import { createServer } from "node:http";
import { AuditAction, audit, BusinessModule, configure, RequestContext } from "auditx";
import { auditErrorHandler, auditMiddleware } from "auditx/express";
import { mountAuditViewer } from "auditx/web";
import express from "express";

const logDir = process.env.AUDITX_LOG_DIR ?? "logs";
configure({ logDir });

// ---- an in-memory ERP ------------------------------------------------------
const customers = new Map([
  ["C-100", { id: "C-100", name: "Golden Trading Co.", creditLimit: 1_000_000, balance: 0 }],
  ["C-200", { id: "C-200", name: "Shwe Electronics", creditLimit: 300_000, balance: 250_000 }],
]);
const invoices = new Map();
const stock = new Map([["P-001", { id: "P-001", name: "Air conditioner 1.5HP", byWarehouse: { "WH-YGN": 40, "WH-MDY": 5 } }]]);
const serviceJobs = new Map();
let invoiceSeq = 0;
let jobSeq = 0;

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// ---- the app -----------------------------------------------------------------
const app = express();
app.set("trust proxy", process.env.TRUST_PROXY === "1");

// 1. Audit every request (the viewer's own routes included: reading the trail is itself audited).
app.use(auditMiddleware({ excludePaths: ["/healthz", "/favicon.ico"] }));

// 2. The audit viewer, live over WebSocket/SSE.
const viewer = mountAuditViewer(app, { logDir, prefix: "/audit", realtime: true, logger: audit });

app.use(express.json());
app.get("/healthz", (_req, res) => res.json({ ok: true }));

// 3. The auth guard runs after the audit middleware: what it sets reaches the completion entry.
const ROLES = new Set(["manager", "cashier", "storekeeper", "technician"]);
app.use("/api", (req, _res, next) => {
  const user = req.get("x-user");
  const role = req.get("x-role");
  if (!user || !ROLES.has(role)) {
    audit.logSecurity("API call without valid credentials", { action: AuditAction.LOGIN, success: false, user: user || "anonymous" });
    return next(new HttpError(401, "X-User and a known X-Role are required"));
  }
  RequestContext.update({ user, userRole: role, companyId: req.get("x-company"), branchId: req.get("x-branch") });
  next();
});

function requireRole(...roles) {
  return (_req, _res, next) => {
    const { user, userRole } = RequestContext.get();
    if (roles.includes(userRole)) return next();
    audit.logSecurity(`Permission denied for ${user} (${userRole})`, { action: AuditAction.READ, success: false, level: "WARNING" });
    next(new HttpError(403, `requires role ${roles.join(" or ")}`));
  };
}

function positiveAmount(value, name) {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new HttpError(400, `${name} must be a positive number`);
  return number;
}

// Customers with credit limits.
app.get("/api/customers", (_req, res) => res.json([...customers.values()]));
app.patch("/api/customers/:id/credit-limit", requireRole("manager"), (req, res) => {
  const customer = customers.get(req.params.id);
  if (!customer) throw new HttpError(404, "no such customer");
  const creditLimit = positiveAmount(req.body?.creditLimit, "creditLimit");
  audit.logChange(`Credit limit of ${customer.name} changed`, {
    module: BusinessModule.CRM,
    action: AuditAction.UPDATE,
    entityType: "customer",
    entityId: customer.id,
    oldValues: { credit_limit: customer.creditLimit },
    newValues: { credit_limit: creditLimit },
  });
  customer.creditLimit = creditLimit;
  res.json(customer);
});

// Sales invoices, refused past the customer's credit limit.
app.post("/api/invoices", requireRole("manager", "cashier"), (req, res) => {
  const customer = customers.get(req.body?.customerId);
  if (!customer) throw new HttpError(404, "no such customer");
  const amount = positiveAmount(req.body?.amount, "amount");
  if (customer.balance + amount > customer.creditLimit) {
    audit.logTransaction("Sales invoice refused: credit limit exceeded", {
      level: "WARNING",
      module: BusinessModule.SALES,
      action: AuditAction.REJECT,
      entityType: "customer",
      entityId: customer.id,
      amount,
      party: customer.name,
      success: false,
      metadata: { balance: customer.balance, credit_limit: customer.creditLimit },
    });
    throw new HttpError(422, "credit limit exceeded");
  }
  const invoice = { id: `SI-2026-${String(++invoiceSeq).padStart(4, "0")}`, customerId: customer.id, amount, status: "posted" };
  invoices.set(invoice.id, invoice);
  customer.balance += amount;
  audit.logTransaction("Sales invoice posted", {
    module: BusinessModule.SALES,
    action: AuditAction.POST,
    entityType: "sales_invoice",
    entityId: invoice.id,
    referenceNo: invoice.id,
    amount,
    party: customer.name,
  });
  res.status(201).json(invoice);
});
app.post("/api/invoices/:id/void", requireRole("manager"), (req, res) => {
  const invoice = invoices.get(req.params.id);
  if (!invoice) throw new HttpError(404, "no such invoice");
  if (invoice.status === "void") throw new HttpError(409, "already void");
  invoice.status = "void";
  customers.get(invoice.customerId).balance -= invoice.amount;
  audit.logTransaction("Sales invoice voided", {
    module: BusinessModule.SALES,
    action: AuditAction.VOID,
    entityType: "sales_invoice",
    entityId: invoice.id,
    referenceNo: invoice.id,
    amount: invoice.amount,
    metadata: { reason: String(req.body?.reason ?? "") },
  });
  res.json(invoice);
});

// Stock moves between warehouses.
app.post("/api/stock-moves", requireRole("manager", "storekeeper"), (req, res) => {
  const { productId, from, to } = req.body ?? {};
  const product = stock.get(productId);
  if (!product) throw new HttpError(404, "no such product");
  const quantity = positiveAmount(req.body?.quantity, "quantity");
  if ((product.byWarehouse[from] ?? 0) < quantity) throw new HttpError(409, `not enough stock in ${from}`);
  product.byWarehouse[from] -= quantity;
  product.byWarehouse[to] = (product.byWarehouse[to] ?? 0) + quantity;
  audit.logInventory(`Stock transfer ${from} -> ${to}`, {
    action: AuditAction.TRANSFER,
    productId,
    productName: product.name,
    quantity,
    unit: "pcs",
    warehouseId: from,
    metadata: { to_warehouse: to },
  });
  res.status(201).json(product);
});

// Service jobs.
app.post("/api/service-jobs", requireRole("manager", "technician"), (req, res) => {
  const job = { id: `SJ-${String(++jobSeq).padStart(4, "0")}`, customerId: String(req.body?.customerId ?? ""), status: "open" };
  serviceJobs.set(job.id, job);
  audit.logService("Service job opened", {
    action: AuditAction.CREATE,
    jobId: job.id,
    customerId: job.customerId,
    serviceType: String(req.body?.serviceType ?? "repair"),
    statusLabel: "open",
  });
  res.status(201).json(job);
});
app.post("/api/service-jobs/:id/complete", requireRole("technician"), (req, res) => {
  const job = serviceJobs.get(req.params.id);
  if (!job) throw new HttpError(404, "no such service job");
  job.status = "completed";
  audit.logService("Service job completed", {
    action: AuditAction.UPDATE,
    jobId: job.id,
    customerId: job.customerId,
    technician: RequestContext.get().user,
    statusLabel: "completed",
  });
  res.json(job);
});

// 4. After the routes: record errors for the completion entry, then answer them.
app.use(auditErrorHandler());
app.use((error, _req, res, _next) => {
  const status = error instanceof HttpError ? error.status : (error.status ?? 500);
  res.status(status).json({ error: status >= 500 ? "internal error" : error.message });
});

const server = createServer(app);
viewer.attach(server); // the viewer's WebSocket route
server.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? "127.0.0.1", () => {
  const { address, port } = server.address();
  console.log(`ERP API listening on http://${address}:${port}`);
  console.log(`audit viewer: http://${address}:${port}/audit/`);
});

async function stop() {
  server.closeAllConnections();
  server.close();
  await viewer.close();
  await audit.shutdown();
  process.exit(0);
}
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
