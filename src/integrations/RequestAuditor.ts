import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import type { AuditLogger } from "../api/AuditLogger.js";
import { audit } from "../api/configure.js";
import { currentContext, RequestContext, type RequestContextFields } from "../api/RequestContext.js";
import { AuditAction, LogLevel } from "../entry/enums.js";
import { DEFAULT_EXCLUDED_PATHS, PathExclusion } from "./PathExclusion.js";
import { QueryRedactor } from "./QueryRedactor.js";
import type { RequestAuditOptions, RequestOutcome } from "./RequestAuditOptions.js";
import { generatedId, MAX_REQUEST_ID_LENGTH, MAX_SESSION_ID_LENGTH, safeHeaderId } from "./requestIds.js";

/** What an adapter reads from its framework's request before the handler runs. */
export interface IncomingRequest {
  method: string;
  /** Path and query as received (Express originalUrl, Koa originalUrl, Fastify url). */
  url: string;
  headers: IncomingHttpHeaders;
  /** The client address as the framework resolves it (trust proxy settings applied). */
  ip: string | undefined;
}

const ACTION_OF_METHOD: Record<string, AuditAction> = {
  POST: AuditAction.CREATE,
  GET: AuditAction.READ,
  HEAD: AuditAction.READ,
  PUT: AuditAction.UPDATE,
  PATCH: AuditAction.UPDATE,
  DELETE: AuditAction.DELETE,
};

/** The status logged for a request whose client went away before the response was complete (as nginx does). */
export const CLIENT_CLOSED_REQUEST = 499;

/**
 * Where an adapter keeps a request's AuditedRequest on the framework's request
 * object. One registry-wide symbol, so adapters find each other's: a request
 * already audited (Express middleware in front of a NestJS app) is audited once.
 */
export const AUDITED_REQUEST = Symbol.for("auditx.auditedRequest");

/** One audited request: its ids, its timing and the live context store its handlers update. */
export class AuditedRequest {
  /** The scope's store, shared with everything the handler runs: guards' `RequestContext.update()` land here. */
  store: RequestContextFields;
  error: unknown = undefined;
  /** Extra metadata an adapter knows only at the end (the matched route). */
  route: string | undefined = undefined;
  private completed = false;

  constructor(
    readonly requestId: string,
    readonly method: string,
    /** The path without the query (for the description and exclusion). */
    readonly path: string,
    readonly fields: RequestContextFields,
    readonly startedAt: number,
  ) {
    this.store = fields;
  }

  /** Records the error once: the first one is the cause, later ones are consequences. */
  fail(error: unknown): void {
    if (this.error === undefined) this.error = error ?? new Error("unknown error");
  }

  /** True the first time only, so that `finish` and `close` together write one entry. */
  claimCompletion(): boolean {
    if (this.completed) return false;
    this.completed = true;
    return true;
  }
}

/**
 * The framework-independent part of request auditing: resolves ids and the
 * client's context, opens the RequestContext scope around the handler, and
 * writes one completion entry per request. Everything optional is resolved
 * once here, so the per-request path stays short.
 */
export class RequestAuditor<Req = unknown, Res = unknown> {
  /** The response header the request id is echoed in, or null when echo is off. */
  readonly echoHeader: string | null;
  private readonly loggerOption: AuditLogger | undefined;
  private readonly exclusion: PathExclusion;
  private readonly redactor: QueryRedactor;
  private readonly requestIdHeader: string;
  private readonly sessionIdHeader: string;
  private readonly generate: () => string;
  private readonly module: string;
  private readonly skipRequest: ((req: Req) => boolean) | undefined;
  private readonly describe: RequestAuditOptions<Req, Res>["describe"];
  private readonly extraMetadata: RequestAuditOptions<Req, Res>["metadata"];
  private readonly onWriteError: (error: unknown) => void;

