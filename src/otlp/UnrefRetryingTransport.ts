import type { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-http";
import type { ExportResponse, IExporterTransport } from "@opentelemetry/otlp-exporter-base";

// The exporter's own retry policy (otlp-exporter-base's RetryingTransport), kept as is.
const MAX_ATTEMPTS = 5;
const INITIAL_BACKOFF = 1000;
const MAX_BACKOFF = 5000;
const BACKOFF_MULTIPLIER = 1.5;
const JITTER = 0.2;

/**
 * OTLP/HTTP retries with the exporter's policy, but whose waits between
 * attempts do not keep the process alive: with the collector down, a service
 * that has finished its work exits at once instead of lingering through the
 * backoff (the trail files hold every record). A request on the wire still
 * holds the process, up to its timeout, so that a reachable collector gets
 * the last batch on a normal exit.
 */
export class UnrefRetryingTransport implements IExporterTransport {
  private closed = false;
  private readonly waking = new Set<() => void>();
  /** Called when an attempt failed and the next one waits: the collector is not taking records now. */
  onBackoff?: (error: Error | undefined) => void;

  constructor(private readonly transport: IExporterTransport) {}

  async send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
    const deadline = Date.now() + timeoutMillis;
    let backoff = INITIAL_BACKOFF;
    let result = await this.transport.send(data, timeoutMillis);
    for (let attempts = MAX_ATTEMPTS; result.status === "retryable" && attempts > 0 && !this.closed; attempts--) {
      const jittered = Math.max(Math.min(backoff * (1 + (Math.random() * 2 - 1) * JITTER), MAX_BACKOFF), 0);
      backoff *= BACKOFF_MULTIPLIER;
      const wait = result.retryInMillis ?? jittered;
      if (wait > deadline - Date.now()) break;
      this.onBackoff?.(result.error);
      await this.pause(wait);
      if (this.closed) break;
      result = await this.transport.send(data, deadline - Date.now());
    }
    return result;
  }

  /** No more retries: a wait in progress ends now and its last result stands. */
  stopRetrying(): void {
    this.closed = true;
    for (const wake of this.waking) wake();
    this.waking.clear();
  }

  shutdown(): void {
    this.stopRetrying();
    this.transport.shutdown();
  }

  private pause(millis: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waking.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, millis);
      timer.unref();
      this.waking.add(wake);
    });
  }
}

interface ExporterInternals {
  _delegate?: { _transport?: IExporterTransport & { _transport?: IExporterTransport } };
}

/**
 * Puts UnrefRetryingTransport in place of the exporter's retrying transport.
 * No public hook exists, so this reaches into the internals of the exactly
 * pinned exporter; if their shape differs, the exporter is left as it is
 * (it then lingers at exit up to its timeout) and undefined is returned.
 */
export function unrefExporterRetries(exporter: OTLPLogExporter): UnrefRetryingTransport | undefined {
  const delegate = (exporter as unknown as ExporterInternals)._delegate;
  const retrying = delegate?._transport;
  const inner = retrying?._transport;
  if (!delegate || !retrying || retrying.constructor?.name !== "RetryingTransport") return undefined;
  if (!inner || typeof inner.send !== "function" || typeof inner.shutdown !== "function") return undefined;
  const transport = new UnrefRetryingTransport(inner);
  delegate._transport = transport;
  return transport;
}
