/** auditx/koa: request auditing for Koa 2 and 3. Koa itself is never imported here. */
import type { Context, Middleware, Next } from "koa";
import type { RequestAuditOptions } from "./RequestAuditOptions.js";
import { RequestAuditor } from "./RequestAuditor.js";

export type { RequestAuditOptions, RequestOutcome } from "./RequestAuditOptions.js";

export type KoaAuditOptions = RequestAuditOptions<Context, Context>;

/**
 * Audits every request: the rest of the middleware chain runs in a
 * RequestContext scope (request id, session id, `ctx.ip` as Koa resolves it
 * under `app.proxy`, method, endpoint), and one completion entry is written
 * when the response ends. Errors are recorded and rethrown to Koa's handling.
 */
export function auditMiddleware(options: KoaAuditOptions = {}): Middleware {
  const auditor = new RequestAuditor<Context, Context>(options);
  return async function auditRequests(ctx: Context, next: Next): Promise<void> {
    if (!auditor.audits(ctx.originalUrl, ctx)) return next();
    const audited = auditor.begin({ method: ctx.method, url: ctx.originalUrl, headers: ctx.headers, ip: ctx.ip });
    if (auditor.echoHeader) ctx.set(auditor.echoHeader, audited.requestId);
    auditor.completeOnResponseEnd(audited, ctx, ctx, ctx.res, () => {
      const matched = (ctx as { _matchedRoute?: unknown })._matchedRoute;
      if (typeof matched === "string") audited.route = matched;
    });
    try {
      await auditor.run(audited, next);
    } catch (error) {
      audited.fail(error);
      // Koa's error response clears the headers and then applies err.headers: keep the echoed id on it.
      if (auditor.echoHeader && error !== null && typeof error === "object") {
        try {
          const carried = error as { headers?: Record<string, unknown> };
          carried.headers = { ...carried.headers, [auditor.echoHeader]: audited.requestId };
        } catch {
          // A frozen error keeps its headers; the response then goes without the echo.
        }
      }
      throw error;
    }
  };
}
