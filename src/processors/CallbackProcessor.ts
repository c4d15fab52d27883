import type { Context } from "@opentelemetry/api";
import type { LogRecordProcessor, SdkLogRecord } from "@opentelemetry/sdk-logs";
import type { AuditEntry } from "../entry/AuditEntry.js";
import { Stream } from "../entry/attributes.js";
import { entryFromLogRecord, isAuditxRecord, isCheckpointRecord, streamOfRecord } from "../entry/otel.js";
import { carriedRecord } from "./RecordCarrier.js";

/** How long flush and shutdown wait for async callbacks: within the SDK's 30 s forceFlush timeout, so flush() reports rather than rejects. */
const SETTLE_TIMEOUT_MS = 20_000;

/**
 * Calls the user's `onAudit` with every audit entry once it is in the trail.
 * Isolated: a throw or a rejected promise never reaches the caller; it is
 * reported (app.log) and counted.
 */
export class CallbackProcessor implements LogRecordProcessor {
  errors = 0;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly onAudit: (entry: AuditEntry) => unknown,
    private readonly report: (source: string, error: unknown) => void,
    private readonly settleTimeoutMs = SETTLE_TIMEOUT_MS,
  ) {}

  onEmit(record: SdkLogRecord, context?: Context): void {
    const carried = carriedRecord(context);
    let entry: AuditEntry;
    if (carried) {
      if (carried.kind !== "audit") return;
      entry = carried.entry;
    } else {
      if (!isAuditxRecord(record) || isCheckpointRecord(record) || streamOfRecord(record) === Stream.APP) return;
      entry = entryFromLogRecord(record);
    }
    try {
      const result = this.onAudit(entry);
      if (result && typeof (result as Promise<unknown>).then === "function") {
        const promise = Promise.resolve(result).then(undefined, (error: unknown) => this.fail(error));
        this.pending.add(promise);
        promise.finally(() => this.pending.delete(promise));
      }
    } catch (error) {
      this.fail(error);
    }
  }

  private fail(error: unknown): void {
    this.errors++;
    this.report("onAudit", error);
  }

  /**
   * Waits for callbacks still running (an async onAudit writing to a database,
   * say), at most `settleTimeoutMs`: one that never settles must not hang
   * flush() or shutdown().
   */
  async forceFlush(): Promise<void> {
    if (this.pending.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), this.settleTimeoutMs);
      timer.unref();
    });
    const late = await Promise.race([Promise.all(this.pending).then(() => false), timedOut]);
    clearTimeout(timer);
    if (late) this.report("onAudit", new Error(`${this.pending.size} callback(s) still running after ${this.settleTimeoutMs} ms`));
  }

  async shutdown(): Promise<void> {
    await this.forceFlush();
  }
}
