import { type ExportResult, ExportResultCode } from "@opentelemetry/core";
import {
  BatchLogRecordProcessor,
  type LogRecordExporter,
  type LogRecordProcessor,
  type ReadableLogRecord,
  type SdkLogRecord,
} from "@opentelemetry/sdk-logs";

/** What the OTLP path has done since start, for `logger.stats()`. */
export interface OtlpExportStats {
  /** Records the collector accepted. */
  exported: number;
  /** Records whose export failed (collector down, 5xx after retries, timeout). */
  failed: number;
  /** Records never sent: the queue was full (the collector could not keep up) or the path was shut down. */
  dropped: number;
  /** Records queued or in flight right now (at most maxQueueSize). */
  pending: number;
  /** The logs endpoint records go to. */
  endpoint: string;
  lastError?: string;
  /** ISO time of the last failure. */
  lastErrorAt?: string;
  /** ISO time of the last accepted export. */
  lastExportAt?: string;
}

export interface OtlpExportProcessorOptions {
  exporter: LogRecordExporter;
  /** Where records go, for stats and messages. */
  endpoint: string;
  maxQueueSize: number;
  maxExportBatchSize: number;
  scheduledDelayMillis: number;
  exportTimeoutMillis: number;
  /** Longest forceFlush()/shutdown() wait, even when the collector hangs. */
  flushTimeoutMillis: number;
  /** Shortest interval between two failure reports. */
  reportIntervalMillis: number;
  /** Writes one line about the OTLP path (to app.log); must not throw. */
  report: (message: string) => void;
  /** Removes configured secrets from error texts (they come from the network and the exporter). */
  scrub?: (text: string) => string;
  /** Ends the exporter's retry waits (at shutdown). */
  stopRetrying?: () => void;
}

const MAX_ERROR_TEXT = 300;

function errorText(error: unknown, scrub?: (text: string) => string): string {
  let text = error instanceof Error ? error.message || error.name : String(error);
  if (scrub) text = scrub(text);
  // One line of bounded size: the text comes from the network.
  return text.replace(/[\r\n\t]+/g, " ").slice(0, MAX_ERROR_TEXT);
}

function records(count: number): string {
  return count === 1 ? "1 record" : `${count} records`;
}

/** Resolves after `millis` without keeping the process alive. */
function delay(millis: number): { promise: Promise<"timeout">; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), millis);
    timer.unref();
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/**
 * auditx's OTLP path: a BatchLogRecordProcessor that groups records, and a
 * delivery queue that sends the batches to the OTLP exporter one at a time,
 * made observable and bounded. The SDK's batch processor alone drops
 * silently when its queue is full and its flush waits as long as the
 * collector does; here every record is accounted for (exported, failed,
 * dropped or pending), no more than maxQueueSize records are held, failures
 * reach app.log at most once per interval, and forceFlush() and shutdown()
 * return within flushTimeoutMillis whatever the collector does (sooner when
 * it refuses). Nothing here ever throws into a log call.
 */
export class OtlpExportProcessor implements LogRecordProcessor {
  private readonly batch: BatchLogRecordProcessor;
  private readonly delivery: DeliveryQueue;
  private readonly options: OtlpExportProcessorOptions;
  private readonly counts = { exported: 0, failed: 0, dropped: 0, pending: 0 };
  private lastError?: string;
  private lastErrorAt?: number;
  private lastExportAt?: number;
  private closed = false;
  /** Failures and drops not yet reported, and when the last report went out. */
  private unreported = { failed: 0, dropped: 0, stalled: false };
  private lastReportAt = Number.NEGATIVE_INFINITY;
  private reportTimer?: NodeJS.Timeout;

  constructor(options: OtlpExportProcessorOptions) {
    this.options = options;
    this.delivery = new DeliveryQueue(options.exporter, options.exportTimeoutMillis, (count, result) => this.settled(count, result));
    this.batch = new BatchLogRecordProcessor({
      exporter: this.delivery,
      maxQueueSize: options.maxQueueSize,
      maxExportBatchSize: options.maxExportBatchSize,
      scheduledDelayMillis: options.scheduledDelayMillis,
      exportTimeoutMillis: options.exportTimeoutMillis,
    });
  }

