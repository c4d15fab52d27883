import type { Context } from "@opentelemetry/api";
import type { LogRecordProcessor, SdkLogRecord } from "@opentelemetry/sdk-logs";
import { isAuditxRecord } from "../entry/otel.js";

/**
 * Passes only auditx records to the processor it wraps, so that auditx's own
 * OTLP path, inside a provider shared with the rest of a service, does not
 * export that service's other logs a second time.
 */
export class AuditRecordFilter implements LogRecordProcessor {
  private shutdownDone?: Promise<void>;

  constructor(private readonly inner: LogRecordProcessor) {}

  onEmit(record: SdkLogRecord, context?: Context): void {
    if (isAuditxRecord(record)) this.inner.onEmit(record, context);
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  /** Idempotent: every call waits for the first, so the trail files can close after it. */
  shutdown(): Promise<void> {
    this.shutdownDone ??= this.inner.shutdown();
    return this.shutdownDone;
  }
}
