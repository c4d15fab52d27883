import { hostname as osHostname } from "node:os";
import { resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { context, trace } from "@opentelemetry/api";
import type { LogAttributes, Logger } from "@opentelemetry/api-logs";
import { LoggerProvider } from "@opentelemetry/sdk-logs";
import type { AppMessage } from "../exporters/AppLogExporter.js";
import { isOtlpEnabled } from "../exporters/otlp.js";
import { createAuditResource, DEFAULT_SERVICE_NAME } from "../exporters/resource.js";
import { EMIT_SLOT, type EmitSlot } from "../internal/emitSlot.js";
import {
  DEFAULT_LIMITS,
  type JsonObject,
  type NormalizeLimits,
  toAmount,
  toJsonObject,
  toMergedJsonObject,
  toText,
} from "../internal/normalize.js";
import { formatTimestamp } from "../internal/timestamp.js";
import { VERSION } from "../internal/version.js";
import type { AuditHub } from "../processors/AuditHub.js";
import { AuditPipeline, type AuditStats, pipelineOf } from "../processors/AuditPipeline.js";
import { AuditEntry } from "./AuditEntry.js";
import { ATTR_APP_FIELDS, ATTR_HTTP_METHOD, ATTR_SERVICE_NAME, ATTR_STREAM, ATTR_USER_ID, Stream } from "./attributes.js";
import { entryToAttributes, isSecurityLevel } from "./entrySchema.js";
import { AuditAction, BusinessModule, LogLevel, parseLevel, SEVERITY_NUMBER } from "./enums.js";
import { AuditConfigError, AuditInputError, AuditWriteError } from "./errors.js";
import type {
  AuditingOptions,
  AuditLoggerOptions,
  ChangeOptions,
  CustomLogOptions,
  EntryOptions,
  InventoryOptions,
  ServiceOptions,
  TransactionOptions,
} from "./options.js";
import { RateLimiter } from "./RateLimiter.js";
import { currentContext, type RequestContextFields } from "./RequestContext.js";

const NO_CONTEXT: RequestContextFields = {};

/** Defaults a log method applies before the caller's options. */
interface MethodDefaults {
  level: LogLevel;
  module: string;
  action: string;
  entityType?: string;
  entityId?: string;
}

const loggers = new Set<AuditLogger>();
let exitHooksInstalled = false;

/** Buffered lines are written on exit; OTLP and async callbacks are drained when the loop empties. */
function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on("exit", () => {
    for (const logger of loggers) logger.flushSyncOnExit();
  });
  process.on("beforeExit", () => {
    for (const logger of loggers) logger.flushOnIdle();
  });
}

/**
 * The audit API: each method builds an AuditEntry from its arguments and the
 * RequestContext, emits it as an OTel log record, and returns it once its
 * line is in the trail (or throws AuditWriteError).
 */
export class AuditLogger {
  /** The folder given in the options, until the pipeline that writes the trail is known. */
  private readonly configuredLogDir: string;
  private readonly otelLogger: Logger;
  private readonly provider?: LoggerProvider;
  private pipeline?: AuditPipeline;
  private readonly pendingHubs = new Set<AuditHub>();
  private readonly rateLimiter: RateLimiter;
  private readonly currency: string;
  private readonly hostname: string;
  private readonly service: string = "";
  private readonly limits: NormalizeLimits;
  private readonly fsync: boolean;
  /** Whether records carry the full attribute set (anything besides the trail may read them). */
  private readonly fullAttributes: boolean;
  private emittedSinceFlush = false;
  private closed = false;

  constructor(options: AuditLoggerOptions = {}) {
    validateOptions(options);
    this.currency = options.currency ?? "MMK";
    this.hostname = options.hostname ?? osHostname();
    this.service = options.serviceName ?? process.env.OTEL_SERVICE_NAME ?? "";
    this.limits = { ...DEFAULT_LIMITS, maxStringLength: options.maxStringLength ?? DEFAULT_LIMITS.maxStringLength };
    this.fsync = options.fsync ?? false;
    this.rateLimiter = new RateLimiter(options.rateLimit);
    if (options.loggerProvider) {
      // The provider is the caller's: its processors (from createAuditProcessors) are found on first emit.
      this.otelLogger = options.loggerProvider.getLogger("auditx", VERSION);
      this.pipeline = pipelineOf(options.processors);
      this.configuredLogDir = resolve(options.logDir ?? "logs");
      this.fullAttributes = true;
    } else {
      this.pipeline = new AuditPipeline(options);
      this.configuredLogDir = this.pipeline.logDir;
      const resource = createAuditResource({ serviceName: options.serviceName, hostname: options.hostname });
      // OTEL_RESOURCE_ATTRIBUTES may name the service too: the trail says what the Resource says.
      const resourceService = resource.attributes[ATTR_SERVICE_NAME];
      if (!this.service && typeof resourceService === "string" && resourceService !== DEFAULT_SERVICE_NAME) this.service = resourceService;
      this.provider = new LoggerProvider({ resource, processors: this.pipeline.processors });
      this.otelLogger = this.provider.getLogger("auditx", VERSION);
      this.fullAttributes = isOtlpEnabled(options.otlp) || (options.processors?.length ?? 0) > 0;
    }
    loggers.add(this);
    installExitHooks();
  }