  onEmit(record: SdkLogRecord): void {
    // Records held here (queued or in flight) never exceed maxQueueSize, so the
    // batch processor, whose queue is a subset of them, never drops one unseen.
    if (this.closed || this.counts.pending >= this.options.maxQueueSize) {
      this.counts.dropped++;
      this.unreported.dropped++;
      this.scheduleReport();
      return;
    }
    this.counts.pending++;
    try {
      this.batch.onEmit(record);
    } catch (error) {
      this.settled(1, { code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) });
    }
  }

  forceFlush(): Promise<void> {
    return this.bounded("flush", () => this.batch.forceFlush());
  }

  shutdown(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    // Final: one attempt per remaining batch, no waiting through backoff.
    this.options.stopRetrying?.();
    return this.bounded("shutdown", () => this.batch.shutdown()).finally(() => this.reportNow());
  }

  /**
   * The collector refused an attempt and the exporter waits to retry: a
   * flush in progress returns now instead of waiting through the backoff
   * (delivery goes on in the background; the trail has every record).
   */
  deliveryStalled(error?: Error): void {
    this.delivery.stall();
    this.lastError = errorText(error ?? "the collector did not take the records", this.options.scrub);
    this.lastErrorAt = Date.now();
    this.unreported.stalled = true;
    this.scheduleReport();
  }

  stats(): OtlpExportStats {
    const stats: OtlpExportStats = { ...this.counts, endpoint: this.options.endpoint };
    if (this.lastError !== undefined) stats.lastError = this.lastError;
    if (this.lastErrorAt !== undefined) stats.lastErrorAt = new Date(this.lastErrorAt).toISOString();
    if (this.lastExportAt !== undefined) stats.lastExportAt = new Date(this.lastExportAt).toISOString();
    return stats;
  }

  /** Runs a flush that resolves within flushTimeoutMillis and never rejects. */
  private async bounded(what: string, run: () => Promise<void>): Promise<void> {
    const timer = delay(this.options.flushTimeoutMillis);
    try {
      const outcome = await Promise.race([run().then(() => "done" as const), timer.promise]);
      if (outcome === "timeout") {
        this.safeReport(
          `${what} of the OTLP export to ${this.options.endpoint} gave up after ${this.options.flushTimeoutMillis} ms ` +
            `with ${this.counts.pending} records pending`,
        );
      }
    } catch (error) {
      this.safeReport(`${what} of the OTLP export to ${this.options.endpoint}: ${errorText(error, this.options.scrub)}`);
    } finally {
      timer.cancel();
    }
  }

  /** An export finished (or was given up on): count it, and report failures. */
  private settled(count: number, result: ExportResult): void {
    this.counts.pending = Math.max(0, this.counts.pending - count);
    if (result.code === ExportResultCode.SUCCESS) {
      this.counts.exported += count;
      this.lastExportAt = Date.now();
      return;
    }
    this.counts.failed += count;
    this.unreported.failed += count;
    this.lastError = errorText(result.error ?? "export failed", this.options.scrub);
    this.lastErrorAt = Date.now();
    this.scheduleReport();
  }

  /**
   * Reports soon (a burst is summed into one line) if the last report is old
   * enough, else once the interval has passed; never from inside a log call.
   */
  private scheduleReport(): void {
    if (this.reportTimer) return;
    const wait = Math.max(0, this.lastReportAt + this.options.reportIntervalMillis - Date.now());
    this.reportTimer = setTimeout(() => {
      this.reportTimer = undefined;
      this.reportNow();
    }, wait);
    // A report due now may hold the process for that one turn; one waiting out the interval must not.
    if (wait > 0) this.reportTimer.unref();
  }

  private reportNow(): void {
    if (this.reportTimer) {
      clearTimeout(this.reportTimer);
      this.reportTimer = undefined;
    }
    const { failed, dropped, stalled } = this.unreported;
    if (failed === 0 && dropped === 0 && !stalled) return;
    this.unreported = { failed: 0, dropped: 0, stalled: false };
    this.lastReportAt = Date.now();
    const parts: string[] = [];
    if (failed > 0) parts.push(`${records(failed)} not exported (last error: ${this.lastError})`);
    else if (stalled) parts.push(`retrying with ${records(this.counts.pending)} pending (last error: ${this.lastError})`);
    if (dropped > 0)
      parts.push(`${records(dropped)} dropped (${this.closed ? "after shutdown" : `queue full at ${this.options.maxQueueSize}`})`);
    this.safeReport(
      `export to ${this.options.endpoint}: ${parts.join("; ")}; totals exported ${this.counts.exported}, ` +
        `failed ${this.counts.failed}, dropped ${this.counts.dropped}. The trail files have every record.`,
    );
  }

  private safeReport(message: string): void {
    try {
      this.options.report(message);
    } catch {
      // The report goes to app.log; if that fails too there is nowhere left to say it.
    }
  }
}

