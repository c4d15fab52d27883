import type { Context } from "@opentelemetry/api";
import type { LogRecordProcessor, SdkLogRecord } from "@opentelemetry/sdk-logs";
import type { AuditEntry } from "../api/AuditEntry.js";
import { entryFromLogRecord, streamOfRecord } from "../api/entrySchema.js";
import { EMIT_SLOT, type EmitSlot } from "../internal/emitSlot.js";
import { isAuditxRecord } from "./recordFilter.js";

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
  ) {}

  onEmit(record: SdkLogRecord, context?: Context): void {
    const slot = context?.getValue(EMIT_SLOT) as EmitSlot | undefined;
    let entry: AuditEntry;
    if (slot) {
      if (slot.kind !== "audit") return;
      entry = slot.entry;
    } else {
      if (!isAuditxRecord(record) || streamOfRecord(record) === "app") return;
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

  /** Waits for callbacks still running (an async onAudit writing to a database, say). */
  async forceFlush(): Promise<void> {
    await Promise.all(this.pending);
  }

  async shutdown(): Promise<void> {
    await this.forceFlush();
  }
}
