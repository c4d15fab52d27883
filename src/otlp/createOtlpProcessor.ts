import { getStringFromEnv } from "@opentelemetry/core";
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-http";
import type { LogRecordProcessor } from "@opentelemetry/sdk-logs";
import { sendAmountsAsDouble } from "./AmountAsDoubleSerializer.js";
import { OtlpExportProcessor, type OtlpExportStats } from "./OtlpExportProcessor.js";
import type { OtlpSettings } from "./settings.js";
import { unrefExporterRetries } from "./UnrefRetryingTransport.js";

export interface OtlpProcessorHandle {
  processor: LogRecordProcessor;
  stats(): OtlpExportStats;
}

/**
 * The protocol asked for by OTEL_EXPORTER_OTLP_[LOGS_]PROTOCOL when it is one
 * auditx cannot honour: it sends OTLP/HTTP JSON, which every OTLP/HTTP
 * receiver accepts beside http/protobuf, but a gRPC endpoint does not.
 */
function unsupportedProtocol(): string | undefined {
  const protocol = (getStringFromEnv("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL") ?? getStringFromEnv("OTEL_EXPORTER_OTLP_PROTOCOL"))?.trim();
  return protocol === undefined || protocol === "" || protocol.startsWith("http/") ? undefined : protocol;
}

/**
 * The OTLP/HTTP (JSON) path: OTLPLogExporter behind a bounded, counted
 * BatchLogRecordProcessor. `report` receives failure summaries (rate
 * limited) for app.log.
 */
export function createOtlpProcessor(settings: OtlpSettings, reportRaw: (message: string) => void): OtlpProcessorHandle {
  // Every message about the OTLP path passes through here: no configured secret reaches app.log.
  const report = (message: string) => reportRaw(settings.scrubber.scrub(message));
  const protocol = unsupportedProtocol();
  if (protocol !== undefined) {
    report(`OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} is not supported for audit records; they go as OTLP/HTTP JSON to ${settings.endpoint}`);
  }
  const exporter = new OTLPLogExporter(settings.exporterConfig);
  if (!sendAmountsAsDouble(exporter)) report("auditx.amount goes as the OTel JS transformer types it (intValue when whole)");
  const transport = unrefExporterRetries(exporter);
  const processor = new OtlpExportProcessor({
    exporter,
    endpoint: settings.endpoint,
    maxQueueSize: settings.maxQueueSize,
    maxExportBatchSize: settings.maxExportBatchSize,
    scheduledDelayMillis: settings.scheduledDelayMillis,
    exportTimeoutMillis: settings.exportTimeoutMillis,
    flushTimeoutMillis: settings.flushTimeoutMillis,
    reportIntervalMillis: settings.reportIntervalMillis,
    report,
    scrub: (text) => settings.scrubber.scrub(text),
    stopRetrying: transport ? () => transport.stopRetrying() : undefined,
  });
  if (transport) transport.onBackoff = (error) => processor.deliveryStalled(error);
  return { processor, stats: () => processor.stats() };
}