  /** Absolute path of the trail folder (with a caller's provider: the one its auditx processors write). */
  get logDir(): string {
    return this.pipeline?.logDir ?? this.configuredLogDir;
  }

  // ---- audit methods -------------------------------------------------------

  /** A general audit entry (level AUDIT, module system, action READ unless given). */
  log(description: string, options?: EntryOptions): AuditEntry {
    return this.write(description, options, undefined, LOG_DEFAULTS);
  }

  /** A field-level change: old and new values of an entity. */
  logChange(description: string, options?: ChangeOptions): AuditEntry {
    return this.write(description, options, undefined, CHANGE_DEFAULTS);
  }

  /** A trading transaction (invoice, payment, ...); `party` goes into metadata. */
  logTransaction(description: string, options?: TransactionOptions): AuditEntry {
    const extra = options?.party === undefined ? undefined : { party: options.party };
    return this.write(description, options, extra, TRANSACTION_DEFAULTS);
  }

  /** A stock movement on entity `product`; name, quantity, unit and warehouse go into metadata. */
  logInventory(description: string, options?: InventoryOptions): AuditEntry {
    const o = options ?? {};
    const extra = compact({ product_name: o.productName, quantity: o.quantity, unit: o.unit, warehouse_id: o.warehouseId });
    return this.write(description, o, extra, { ...INVENTORY_DEFAULTS, entityId: o.productId });
  }

  /** A service-department job on entity `service_job`; customer, technician, type and status go into metadata. */
  logService(description: string, options?: ServiceOptions): AuditEntry {
    const o = options ?? {};
    const extra = compact({ customer_id: o.customerId, technician: o.technician, service_type: o.serviceType, status: o.statusLabel });
    return this.write(description, o, extra, { ...SERVICE_DEFAULTS, entityId: o.jobId });
  }

  /**
   * A security event (level SECURITY). Failed logins (action LOGIN,
   * success false) are counted per IP (else per user): past
   * `rateLimit.maxAttempts` in the window the entry is CRITICAL, flagged
   * brute_force, and goes to security.jsonl as such.
   */
  logSecurity(description: string, options?: EntryOptions): AuditEntry {
    const o = options ?? {};
    const action = o.action ?? AuditAction.LOGIN;
    if (action === AuditAction.LOGIN && o.success === false) {
      const ctx = currentContext() ?? NO_CONTEXT;
      const key = toText(o.ip ?? ctx.ip ?? o.user ?? ctx.user ?? "unknown", 256);
      const attempts = this.rateLimiter.hit(key);
      if (attempts.count > this.rateLimiter.maxAttempts) {
        const extra = {
          failed_attempts: attempts.count,
          window_seconds: this.rateLimiter.windowMs / 1000,
          brute_force: true,
        };
        return this.write(
          `Brute-force suspected: ${attempts.count} failed logins from ${key} — ${toText(description, 512)}`,
          { ...o, level: LogLevel.CRITICAL },
          extra,
          SECURITY_DEFAULTS,
        );
      }
      return this.write(description, o, { failed_attempts: attempts.count }, SECURITY_DEFAULTS);
    }
    return this.write(description, o, undefined, SECURITY_DEFAULTS);
  }

