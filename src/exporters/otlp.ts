import type { LogRecordProcessor } from "@opentelemetry/sdk-logs";
import type { OtlpOptions } from "../api/options.js";

/** What the OTLP path has done since start, for `logger.stats()`. */
export interface OtlpExportStats {
  exported: number;
  failed: number;
  dropped: number;
  lastError?: string;
}

export interface OtlpProcessorHandle {
  processor: LogRecordProcessor;
  stats(): OtlpExportStats;
}

/** Whether OTLP export is on: the option, else OTEL_LOGS_EXPORTER=otlp. */
export function isOtlpEnabled(option: boolean | OtlpOptions | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  if (option !== undefined) return option !== false;
  return (env.OTEL_LOGS_EXPORTER ?? "").split(",").some((name) => name.trim() === "otlp");
}

/** Placeholder until the OTLP path lands: a processor that exports nothing. */
export function createOtlpProcessor(_option: true | OtlpOptions, _report: (message: string) => void): OtlpProcessorHandle {
  const stats: OtlpExportStats = { exported: 0, failed: 0, dropped: 0 };
  return {
    processor: { onEmit() {}, forceFlush: async () => {}, shutdown: async () => {} },
    stats: () => ({ ...stats }),
  };
}