  constructor(options: RequestAuditOptions<Req, Res> = {}) {
    if (options === null || typeof options !== "object") throw new TypeError("audit middleware options: expected an object");
    validateOptions(options as RequestAuditOptions<never, never>);
    const requestIdHeader = headerName(options.requestIdHeader, "X-Request-ID", "requestIdHeader");
    this.loggerOption = options.logger;
    this.exclusion = new PathExclusion(options.excludePaths ?? DEFAULT_EXCLUDED_PATHS);
    this.redactor = new QueryRedactor(options.redactQueryParams, options.includeQuery ?? true);
    this.requestIdHeader = requestIdHeader.toLowerCase();
    this.sessionIdHeader = headerName(options.sessionIdHeader, "X-Session-ID", "sessionIdHeader").toLowerCase();
    this.echoHeader = options.echoRequestId === false ? null : requestIdHeader;
    this.generate = options.generateRequestId ?? randomUUID;
    this.module = options.module ?? "system";
    this.skipRequest = options.skip;
    this.describe = options.describe;
    this.extraMetadata = options.metadata;
    this.onWriteError = options.onWriteError ?? reportWriteError;
  }

  /** The logger of the completion entries; the global one is looked up per request so configure() after setup applies. */
  get logger(): AuditLogger {
    return this.loggerOption ?? audit;
  }

  /** Whether this request is to be audited at all (excludePaths, then skip()). */
  audits(url: string, req: Req): boolean {
    if (this.exclusion.excludes(pathOf(url))) return false;
    if (this.skipRequest) {
      try {
        return !this.skipRequest(req);
      } catch {
        return true;
      }
    }
    return true;
  }

  /** Starts the clock and resolves the request's context fields. */
  begin(incoming: IncomingRequest): AuditedRequest {
    const requestId = safeHeaderId(incoming.headers, this.requestIdHeader, MAX_REQUEST_ID_LENGTH) ?? generatedId(this.generate);
    const sessionId = safeHeaderId(incoming.headers, this.sessionIdHeader, MAX_SESSION_ID_LENGTH);
    const method = (incoming.method || "GET").toUpperCase();
    const fields: RequestContextFields = { requestId, method, endpoint: this.redactor.endpoint(incoming.url || "/") };
    if (sessionId !== undefined) fields.sessionId = sessionId;
    if (incoming.ip) fields.ip = incoming.ip;
    return new AuditedRequest(requestId, method, pathOf(incoming.url || "/"), fields, performance.now());
  }

  /** Runs `fn` (the rest of the request) in a new RequestContext scope holding the request's fields. */
  run<T>(request: AuditedRequest, fn: () => T): T {
    return RequestContext.run(request.fields, () => {
      request.store = currentContext() ?? request.fields;
      return fn();
    });
  }

  /**
   * Writes the completion entry when the Node response has been sent
   * ('finish'), or when its connection closed before that ('close': aborted,
   * status 499 unless headers were already sent). `beforeComplete` runs first,
   * for what the adapter knows only at the end (the matched route).
   */
  completeOnResponseEnd(request: AuditedRequest, req: Req, res: Res, response: ServerResponse, beforeComplete?: () => void): void {
    const complete = (aborted: boolean) => {
      if (beforeComplete) {
        try {
          beforeComplete();
        } catch {
          // What an adapter adds at the end is optional; the entry is not.
        }
      }
      this.complete(request, req, res, response.headersSent || !aborted ? response.statusCode : undefined, aborted);
    };
    response.once("finish", () => complete(false));
    response.once("close", () => complete(!response.writableFinished));
  }

  /** Writes the completion entry (once per request). Never throws: the response is already decided. */
  complete(request: AuditedRequest, req: Req, res: Res, status: number | undefined, aborted = false): void {
    if (!request.claimCompletion()) return;
    try {
      this.write(request, req, res, status, aborted);
    } catch (error) {
      try {
        this.onWriteError(error);
      } catch {
        // A failing error reporter must not take the server down either.
      }
    }
  }