  /**
   * Wraps a function so that each call writes one entry when it settles:
   * success with duration_ms, or failure (level ERROR, success false, the
   * error message) before the error is rethrown.
   */
  auditing<A extends unknown[], R>(options: AuditingOptions, fn: (...args: A) => R): (...args: A) => R {
    const logger = this;
    const name = fn.name || "operation";
    return function audited(this: unknown, ...args: A): R {
      const start = performance.now();
      const finish = (error?: unknown) => {
        const duration_ms = Math.round((performance.now() - start) * 1000) / 1000;
        const failed = error !== undefined;
        logger.write(
          options.description ?? `${name} ${failed ? "failed" : "completed"}`,
          failed ? { ...options, level: LogLevel.ERROR, success: false } : options,
          failed ? { duration_ms, error: error instanceof Error ? error.message : toText(error, 2048) } : { duration_ms },
          LOG_DEFAULTS,
        );
      };
      let result: R;
      try {
        result = fn.apply(this, args);
      } catch (error) {
        finish(error ?? "error");
        throw error;
      }
      if (result && typeof (result as { then?: unknown }).then === "function") {
        return (result as unknown as Promise<unknown>).then(
          (value) => {
            finish();
            return value;
          },
          (error: unknown) => {
            finish(error ?? "rejected");
            throw error;
          },
        ) as R;
      }
      finish();
      return result;
    };
  }

  // ---- async variants: resolve once durable (after fsync with `fsync: true`) ----

  alog(description: string, options?: EntryOptions): Promise<AuditEntry> {
    return this.durable(() => this.log(description, options));
  }
  alogChange(description: string, options?: ChangeOptions): Promise<AuditEntry> {
    return this.durable(() => this.logChange(description, options));
  }
  alogTransaction(description: string, options?: TransactionOptions): Promise<AuditEntry> {
    return this.durable(() => this.logTransaction(description, options));
  }
  alogInventory(description: string, options?: InventoryOptions): Promise<AuditEntry> {
    return this.durable(() => this.logInventory(description, options));
  }
  alogService(description: string, options?: ServiceOptions): Promise<AuditEntry> {
    return this.durable(() => this.logService(description, options));
  }
  alogSecurity(description: string, options?: EntryOptions): Promise<AuditEntry> {
    return this.durable(() => this.logSecurity(description, options));
  }

  private async durable(write: () => AuditEntry): Promise<AuditEntry> {
    const entry = write();
    if (this.fsync && this.pipeline) await this.pipeline.sync("audit");
    return entry;
  }

  // ---- app.log ---------------------------------------------------------------

  /** A plain-text app.log line `time | user | METHOD | LEVEL | message[ | {json}]`; other keys become the JSON part. */
  loggingCustom(message: string, options: CustomLogOptions = {}): void {
    const { level, user, method, ...fields } = options;
    const resolved = level === undefined ? LogLevel.INFO : parseLevel(level);
    if (!resolved) throw new AuditInputError(`unknown level ${JSON.stringify(String(level))}`);
    this.writeApp(resolved, message, fields, user, method);
  }

  debug(message: string, fields?: Record<string, unknown>): void {
    this.writeApp(LogLevel.DEBUG, message, fields);
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.writeApp(LogLevel.INFO, message, fields);
  }
  warning(message: string, fields?: Record<string, unknown>): void {
    this.writeApp(LogLevel.WARNING, message, fields);
  }
  /** Alias of warning(), as in most Node loggers. */
  warn(message: string, fields?: Record<string, unknown>): void {
    this.writeApp(LogLevel.WARNING, message, fields);
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.writeApp(LogLevel.ERROR, message, fields);
  }
  critical(message: string, fields?: Record<string, unknown>): void {
    this.writeApp(LogLevel.CRITICAL, message, fields);
  }

  // ---- rate limiting ---------------------------------------------------------

  /** Records an attempt for `key` and tells whether it is within the limit (rateLimit options). */
  checkRateLimit(key: string): boolean {
    return this.rateLimiter.check(toText(key, 256));
  }

  /** Forgets the attempts of `key`, or of every key. */
  resetRateLimit(key?: string): void {
    this.rateLimiter.reset(key === undefined ? undefined : toText(key, 256));
  }

  // ---- lifecycle -------------------------------------------------------------

  /** Publishes every entry this logger writes to `hub` (live viewers); returns the disconnect function. */
  connectHub(hub: AuditHub): () => void {
    this.pendingHubs.add(hub);
    const disconnect = this.pipeline?.connectHub(hub);
    return () => {
      this.pendingHubs.delete(hub);
      disconnect?.();
    };
  }

  /** The hubs this logger publishes to. */
  connectedHubs(): AuditHub[] {
    return [...this.pendingHubs];
  }

  /** Drains every sink (callbacks, OTLP) and makes the trail files durable. */
  async flush(): Promise<void> {
    this.emittedSinceFlush = false;
    if (this.provider) await this.provider.forceFlush();
    else if (this.pipeline) await Promise.all(this.pipeline.processors.map((processor) => processor.forceFlush()));
    if (this.pipeline && !this.closed) await this.pipeline.sync("all");
  }

