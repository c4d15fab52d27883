import { existsSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { type Context, context, trace } from "@opentelemetry/api";
import type { LogAttributes, Logger } from "@opentelemetry/api-logs";
import { LoggerProvider } from "@opentelemetry/sdk-logs";
import type { AppMessage } from "../entry/AppMessage.js";
import { AuditEntry } from "../entry/AuditEntry.js";
import { ATTR_STREAM, CHECKPOINT_ATTRIBUTES, CHECKPOINT_EVENT_NAME, CHECKPOINT_STREAM, EVENT_NAME, Stream } from "../entry/attributes.js";
import { AuditAction, BusinessModule, LogLevel, parseLevel, SEVERITY_NUMBER } from "../entry/enums.js";
import { AuditConfigError, AuditInputError, AuditWriteError } from "../entry/errors.js";
import type { AuditEntryFields } from "../entry/fields.js";
import { type ImportOptions, importedEntryFields } from "../entry/importedEntry.js";
import type { JsonObject } from "../entry/json.js";
import { entryToJsonLine, isEmptyMap } from "../entry/jsonl.js";
import { toAmount, toJsonObject, toMergedJsonObject, toStatusCode, toText } from "../entry/normalize.js";
import { appMessageAttributes, entryToAttributes, isSecurityLevel, streamAttributes } from "../entry/otel.js";
import type { SignedRecord } from "../integrity/signedRecord.js";
import { formatTimestamp } from "../internal/timestamp.js";
import { timestampMillis } from "../internal/timestampMillis.js";
import { uuidv7 } from "../internal/uuid.js";
import { VERSION } from "../internal/version.js";
import type { AuditHub } from "../processors/AuditHub.js";
import { type CarriedRecord, withCarriedRecord } from "../processors/RecordCarrier.js";
import { AuditPipeline, type AuditStats } from "./AuditPipeline.js";
import { pipelineInProvider, pipelineOf } from "./createAuditProcessors.js";
import type {
  AuditingEntryOptions,
  AuditingOptions,
  AuditLoggerOptions,
  ChangeOptions,
  CustomLogOptions,
  EntryOptions,
  InventoryOptions,
  ServiceOptions,
  TransactionOptions,
} from "./options.js";
import { type OwnEntry, ownEntryFields } from "./ownEntry.js";
import { RateLimiter } from "./RateLimiter.js";
import { currentContext, type RequestContextFields } from "./RequestContext.js";
import { SelfAction, writeSelfEntry } from "./selfEntries.js";
import { type AuditSettings, describeSettings, resolveSettings } from "./settings.js";

const NO_CONTEXT: RequestContextFields = {};

/** Defaults a log method applies before the caller's options. */
interface MethodDefaults {
  level: LogLevel;
  module: string;
  action: string;
  /** The user when neither the call nor the context names one (default "SYSTEM"). */
  user?: string;
  entityType?: string;
  entityId?: string;
}

/** The description of a failed login past the rate limit: the original's text, which SIEM rules match. */
export const BRUTE_FORCE_DESCRIPTION = "Rate limit exceeded - possible brute force";

const loggers = new Set<AuditLogger>();
let exitHooksInstalled = false;

/** Buffered lines are written on exit; OTLP and async callbacks are drained when the loop empties. */
function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on("exit", () => {
    for (const logger of loggers) {
      logger.stopOnExit();
      logger.flushSyncOnExit();
    }
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
  private readonly settings: Readonly<AuditSettings>;
  private readonly otelLogger: Logger;
  /** auditx's own provider; undefined when records go into the caller's. */
  private readonly provider?: LoggerProvider;
  /** The sinks behind the trail folder; undefined when the caller's provider runs none of auditx's. */
  private readonly pipeline?: AuditPipeline;
  private readonly hubs = new Set<AuditHub>();
  private readonly rateLimiter: RateLimiter;
  /** Whether records carry the full attribute set (anything besides the trail may read them). */
  private readonly fullAttributes: boolean;
  private emittedSinceFlush = false;
  private closed = false;
  private shutdownDone?: Promise<void>;
  /** Set once shutdown has written the writer's last checkpoint: nothing more reaches the sinks. */
  private sinksClosed = false;
  /** Its START (or CONFIGURE) entry: written before the first entry, so the trail tells which configuration wrote what follows. */
  private lifecycle: "new" | "starting" | "started" = "new";
  /** The configuration of the logger this one replaced (configure()), for its CONFIGURE entry. */
  private replacedConfiguration?: JsonObject;

  constructor(options: AuditLoggerOptions = {}) {
    const settings = resolveSettings(options);
    this.settings = settings;
    this.rateLimiter = new RateLimiter(settings.rateLimit);
    if (settings.loggerProvider) {
      // The caller's provider: it runs processors from createAuditProcessors, given here or found in it.
      this.otelLogger = settings.loggerProvider.getLogger("auditx", VERSION);
      this.pipeline = pipelineOf(settings.processors) ?? pipelineInProvider(settings.loggerProvider);
      this.fullAttributes = true;
    } else {
      this.pipeline = new AuditPipeline(settings);
      this.provider = new LoggerProvider({ resource: settings.resource, processors: this.pipeline.processors });
      this.otelLogger = this.provider.getLogger("auditx", VERSION);
      this.fullAttributes = settings.otlp !== null || settings.processors.length > 0;
    }
    this.pipeline?.bind({
      writeOwnEntry: (own) => this.writeOwnEntry(own),
      emitCheckpoint: (line, record) => this.emitCheckpoint(line, record),
    });
    loggers.add(this);
    installExitHooks();
  }

  /** Absolute path of the trail folder (with a caller's provider: the one its auditx processors write). */
  get logDir(): string {
    return this.pipeline?.logDir ?? this.settings.logDir;
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

  /**
   * @internal A change recorded earlier (an outbox row, in the same transaction
   * as the change) written to the trail now: it keeps its own id and time, and
   * `metadata.relayed` says how and when it was written, so a late write is
   * never taken for one made at the time. Not for backdating: the log methods
   * take no time or id.
   */
  relayChange(description: string, options: ChangeOptions, recorded: { id: string; at: Date | number | string; via: string }): AuditEntry {
    const relayed = { relayed: { via: toText(recorded.via, 64), written_at: new Date().toISOString() } };
    return this.write(description, options, relayed, CHANGE_DEFAULTS, { id: toEntryId(recorded.id), millis: toEventMillis(recorded.at) });
  }

  /** A trading transaction (invoice, payment, ...); `party` goes into metadata. */
  logTransaction(description: string, options?: TransactionOptions): AuditEntry {
    const extra = options?.party === undefined ? undefined : { party: options.party };
    return this.write(description, options, extra, TRANSACTION_DEFAULTS);
  }

  /** A stock movement on entity `product`; name, quantity, unit and warehouse go into metadata. */
  logInventory(description: string, options?: InventoryOptions): AuditEntry {
    const o = options ?? {};
    const extra = compact({ product_name: o.productName, quantity: o.quantity, unit: o.unit ?? "pcs", warehouse_id: o.warehouseId });
    return this.write(description, o, extra, { ...INVENTORY_DEFAULTS, entityId: o.productId });
  }

  /** A service-department job on entity `service_job`; customer, technician, type and status go into metadata. */
  logService(description: string, options?: ServiceOptions): AuditEntry {
    const o = options ?? {};
    const extra = compact({ customer_id: o.customerId, technician: o.technician, service_type: o.serviceType, status: o.statusLabel });
    return this.write(description, o, extra, { ...SERVICE_DEFAULTS, entityId: o.jobId });
  }

  /**
   * A security event, as the original writes it: level AUDIT when it
   * succeeded, SECURITY when it failed (`success: false`), module auth, action
   * LOGIN, user "UNKNOWN" unless given or in the context. Failed logins
   * (action LOGIN, success false) are counted per IP (else per user): past
   * `rateLimit.maxAttempts` in the window (default 5 in 60 s) the entry is
   * CRITICAL, described "Rate limit exceeded - possible brute force", with the
   * attempt's own description and the counts in metadata.
   */
  logSecurity(description: string, options?: EntryOptions): AuditEntry {
    const o = options ?? {};
    const failed = o.success === false;
    const defaults = failed ? SECURITY_FAILURE_DEFAULTS : SECURITY_DEFAULTS;
    if (failed && (o.action ?? AuditAction.LOGIN) === AuditAction.LOGIN) {
      const ctx = currentContext() ?? NO_CONTEXT;
      const key = toText(o.ip ?? ctx.ip ?? o.user ?? ctx.user ?? "unknown", 256);
      const attempts = this.rateLimiter.hit(key);
      if (attempts.count > this.rateLimiter.maxAttempts) {
        const extra = {
          attempt_description: toText(description, 512),
          failed_attempts: attempts.count,
          limit: this.rateLimiter.maxAttempts,
          window_seconds: this.rateLimiter.windowMs / 1000,
          rate_limit_key: key,
          brute_force: true,
        };
        return this.write(BRUTE_FORCE_DESCRIPTION, { ...o, level: LogLevel.CRITICAL }, extra, defaults);
      }
      return this.write(description, o, { failed_attempts: attempts.count }, defaults);
    }
    return this.write(description, o, undefined, defaults);
  }

  /**
   * The original's form, `auditing(description, options)`: writes one entry
   * (level NORMAL, module system, action READ unless given) and returns it.
   */
  auditing(description: string, options?: AuditingEntryOptions): AuditEntry;
  /**
   * Wraps a function so that each call writes one entry when it settles:
   * success with duration_ms, or failure (level ERROR, success false, the
   * error message) before the error is rethrown.
   */
  auditing<A extends unknown[], R>(options: AuditingOptions, fn: (...args: A) => R): (...args: A) => R;
  auditing(first: unknown, second?: unknown): unknown {
    if (typeof first === "string") {
      if (typeof second === "function") {
        throw new AuditInputError(
          "auditing(description, options) writes one entry and takes no function; to wrap a function, call auditing({ description }, fn)",
        );
      }
      if (second !== undefined && (second === null || typeof second !== "object")) {
        throw new AuditInputError(`auditing(description, options): options must be an object, got ${typeof second}`);
      }
      return this.write(first, second as AuditingEntryOptions | undefined, undefined, AUDITING_DEFAULTS);
    }
    if (first !== null && typeof first === "object" && !Array.isArray(first)) {
      if (typeof second !== "function") {
        throw new AuditInputError(
          "auditing(options, fn) wraps a function, and fn is missing; to write one entry, call auditing(description, options)",
        );
      }
      return this.wrap(first as AuditingOptions, second as (...args: unknown[]) => unknown);
    }
    throw new AuditInputError("auditing: expected (description: string, options?) to write one entry, or (options, fn) to wrap a function");
  }

  private wrap<A extends unknown[], R>(options: AuditingOptions, fn: (...args: A) => R): (...args: A) => R {
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

  /**
   * Writes an entry that records an event of another audit trail (a legacy
   * audit table, a file of the Python auditX) with its own time: see
   * `auditx import`. The record's keys are the trail's field names (or the
   * entry's camelCase keys); `timestamp` and `description` are required,
   * other keys are kept in metadata, and `metadata.imported` names the
   * source and the time of the import, so an imported entry is never taken
   * for one written when it happened. Its id derives from the source, row
   * and record, so the same record imported twice has the same id. The
   * request context, request id and host of the importing process are not
   * used. Throws AuditInputError when the record cannot be imported.
   */
  importEntry(record: Record<string, unknown>, options: ImportOptions = {}): AuditEntry {
    const settings = this.settings;
    const fields = importedEntryFields(record, options, {
      limits: settings.limits,
      currency: settings.currency,
      service: settings.service,
      now: Date.now(),
    });
    return this.commit(fields, timestampMillis(fields.timestamp));
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
    if (this.settings.fsync && this.pipeline) await this.pipeline.sync("audit");
    return entry;
  }

  // ---- app.log ---------------------------------------------------------------

  /**
   * A plain-text app.log line `dd/mm/yyyy hh:mm:ss AM | user | METHOD | LEVEL | message[ | {json}]`;
   * other keys become the JSON part, written as the original writes it.
   */
  loggingCustom(message: string, options: CustomLogOptions = {}): void {
    const { level, user, method, ...fields } = options;
    const resolved = level === undefined ? LogLevel.INFO : parseLevel(level);
    if (!resolved) throw new AuditInputError(`unknown level ${JSON.stringify(String(level))}`);
    this.writeApp(resolved, message, fields, { user, method });
  }

  // App messages: `yyyy-mm-dd hh:mm:ss,mmm | LEVEL | message[ | {json}]` in app.log, as the original's.

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

  /**
   * Records an attempt for `key` and tells whether it is within `limit`
   * attempts (default rateLimit.maxAttempts: 5) in `windowSeconds` (default
   * rateLimit.windowMs: 60 s), as the original's check_rate_limit.
   */
  checkRateLimit(key: string, limit?: number, windowSeconds?: number): boolean {
    if (limit !== undefined && !(typeof limit === "number" && Number.isInteger(limit) && limit >= 0)) {
      throw new AuditInputError(`checkRateLimit: limit must be a whole number >= 0, got ${JSON.stringify(limit)}`);
    }
    if (windowSeconds !== undefined && !(typeof windowSeconds === "number" && Number.isFinite(windowSeconds) && windowSeconds > 0)) {
      throw new AuditInputError(`checkRateLimit: windowSeconds must be a number > 0, got ${JSON.stringify(windowSeconds)}`);
    }
    const windowMs = windowSeconds === undefined ? this.rateLimiter.windowMs : Math.max(1, Math.round(windowSeconds * 1000));
    return this.rateLimiter.check(toText(key, 256), Date.now(), limit ?? this.rateLimiter.maxAttempts, windowMs);
  }

  /** Forgets the attempts of `key`, or of every key. */
  resetRateLimit(key?: string): void {
    this.rateLimiter.reset(key === undefined ? undefined : toText(key, 256));
  }

  // ---- lifecycle -------------------------------------------------------------

  /** Publishes every entry this logger writes to `hub` (live viewers); returns the disconnect function. */
  connectHub(hub: AuditHub): () => void {
    this.hubs.add(hub);
    const disconnect = this.pipeline?.connectHub(hub);
    return () => {
      this.hubs.delete(hub);
      disconnect?.();
    };
  }

  /** The hubs this logger publishes to. */
  connectedHubs(): AuditHub[] {
    return [...this.hubs];
  }

  /** Drains every sink (callbacks, OTLP) and makes the trail files durable. */
  async flush(): Promise<void> {
    this.emittedSinceFlush = false;
    if (this.provider) await this.provider.forceFlush();
    else if (this.pipeline) await Promise.all(this.pipeline.processors.map((processor) => processor.forceFlush()));
    if (this.pipeline && !this.closed) await this.pipeline.sync("all");
  }

  /** Flushes and closes the trail files; later log calls throw AuditWriteError. */
  shutdown(): Promise<void> {
    // A second call (a signal handler and the app's own close, say) waits for the same shutdown to end.
    this.shutdownDone ??= this.close();
    return this.shutdownDone;
  }

  private async close(): Promise<void> {
    // The STOP entry goes first, while log calls still work; then log calls fail. A pruning under way
    // still finishes (its announcement reaches every sink), then the writer's last checkpoint goes out
    // while OTLP still runs.
    this.writeStop("shutdown()");
    this.closed = true;
    loggers.delete(this);
    await this.pipeline?.stopBackground();
    this.pipeline?.sealCloseSync();
    this.sinksClosed = true;
    if (this.provider) await this.provider.shutdown();
    else if (this.pipeline) await Promise.all(this.pipeline.processors.map((processor) => processor.shutdown()));
  }

  stats(): AuditStats & { rateLimitKeys: number } {
    const base = this.pipeline?.stats() ?? {
      logDir: this.logDir,
      written: { audit: 0, security: 0, app: 0 },
      rotations: 0,
      errors: { write: 0, onAudit: 0, console: 0, hub: 0, report: 0 },
      trail: {
        compressed: 0,
        pruned: 0,
        prunedBytes: 0,
        tornWrites: 0,
        incidents: { removed: 0, renamed: 0, truncated: 0 },
        legalHold: false,
      },
    };
    return { ...base, rateLimitKeys: this.rateLimiter.size };
  }

  /** @internal the effective configuration (no secrets), as the START entry records it. */
  effectiveConfiguration(): JsonObject {
    return describeSettings(this.settings);
  }

  /**
   * @internal configure() made this logger replace `previous`: its first
   * entry is CONFIGURE (what changed) instead of START, written now when the
   * trail can take it, else before its first entry.
   */
  replace(previous: AuditLogger): void {
    if (!previous.started) return;
    this.replacedConfiguration = previous.effectiveConfiguration();
    try {
      this.start();
    } catch {
      // The trail cannot take it now: the first log call writes it, or sees the error.
    }
  }

  private get started(): boolean {
    return this.lifecycle === "started";
  }

  /** @internal the exit path: the STOP entry, when the process ends without shutdown() (not when its folder is gone). */
  stopOnExit(): void {
    if (this.closed || !this.started || !existsSync(this.logDir)) return;
    this.writeStop("process exit");
  }

  /**
   * Writes the START entry once, before the first entry. A failure is not
   * the caller's: its own entry succeeds or fails on its own (a full
   * security.jsonl fails START, a SECURITY entry, but not an AUDIT one), and
   * START is not retried on every call.
   */
  private startBeforeFirstEntry(): void {
    try {
      this.start();
    } catch {
      this.lifecycle = "started";
    }
  }

  /** The START or CONFIGURE entry (and OTLP on/off), before the logger's first entry. */
  private start(): void {
    if (this.lifecycle !== "new" || !this.settings.auditLifecycle) return;
    this.lifecycle = "starting";
    try {
      const configuration = describeSettings(this.settings);
      const previous = this.replacedConfiguration;
      if (previous) {
        const changes = configurationChanges(previous, configuration);
        const names = Object.keys(changes);
        writeSelfEntry(this, {
          action: SelfAction.CONFIGURE,
          component: "logger",
          description: `auditx reconfigured: ${names.length > 0 ? `${names.join(", ")} changed` : "no setting changed"}`,
          metadata: { configuration, changes, version: VERSION, pid: process.pid },
        });
        if ((previous.otlp === false) !== (configuration.otlp === false)) {
          const endpoint = (configuration.otlp as JsonObject | false) && (configuration.otlp as JsonObject).endpoint;
          writeSelfEntry(this, {
            action: SelfAction.CONFIGURE,
            component: "otlp",
            description: configuration.otlp === false ? "OTLP export turned off" : `OTLP export turned on, to ${String(endpoint)}`,
            metadata: { otlp: configuration.otlp, previous: previous.otlp },
          });
        }
      } else {
        writeSelfEntry(this, {
          action: SelfAction.START,
          component: "logger",
          description: `auditx ${VERSION} started${this.settings.otlp ? `, OTLP export on to ${this.settings.otlp.endpoint}` : ""}`,
          metadata: { configuration, version: VERSION, pid: process.pid, node: process.version },
        });
      }
      this.replacedConfiguration = undefined;
      this.lifecycle = "started";
    } catch (error) {
      this.lifecycle = "new";
      throw error;
    }
  }

  /** The STOP entry; never throws (the logger is going away whatever happens). */
  private writeStop(reason: string): void {
    if (!this.started || !this.settings.auditLifecycle) return;
    try {
      const stats = this.stats();
      writeSelfEntry(this, {
        action: SelfAction.STOP,
        component: "logger",
        description: `auditx stopped (${reason})`,
        metadata: { reason, written: stats.written, errors: stats.errors, otlp: stats.otlp ?? false, pid: process.pid },
      });
    } catch {
      // Counted where the write failed; shutdown goes on.
    }
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
    recorded?: { id: string; millis: number },
  ): AuditEntry {
    if (this.lifecycle === "new") this.startBeforeFirstEntry();
    const options = o ?? (NO_CONTEXT as EntryOptions);
    const ctx = currentContext() ?? NO_CONTEXT;
    let level = d.level;
    if (options.level !== undefined) {
      const parsed = parseLevel(options.level);
      if (!parsed) throw new AuditInputError(`unknown level ${JSON.stringify(String(options.level))}`);
      level = parsed;
    }
    const limits = this.settings.limits;
    const max = limits.maxStringLength;
    const millis = recorded === undefined ? Date.now() : recorded.millis;
    const amount = options.amount === undefined ? null : toAmount(options.amount);
    const success = options.success === undefined ? true : options.success === true;
    const requestId = options.requestId ?? ctx.requestId;
    const id = recorded === undefined ? uuidv7(millis) : recorded.id;
    const active = context.active();
    const spanContext = trace.getSpanContext(active);
    const fields: AuditEntryFields = {
      timestamp: formatTimestamp(millis),
      level,
      module: toText(options.module ?? d.module, max),
      action: toText(options.action ?? d.action, max),
      description: toText(description, max),
      user: toText(options.user ?? ctx.user ?? d.user ?? "SYSTEM", max),
      userRole: toText(options.userRole ?? ctx.userRole, max),
      companyId: toText(options.companyId ?? ctx.companyId, max),
      branchId: toText(options.branchId ?? ctx.branchId, max),
      entityType: toText(options.entityType ?? d.entityType, max),
      entityId: toText(options.entityId ?? d.entityId, max),
      referenceNo: toText(options.referenceNo, max),
      amount,
      // As the original: every entry names the currency, the call's or the logger's default.
      currency: toText(options.currency ?? this.settings.currency, max),
      oldValues: options.oldValues === undefined ? undefined : toJsonObject(options.oldValues, limits),
      newValues: options.newValues === undefined ? undefined : toJsonObject(options.newValues, limits),
      metadata: extra
        ? toMergedJsonObject(options.metadata, extra, limits)
        : options.metadata === undefined
          ? undefined
          : toJsonObject(options.metadata, limits),
      // As the original, an entry outside any request still has a request id: it is a request of its
      // own, so its id serves (a UUID as the original's, without generating a second one per entry).
      requestId: requestId ? toText(requestId, max) : id,
      sessionId: toText(options.sessionId ?? ctx.sessionId, max),
      ip: toText(options.ip ?? ctx.ip, max),
      hostname: this.settings.hostname,
      method: upperCased(toText(options.method ?? ctx.method, max)),
      endpoint: toText(options.endpoint ?? ctx.endpoint, max),
      // As the original: 200 unless given; but a failure never claims 200 OK.
      status: options.status === undefined ? (success ? 200 : null) : options.status === null ? null : toStatusCode(options.status),
      success,
      traceId: spanContext?.traceId ?? "",
      spanId: spanContext?.spanId ?? "",
      service: this.settings.service,
      id,
      // Integrity fields: set below when the line is sealed.
      chainId: "",
      seq: 0,
      prevHash: "",
      hash: "",
    };
    return this.commit(fields, millis, false, active);
  }

  /** Redacts the entry's fields, seals its line when integrity is on, builds the entry and emits it to every sink. */
  private commit(fields: AuditEntryFields, millis: number, own = false, active: Context = context.active()): AuditEntry {
    const level = fields.level;
    this.settings.redact?.redactEntry(fields);
    const pipeline = this.writablePipeline(own);
    const chain = pipeline.chain;
    // Sealed before the entry is built (and frozen), so the entry carries its integrity fields.
    const line = chain ? chain.seal(fields) : entryToJsonLine(fields);
    const entry = new AuditEntry(fields);
    const security = isSecurityLevel(level);
    const attributes = this.fullAttributes ? entryToAttributes(entry) : streamAttributes(security ? Stream.SECURITY : Stream.AUDIT);
    this.emit({ kind: "audit", entry, line, security }, millis, level, entry.description, attributes, active);
    chain?.commit(entry);
    return entry;
  }

  /** @internal an entry about the trail or the logger itself (see ownEntry.ts), written like any other. */
  writeOwnEntry(own: OwnEntry): AuditEntry | undefined {
    if (this.sinksClosed) return undefined;
    if (this.lifecycle === "new" && !this.closed) this.startBeforeFirstEntry();
    const millis = Date.now();
    return this.commit(ownEntryFields(this.settings, own, millis), millis, true);
  }

  /** @internal a writer's signed checkpoint, for OTLP and other processors (never a trail line). */
  emitCheckpoint(line: string, record: SignedRecord): void {
    if (this.sinksClosed) return;
    this.otelLogger.emit({
      eventName: CHECKPOINT_EVENT_NAME,
      timestamp: Date.parse(record.time),
      severityNumber: SEVERITY_NUMBER[LogLevel.INFO],
      severityText: LogLevel.INFO,
      body: line,
      attributes: {
        [ATTR_STREAM]: CHECKPOINT_STREAM,
        [CHECKPOINT_ATTRIBUTES.type]: record.type,
        [CHECKPOINT_ATTRIBUTES.writer]: record.type === "checkpoint" ? record.writer : "",
        [CHECKPOINT_ATTRIBUTES.number]: record.type === "checkpoint" ? record.n : record.epoch,
      },
      context: withCarriedRecord(context.active(), { kind: "checkpoint", line }),
    });
  }

  /** An app.log message; `custom` (loggingCustom) writes the line with user and method. */
  private writeApp(level: LogLevel, message: unknown, fields?: Record<string, unknown>, custom?: { user: unknown; method: unknown }): void {
    const ctx = currentContext() ?? NO_CONTEXT;
    const { limits, redact } = this.settings;
    const max = limits.maxStringLength;
    const text = toText(message, max);
    let extra: JsonObject | undefined;
    if (fields && Object.keys(fields).length > 0) {
      // Normalised here when redacting (redaction works on the JSON form) or when attributes carry the fields.
      if (redact) {
        const normalized = toJsonObject(fields, limits);
        extra = normalized && redact.redactFields(normalized);
      } else if (this.fullAttributes) extra = toJsonObject(fields, limits);
    }
    const appMessage: AppMessage = {
      millis: Date.now(),
      level,
      user: toText(custom?.user ?? ctx.user ?? "SYSTEM", max),
      method: upperCased(toText(custom?.method ?? ctx.method, max)) || "N/A",
      message: redact ? redact.redactText(text) : text,
      fields: redact ? (extra && !isEmptyMap(extra) ? extra : undefined) : fields && Object.keys(fields).length > 0 ? fields : undefined,
      custom: custom !== undefined,
    };
    this.writablePipeline();
    const attributes = appMessageAttributes(appMessage, this.fullAttributes && extra && !isEmptyMap(extra) ? extra : undefined);
    this.emit({ kind: "app", message: appMessage }, appMessage.millis, level, appMessage.message, attributes);
  }

  /** The pipeline that will write the next record; throws when there is none or it is closed. */
  private writablePipeline(own = false): AuditPipeline {
    const pipeline = this.pipeline;
    // While shutting down, only the logger's own entries (a pruning finishing) are still written.
    if (own ? this.sinksClosed : this.closed) throw new AuditWriteError(`${this.logDir}: the logger is shut down`, this.logDir);
    if (!pipeline) {
      throw new AuditConfigError(
        "configure({ loggerProvider }) was given a provider without auditx's processors: add createAuditProcessors(options) to it and pass them as `processors`",
      );
    }
    if (pipeline.closed) throw new AuditWriteError(`${this.logDir}: the logger's provider is shut down`, this.logDir);
    return pipeline;
  }

  private emit(
    carried: Exclude<CarriedRecord, { kind: "checkpoint" }>,
    millis: number,
    level: LogLevel,
    body: string,
    attributes: LogAttributes,
    active: Context = context.active(),
  ): void {
    this.emittedSinceFlush = true;
    const severityNumber = SEVERITY_NUMBER[level];
    const emitContext = withCarriedRecord(active, carried);
    const eventName = EVENT_NAME[carried.kind === "app" ? Stream.APP : carried.security ? Stream.SECURITY : Stream.AUDIT];
    // A caller's provider may be configured to drop records (a minimum severity): the trail must not lose them unseen.
    if (!this.provider && !this.otelLogger.enabled({ severityNumber, context: emitContext, eventName })) {
      throw new AuditConfigError(
        'the loggerProvider\'s configuration drops auditx records (its logger "auditx" is disabled for this severity)',
      );
    }
    try {
      this.otelLogger.emit({
        eventName,
        timestamp: millis,
        severityNumber,
        severityText: level,
        body,
        attributes,
        context: emitContext,
      });
    } catch (error) {
      if (error instanceof AuditWriteError && this.pipeline) this.pipeline.errors.write++;
      throw error;
    }
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A recorded entry's id (an outbox row's): a UUID in lower case, or a clear error. */
function toEntryId(value: unknown): string {
  const id = typeof value === "string" ? value.toLowerCase() : "";
  if (!UUID.test(id)) throw new AuditInputError(`id must be a UUID, got ${JSON.stringify(toText(value, 64))}`);
  return id;
}

/** When an event recorded earlier happened: a Date, epoch milliseconds or an ISO 8601 string. */
function toEventMillis(value: unknown): number {
  const millis =
    value instanceof Date
      ? value.getTime()
      : typeof value === "number"
        ? value
        : typeof value === "string"
          ? Date.parse(value)
          : Number.NaN;
  if (!Number.isFinite(millis) || millis < 0)
    throw new AuditInputError(`timestamp must be a date, got ${JSON.stringify(toText(value, 64))}`);
  return millis;
}

/** An HTTP method as the original writes it, upper-cased (and as OTel's http.request.method wants it). */
function upperCased(method: string): string {
  // A loop over a method's few characters costs less than a regular expression's call.
  for (let i = 0; i < method.length; i++) {
    const code = method.charCodeAt(i);
    if (code >= 0x61 && code <= 0x7a) return method.toUpperCase();
  }
  return method;
}

/** The settings that differ between two configurations, each as { from, to }. */
function configurationChanges(before: JsonObject, after: JsonObject): JsonObject {
  const changes: JsonObject = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const from = before[key] ?? null;
    const to = after[key] ?? null;
    if (JSON.stringify(from) !== JSON.stringify(to)) changes[key] = { from, to };
  }
  return changes;
}

/** The given fields without undefined values, or undefined when none is left. */
function compact(fields: Record<string, unknown>): Record<string, unknown> | undefined {
  let result: Record<string, unknown> | undefined;
  for (const key in fields) {
    if (fields[key] !== undefined) (result ??= {})[key] = fields[key];
  }
  return result;
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
const SECURITY_DEFAULTS: MethodDefaults = {
  level: LogLevel.AUDIT,
  module: BusinessModule.AUTH,
  action: AuditAction.LOGIN,
  user: "UNKNOWN",
};
const SECURITY_FAILURE_DEFAULTS: MethodDefaults = { ...SECURITY_DEFAULTS, level: LogLevel.SECURITY };
const AUDITING_DEFAULTS: MethodDefaults = { level: LogLevel.NORMAL, module: BusinessModule.SYSTEM, action: AuditAction.READ };
