/**
 * A service that already runs the OpenTelemetry NodeSDK: auditx's processors
 * join the SDK's LoggerProvider (no second provider), and the audit API
 * emits into it. Audit records get the SDK's resource and the active span's
 * trace context; auditx's own OTLP path ships only the audit records.
 *
 *   npm run build
 *   OTEL_SERVICE_NAME=erp-api OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 \
 *     node examples/otel-sdk/node-sdk-service.mjs
 *
 * AUDITX_LOG_DIR sets the trail folder (default ./logs).
 */
import { trace } from "@opentelemetry/api";
import { logs, SeverityNumber } from "@opentelemetry/api-logs";
import { NodeSDK } from "@opentelemetry/sdk-node";
import { AuditAction, audit, BusinessModule, configure, createAuditProcessors, RequestContext } from "auditx";

// 1. auditx's processors: trail files, plus OTLP export of the audit records
//    (the default endpoint and headers come from OTEL_EXPORTER_OTLP_*).
const auditProcessors = createAuditProcessors({
  logDir: process.env.AUDITX_LOG_DIR ?? "logs",
  otlp: true,
});

// 2. They go into the SDK's pipeline beside any processors of the service.
const sdk = new NodeSDK({
  serviceName: process.env.OTEL_SERVICE_NAME ?? "erp-api",
  logRecordProcessors: [...auditProcessors],
});
sdk.start();

// 3. The audit API emits into the SDK's provider.
configure({ loggerProvider: logs.getLoggerProvider(), processors: auditProcessors });

// The service's own logs share the provider; auditx leaves them alone.
logs.getLogger("erp-api").emit({ severityNumber: SeverityNumber.INFO, body: "service started" });

await trace.getTracer("erp-api").startActiveSpan("POST /api/invoices", async (span) => {
  await RequestContext.run(
    { user: "admin", userRole: "manager", companyId: "CO-001", branchId: "BR-YGN", ip: "192.168.1.10" },
    async () => {
      audit.logTransaction("Sales invoice posted", {
        module: BusinessModule.SALES,
        action: AuditAction.POST,
        referenceNo: "SI-2026-0042",
        amount: 1_250_000,
        entityType: "sales_invoice",
        entityId: "inv-42",
        party: "Golden Trading Co.",
      });
      audit.logSecurity("Login failed", { action: AuditAction.LOGIN, user: "mallory", success: false });
    },
  );
  span.end();
});
audit.info("invoice batch done");

// Drain auditx (trail and OTLP) and the SDK before exiting.
await audit.flush();
console.log(JSON.stringify(audit.stats()));
await sdk.shutdown();