  /** Flushes and closes the trail files; later log calls throw AuditWriteError. */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    loggers.delete(this);
    if (this.provider) await this.provider.shutdown();
    else if (this.pipeline) await Promise.all(this.pipeline.processors.map((processor) => processor.shutdown()));
  }

  stats(): AuditStats & { rateLimitKeys: number } {
    const base = this.pipeline?.stats() ?? {
      logDir: this.logDir,
      written: { audit: 0, security: 0, app: 0 },
      rotations: 0,
      errors: { write: 0, onAudit: 0, console: 0, hub: 0, report: 0 },
    };
    return { ...base, rateLimitKeys: this.rateLimiter.size };
  }

  /** @internal the exit path: write out buffered lines synchronously. */
  flushSyncOnExit(): void {
    this.pipeline?.flushFilesSync();
  }

  /** @internal the loop went idle with records not yet flushed (OTLP batches, async callbacks). */
  flushOnIdle(): void {
    if (!this.emittedSinceFlush || this.closed) return;
    this.flush().catch(() => {});
  }

  // ---- the hot path ----------------------------------------------------------

  private write(
    description: unknown,
    o: EntryOptions | undefined,
    extra: Record<string, unknown> | undefined,
    d: MethodDefaults,
  ): AuditEntry {
    const options = o ?? (NO_CONTEXT as EntryOptions);
    const ctx = currentContext() ?? NO_CONTEXT;
    let level = d.level;
    if (options.level !== undefined) {
      const parsed = parseLevel(options.level);
      if (!parsed) throw new AuditInputError(`unknown level ${JSON.stringify(String(options.level))}`);
      level = parsed;
    }
    const max = this.limits.maxStringLength;
    const millis = Date.now();
    const amount = options.amount === undefined ? null : toAmount(options.amount);
    const spanContext = trace.getSpanContext(context.active());
    const entry = new AuditEntry({
      timestamp: formatTimestamp(millis),
      level,
      module: toText(options.module ?? d.module, max),
      action: toText(options.action ?? d.action, max),
      description: toText(description, max),
      user: toText(options.user ?? ctx.user ?? "SYSTEM", max),
      userRole: toText(options.userRole ?? ctx.userRole, max),
      companyId: toText(options.companyId ?? ctx.companyId, max),
      branchId: toText(options.branchId ?? ctx.branchId, max),
      entityType: toText(options.entityType ?? d.entityType, max),
      entityId: toText(options.entityId ?? d.entityId, max),
      referenceNo: toText(options.referenceNo, max),
      amount,
      currency: amount === null ? "" : toText(options.currency ?? this.currency, max),
      oldValues: options.oldValues === undefined ? undefined : toJsonObject(options.oldValues, this.limits),
      newValues: options.newValues === undefined ? undefined : toJsonObject(options.newValues, this.limits),
      metadata: extra
        ? toMergedJsonObject(options.metadata, extra, this.limits)
        : options.metadata === undefined
          ? undefined
          : toJsonObject(options.metadata, this.limits),
      requestId: toText(options.requestId ?? ctx.requestId, max),
      sessionId: toText(options.sessionId ?? ctx.sessionId, max),
      ip: toText(options.ip ?? ctx.ip, max),
      hostname: this.hostname,
      method: toText(options.method ?? ctx.method, max),
      endpoint: toText(options.endpoint ?? ctx.endpoint, max),
      status: options.status === undefined || options.status === null ? null : statusCode(options.status),
      success: options.success === undefined ? true : options.success === true,
      traceId: spanContext?.traceId ?? "",
      spanId: spanContext?.spanId ?? "",
      service: this.service,
    });
    const security = isSecurityLevel(level);
    const attributes: LogAttributes = this.fullAttributes
      ? entryToAttributes(entry)
      : { [ATTR_STREAM]: security ? Stream.SECURITY : Stream.AUDIT };
    this.emit({ kind: "audit", entry, security }, millis, level, entry.description, attributes);
    return entry;
  }

  private writeApp(level: LogLevel, message: unknown, fields?: Record<string, unknown>, user?: unknown, method?: unknown): void {
    const ctx = currentContext() ?? NO_CONTEXT;
    const max = this.limits.maxStringLength;
    const appMessage: AppMessage = {
      millis: Date.now(),
      level,
      user: toText(user ?? ctx.user ?? "SYSTEM", max),
      method: toText(method ?? ctx.method ?? "N/A", max),
      message: toText(message, max),
      fields: fields && Object.keys(fields).length > 0 ? fields : undefined,
    };
    const attributes: LogAttributes = { [ATTR_STREAM]: Stream.APP, [ATTR_USER_ID]: appMessage.user };
    if (appMessage.method !== "N/A") attributes[ATTR_HTTP_METHOD] = appMessage.method;
    if (appMessage.fields && this.fullAttributes) {
      const normalized = toJsonObject(appMessage.fields, this.limits);
      if (normalized) attributes[ATTR_APP_FIELDS] = normalized as JsonObject as LogAttributes[string];
    }
    this.emit({ kind: "app", message: appMessage }, appMessage.millis, level, appMessage.message, attributes);
  }

  private emit(slot: EmitSlot, millis: number, level: LogLevel, body: string, attributes: LogAttributes): void {
    if (this.closed) throw new AuditWriteError(`${this.logDir}: the logger is shut down`, this.logDir);
    this.emittedSinceFlush = true;
    try {
      this.otelLogger.emit({
        timestamp: millis,
        severityNumber: SEVERITY_NUMBER[level],
        severityText: level,
        body,
        attributes,
        context: context.active().setValue(EMIT_SLOT, slot),
      });
    } catch (error) {
      if (error instanceof AuditWriteError && this.pipeline) this.pipeline.errors.write++;
      throw error;
    }
    if (slot.handledBy === undefined) this.unhandled();
    else if (this.pipeline === undefined) this.adopt(slot.handledBy as AuditPipeline);
  }

  /** The record reached no auditx stream router: say why instead of losing it. */
  private unhandled(): never {
    if (this.provider) throw new AuditWriteError(`${this.logDir}: the logger's provider is shut down`, this.logDir);
    throw new AuditConfigError(
      "configure({ loggerProvider }) was given a provider without auditx's processors: add createAuditProcessors(options) to it",
    );
  }

  /** First record through a caller's provider: now the pipeline (hub, fsync, stats) is known. */
  private adopt(pipeline: AuditPipeline): void {
    this.pipeline = pipeline;
    for (const hub of this.pendingHubs) pipeline.connectHub(hub);
  }
}

