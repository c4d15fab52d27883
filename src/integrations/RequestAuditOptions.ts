import type { AuditLogger } from "../api/AuditLogger.js";

/** How a request ended, as the completion entry describes it. */
export interface RequestOutcome {
  /** The response status (500 when an error left none; 499 when the client went away first). */
  status: number;
  /** The error the handler threw or passed on, if any. */
  error?: unknown;
  /** The client closed the connection before the response was complete. */
  aborted: boolean;
  durationMs: number;
}

/** Options every adapter (express, fastify, koa, http) accepts. `Req`/`Res` are the framework's own objects. */
export interface RequestAuditOptions<Req = unknown, Res = unknown> {
  /** The logger that writes the completion entries (default: the global `audit`). */
  logger?: AuditLogger;
  /**
   * Paths not audited: a string matches the path exactly or as a parent
   * ("/healthz" also matches "/healthz/live"); a RegExp is tested on the path.
   * Default: /docs, /redoc, /openapi.json, /favicon.ico (the original's) and
   * /healthz, /readyz, /livez. Giving a list replaces the defaults.
   */
  excludePaths?: ReadonlyArray<string | RegExp>;
  /** Header read (case-insensitively) for the request id and echoed on the response (default "X-Request-ID"). */
  requestIdHeader?: string;
  /** Header read for the session id (default "X-Session-ID"). */
  sessionIdHeader?: string;
  /** Echo the request id on the response (default true). */
  echoRequestId?: boolean;
  /** Makes an id when the client sent none, or one that is not safe (default crypto.randomUUID). */
  generateRequestId?: () => string;
  /** `module` of the completion entries (default "system"). */
  module?: string;
  /** Write the query string into `endpoint` (default true). */
  includeQuery?: boolean;
  /**
   * Query parameters whose values are written as "[REDACTED]": a string matches
   * the name case-insensitively, a RegExp is tested on it. Giving a list replaces the defaults
   * (password, token, secret, api key, signature, otp, pin, cvv, code, ... ).
   */
  redactQueryParams?: ReadonlyArray<string | RegExp>;
  /** Return true to leave a request unaudited (checked after excludePaths). */
  skip?: (req: Req) => boolean;
  /** The completion entry's description (default `HTTP GET /path completed with 200` / `HTTP Request Failed: message`). */
  describe?: (req: Req, res: Res, outcome: RequestOutcome) => string;
  /** More metadata for the completion entry (merged after duration_ms). */
  metadata?: (req: Req, res: Res, outcome: RequestOutcome) => Record<string, unknown> | undefined;
  /**
   * Called when the completion entry cannot be written (AuditWriteError). The
   * response is already on its way, so the error cannot reach the handler;
   * default: a process warning on stderr.
   */
  onWriteError?: (error: unknown) => void;
}
