/**
 * The sales service of the example: invoices and credit limits, audited into
 * its own log folder (on its own host, in a real deployment).
 *
 *   AUDITX_LOG_DIR=logs/sales PORT=0 node examples/multi-service-store/sales-service.mjs
 */
import { createServer } from "node:http";
import { AuditAction, BusinessModule, createLogger, RequestContext } from "auditx";
import { readJson, reply, userOf } from "./http.mjs";

const audit = createLogger({ logDir: process.env.AUDITX_LOG_DIR ?? "logs/sales", serviceName: "sales-api", hostname: "sales-01" });
const customers = new Map([["C-100", { name: "Golden Trading Co.", creditLimit: 1_000_000, balance: 0 }]]);
let invoiceSeq = 0;

const server = createServer(async (request, response) => {
  const user = userOf(request);
  await RequestContext.run({ ...user, ip: request.socket.remoteAddress, method: request.method, endpoint: request.url }, async () => {
    const body = await readJson(request);
    if (request.method === "POST" && request.url === "/invoices") {
      const customer = customers.get(body.customerId);
      if (!customer) return reply(response, 404, { error: "no such customer" });
      const referenceNo = `SI-2026-${String(++invoiceSeq).padStart(4, "0")}`;
      customer.balance += body.amount;
      audit.logTransaction(`Sales invoice ${referenceNo} posted`, {
        module: BusinessModule.SALES,
        action: AuditAction.POST,
        referenceNo,
        amount: body.amount,
        entityType: "sales_invoice",
        entityId: referenceNo,
        party: customer.name,
      });
      return reply(response, 201, { referenceNo });
    }
    const limit = /^\/customers\/([\w-]+)\/credit-limit$/.exec(request.url ?? "");
    if (request.method === "PATCH" && limit) {
      const customer = customers.get(limit[1]);
      if (!customer) return reply(response, 404, { error: "no such customer" });
      const before = customer.creditLimit;
      customer.creditLimit = body.creditLimit;
      audit.logChange(`Credit limit of ${customer.name} changed`, {
        module: BusinessModule.CRM,
        entityType: "customer",
        entityId: limit[1],
        oldValues: { credit_limit: before },
        newValues: { credit_limit: body.creditLimit },
      });
      return reply(response, 200, { creditLimit: customer.creditLimit });
    }
    reply(response, 404, { error: "not found" });
  });
});

server.listen(Number(process.env.PORT ?? 3001), "127.0.0.1", () => {
  console.log(`sales-api listening on http://127.0.0.1:${server.address().port}`);
});
process.on("SIGTERM", () => server.close(() => audit.shutdown().then(() => process.exit(0))));