function statusCode(value: unknown): number | null {
  const status = toAmount(value);
  return status !== null && Number.isInteger(status) ? status : null;
}

/** The given fields without undefined values, or undefined when none is left. */
function compact(fields: Record<string, unknown>): Record<string, unknown> | undefined {
  let result: Record<string, unknown> | undefined;
  for (const key in fields) {
    if (fields[key] !== undefined) (result ??= {})[key] = fields[key];
  }
  return result;
}

function validateOptions(options: AuditLoggerOptions): void {
  const positive = (name: keyof AuditLoggerOptions, value: unknown) => {
    if (value !== undefined && (typeof value !== "number" || !Number.isFinite(value) || value < 0)) {
      throw new AuditConfigError(`${name} must be a number >= 0, got ${JSON.stringify(value)}`);
    }
  };
  positive("maxFileBytes", options.maxFileBytes);
  positive("backupCount", options.backupCount);
  positive("maxStringLength", options.maxStringLength);
  if (options.logDir !== undefined && (typeof options.logDir !== "string" || options.logDir === "")) {
    throw new AuditConfigError("logDir must be a non-empty string");
  }
  if (options.onAudit !== undefined && typeof options.onAudit !== "function") throw new AuditConfigError("onAudit must be a function");
}

const LOG_DEFAULTS: MethodDefaults = { level: LogLevel.AUDIT, module: BusinessModule.SYSTEM, action: AuditAction.READ };
const CHANGE_DEFAULTS: MethodDefaults = { level: LogLevel.AUDIT, module: BusinessModule.SYSTEM, action: AuditAction.UPDATE };
const TRANSACTION_DEFAULTS: MethodDefaults = { level: LogLevel.AUDIT, module: BusinessModule.SALES, action: AuditAction.CREATE };
const INVENTORY_DEFAULTS: MethodDefaults = {
  level: LogLevel.AUDIT,
  module: BusinessModule.INVENTORY,
  action: AuditAction.ADJUST,
  entityType: "product",
};
const SERVICE_DEFAULTS: MethodDefaults = {
  level: LogLevel.AUDIT,
  module: BusinessModule.SERVICE,
  action: AuditAction.UPDATE,
  entityType: "service_job",
};
const SECURITY_DEFAULTS: MethodDefaults = { level: LogLevel.SECURITY, module: BusinessModule.AUTH, action: AuditAction.LOGIN };
