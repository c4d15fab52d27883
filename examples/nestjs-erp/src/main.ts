/**
 * An ERP API on NestJS (Express platform) with auditx: AuditModule audits
 * every request, `@Audit` writes the business entries of invoices and credit
 * limits, a guard sets the user, and the live audit viewer is at /audit/.
 *
 *   npm run build && npx tsc -p examples/nestjs-erp && node examples/nestjs-erp/dist/main.js
 *
 * PORT (default 3000; 0 picks a free one), HOST (default 127.0.0.1),
 * AUDITX_LOG_DIR (default ./logs) and TRUST_PROXY=1 configure it. Try:
 *
 *   curl -X PATCH localhost:3000/api/customers/C-200/credit-limit -H 'X-User: thida' -H 'X-Role: manager' \
 *        -H 'X-Branch: BR-YGN' -H 'content-type: application/json' -d '{"creditLimit":900000}'
 *
 * then open http://127.0.0.1:3000/audit/
 */
import "reflect-metadata";
import type { AddressInfo } from "node:net";
import { NestFactory } from "@nestjs/core";
import type { NestExpressApplication } from "@nestjs/platform-express";
import { audit } from "auditx";
import { mountAuditViewer } from "auditx/web";
import { AppModule } from "./app.module.js";

const app = await NestFactory.create<NestExpressApplication>(AppModule, { logger: ["error", "warn"] });
app.set("trust proxy", process.env.TRUST_PROXY === "1");

// The viewer is an Express router: mounted on Nest's Express instance. AuditModule configured `audit` already.
const viewer = mountAuditViewer(app.getHttpAdapter().getInstance(), {
  logDir: audit.logDir,
  prefix: "/audit",
  realtime: true,
  logger: audit,
});

await app.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? "127.0.0.1");
const server = app.getHttpServer();
viewer.attach(server); // the viewer's WebSocket route
const { address, port } = server.address() as AddressInfo;
console.log(`ERP API listening on http://${address}:${port}`);
console.log(`audit viewer: http://${address}:${port}/audit/`);

async function stop(): Promise<void> {
  server.closeAllConnections();
  await app.close(); // AuditModule flushes the trail here
  await viewer.close();
  await audit.shutdown();
  process.exit(0);
}
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