/**
 * Takes each batch from the batch processor at once and delivers the
 * batches to the real exporter one at a time, telling exactly once per batch
 * how it ended. Accepting at once matters at exit: the batch processor keeps
 * a timer that holds the process for as long as an export is unanswered,
 * while here nothing but the request on the wire does, so a service whose
 * collector is down exits when its work is done. A batch whose callback
 * never comes counts as failed after the export timeout (plus a grace
 * period), so the pending count cannot leak.
 */
class DeliveryQueue implements LogRecordExporter {
  private readonly batches: ReadableLogRecord[][] = [];
  private sending = false;
  /** The batch on the wire was refused and waits for a retry. */
  private stalled = false;
  private idle: (() => void)[] = [];
  private drained: (() => void)[] = [];

  constructor(
    private readonly inner: LogRecordExporter,
    private readonly timeoutMillis: number,
    private readonly onSettled: (count: number, result: ExportResult) => void,
  ) {}

  export(records: ReadableLogRecord[], resultCallback: (result: ExportResult) => void): void {
    this.batches.push(records);
    resultCallback({ code: ExportResultCode.SUCCESS });
    this.sendNext();
  }

  /** Resolves once every accepted batch has been answered, or delivery stalls (releaseFlushes). */
  async forceFlush(): Promise<void> {
    if (this.stalled) return;
    if (this.sending || this.batches.length > 0) {
      await new Promise<void>((resolve) => this.idle.push(resolve));
      if (this.sending || this.batches.length > 0) return;
    }
    await this.inner.forceFlush();
  }

  /** The collector refused the batch on the wire: flushes stop waiting until it settles. */
  stall(): void {
    this.stalled = true;
    this.releaseFlushes();
  }

  /** Lets every waiting forceFlush() return now. */
  private releaseFlushes(): void {
    const waiting = this.idle;
    this.idle = [];
    for (const resolve of waiting) resolve();
  }

  /** Sends what is queued (the caller bounds the wait), then shuts the exporter down. */
  async shutdown(): Promise<void> {
    if (this.sending || this.batches.length > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
    await this.inner.shutdown();
  }

  private sendNext(): void {
    if (this.sending) return;
    const batch = this.batches.shift();
    if (batch === undefined) {
      this.releaseFlushes();
      const waiting = this.drained;
      this.drained = [];
      for (const resolve of waiting) resolve();
      return;
    }
    this.sending = true;
    let done = false;
    const finish = (result: ExportResult) => {
      if (done) return;
      done = true;
      clearTimeout(guard);
      this.sending = false;
      this.stalled = false;
      this.onSettled(batch.length, result);
      this.sendNext();
    };
    const guard = setTimeout(
      () => finish({ code: ExportResultCode.FAILED, error: new Error(`no answer within ${this.timeoutMillis} ms`) }),
      this.timeoutMillis + 5_000,
    );
    guard.unref();
    try {
      this.inner.export(batch, finish);
    } catch (error) {
      finish({ code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) });
    }
  }
}
