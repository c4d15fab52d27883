import type { Context } from "@opentelemetry/api";
import type { LogRecordProcessor, SdkLogRecord } from "@opentelemetry/sdk-logs";

/**
 * Runs a processor given in `options.processors` so that its errors never
 * reach the caller (the SDK lets a throw in onEmit out of `emit()`, after the
 * trail line is written): counted, and reported once, since a broken sink
 * would otherwise add a line to app.log per record.
 */
export class ContainedProcessor implements LogRecordProcessor {
  errors = 0;

  constructor(
    private readonly inner: LogRecordProcessor,
    private readonly report: (source: string, error: unknown) => void,
  ) {}

  onEmit(record: SdkLogRecord, context?: Context): void {
    try {
      this.inner.onEmit(record, context);
    } catch (error) {
      if (this.errors++ === 0) this.report(`processor ${this.inner.constructor?.name || "(anonymous)"}`, error);
    }
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}