  private write(request: AuditedRequest, req: Req, res: Res, status: number | undefined, aborted: boolean): void {
    const durationMs = Math.round((performance.now() - request.startedAt) * 1000) / 1000;
    const failed = request.error !== undefined;
    const finalStatus = status && status >= 100 ? status : failed ? 500 : aborted ? CLIENT_CLOSED_REQUEST : 200;
    const outcome: RequestOutcome = { status: finalStatus, error: request.error, aborted, durationMs };
    const message = failed ? errorMessage(request.error) : undefined;
    let level: LogLevel;
    if (failed) level = finalStatus >= 400 && finalStatus < 500 ? LogLevel.WARNING : LogLevel.ERROR;
    else level = finalStatus >= 500 ? LogLevel.ERROR : finalStatus >= 400 ? LogLevel.WARNING : LogLevel.AUDIT;
    const success = !failed && !aborted && finalStatus >= 200 && finalStatus < 400;
    const description = this.describe
      ? this.describe(req, res, outcome)
      : failed
        ? `HTTP Request Failed: ${message}`
        : `HTTP ${request.method} ${request.path} completed with ${finalStatus}`;
    const metadata: Record<string, unknown> = { duration_ms: durationMs };
    if (request.route) metadata.route = request.route;
    if (failed) metadata.error = message;
    if (aborted) metadata.aborted = true;
    if (this.extraMetadata) Object.assign(metadata, this.extraMetadata(req, res, outcome));
    // The fields come from the request's own store: at 'finish' time the active scope may be another one.
    const store = request.store;
    this.logger.log(description, {
      level,
      module: this.module,
      action: ACTION_OF_METHOD[request.method] ?? AuditAction.READ,
      user: store.user ?? "SYSTEM",
      userRole: store.userRole ?? "",
      companyId: store.companyId ?? "",
      branchId: store.branchId ?? "",
      // A guard's RequestContext.set() replaces the fields: the request's own ids still identify it.
      requestId: store.requestId ?? request.requestId,
      sessionId: store.sessionId ?? request.fields.sessionId ?? "",
      ip: store.ip ?? request.fields.ip ?? "",
      method: request.method,
      endpoint: request.fields.endpoint,
      status: finalStatus,
      success,
      metadata,
    });
  }
}

/** The path part of a request URL. */
export function pathOf(url: string): string {
  const mark = url.indexOf("?");
  return mark === -1 ? url : url.slice(0, mark);
}

/** An error's message for the trail (thrown values that are not Errors included). */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === "string") return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}

/** Mistakes in the options are reported when the middleware is built, not on the first request. */
function validateOptions(options: RequestAuditOptions<never, never>): void {
  const logger = options.logger as { log?: unknown; logSecurity?: unknown } | undefined;
  if (logger !== undefined && (typeof logger?.log !== "function" || typeof logger.logSecurity !== "function")) {
    throw new TypeError("logger: expected an AuditLogger (from createLogger() or configure())");
  }
  for (const name of ["excludePaths", "redactQueryParams"] as const) {
    const rules = options[name];
    if (rules === undefined) continue;
    if (!Array.isArray(rules) || !rules.every((rule) => typeof rule === "string" || rule instanceof RegExp)) {
      throw new TypeError(`${name}: expected an array of strings and RegExps`);
    }
  }
  for (const name of ["skip", "describe", "metadata", "generateRequestId", "onWriteError"] as const) {
    if (options[name] !== undefined && typeof options[name] !== "function") throw new TypeError(`${name}: expected a function`);
  }
}

const HEADER_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function headerName(value: string | undefined, fallback: string, option: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || !HEADER_TOKEN.test(value)) {
    throw new TypeError(`${option}: expected an HTTP header name, got ${JSON.stringify(value)}`);
  }
  return value;
}

function reportWriteError(error: unknown): void {
  process.emitWarning(`auditx: the request's completion entry could not be written: ${errorMessage(error)}`, "AuditWriteWarning");
}
