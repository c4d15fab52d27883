/**
 * A service with its own LoggerProvider and its own log exporter: auditx's
 * processors are added to that provider and the audit API emits into it
 * with configure({ loggerProvider }). The service's exporter ships every
 * record, audit records included, so auditx's own OTLP path stays off.
 *
 *   npm run build
 *   OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 node examples/otel-sdk/own-provider-service.mjs
 *
 * AUDITX_LOG_DIR sets the trail folder (default ./logs).
 */
import { logs, SeverityNumber } from "@opentelemetry/api-logs";
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchLogRecordProcessor, LoggerProvider } from "@opentelemetry/sdk-logs";
import { AuditAction, BusinessModule, createAuditProcessors, createLogger } from "auditx";

const auditProcessors = createAuditProcessors({ logDir: process.env.AUDITX_LOG_DIR ?? "logs" });

const provider = new LoggerProvider({
  resource: resourceFromAttributes({ "service.name": "inventory-service", "deployment.environment.name": "production" }),
  processors: [
    // auditx first: a record is in the trail before any exporter sees it.
    ...auditProcessors,
    new BatchLogRecordProcessor({ exporter: new OTLPLogExporter() }),
  ],
});
logs.setGlobalLoggerProvider(provider);

// An audit logger of its own that emits into the service's provider.
const audit = createLogger({ loggerProvider: provider, processors: auditProcessors });

logs.getLogger("inventory-service").emit({ severityNumber: SeverityNumber.INFO, severityText: "INFO", body: "stock sync started" });
audit.logInventory("Stock adjusted after count", {
  module: BusinessModule.INVENTORY,
  action: AuditAction.ADJUST,
  productId: "P-1001",
  productName: "Copper wire 2.5mm",
  quantity: -12,
  unit: "roll",
  warehouseId: "WH-YGN-1",
  user: "store.keeper",
});
audit.logChange("Reorder level changed", {
  entityType: "product",
  entityId: "P-1001",
  oldValues: { reorder_level: 20 },
  newValues: { reorder_level: 35 },
  user: "store.manager",
});

await audit.flush();
console.log(JSON.stringify(audit.stats()));
// The provider is the service's: shutting it down drains its exporter and auditx's files.
await provider.shutdown();
