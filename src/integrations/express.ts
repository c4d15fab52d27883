/** auditx/express: request auditing for Express 4 and 5. Express itself is never imported here. */
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from "express";
import type { RequestAuditOptions } from "./RequestAuditOptions.js";
import { AUDITED_REQUEST as AUDITED, type AuditedRequest, RequestAuditor } from "./RequestAuditor.js";

export type { RequestAuditOptions, RequestOutcome } from "./RequestAuditOptions.js";

export type ExpressAuditOptions = RequestAuditOptions<Request, Response>;

type AuditedExpressRequest = Request & { [AUDITED]?: AuditedRequest };

/**
 * Audits every request: opens a RequestContext scope (request id, session id,
 * client IP as Express resolves it under `trust proxy`, method, endpoint) around
 * the rest of the stack and writes one completion entry when the response ends.
 * Register it before the routes; add `auditErrorHandler()` after them to have
 * a thrown error's message in the entry.
 */
export function auditMiddleware(options: ExpressAuditOptions = {}): RequestHandler {
  const auditor = new RequestAuditor<Request, Response>(options);
  return function auditRequests(req: Request, res: Response, next: NextFunction): void {
    const url = req.originalUrl ?? req.url;
    if ((req as AuditedExpressRequest)[AUDITED] || !auditor.audits(url, req)) {
      next();
      return;
    }
    const audited = auditor.begin({ method: req.method, url, headers: req.headers, ip: req.ip });
    (req as AuditedExpressRequest)[AUDITED] = audited;
    if (auditor.echoHeader) res.setHeader(auditor.echoHeader, audited.requestId);
    auditor.completeOnResponseEnd(audited, req, res, res, () => {
      audited.route = routeOf(req);
    });
    auditor.run(audited, next);
  };
}

/**
 * Records the error of a failed request for its completion entry (level
 * ERROR, success false, the error's message) and hands it on to the next
 * error handler unchanged. Register it after the routes, before your own
 * error handlers.
 */
export function auditErrorHandler(): ErrorRequestHandler {
  return function auditErrors(error: unknown, req: Request, _res: Response, next: NextFunction): void {
    (req as AuditedExpressRequest)[AUDITED]?.fail(error);
    next(error);
  };
}

/** The matched route's pattern ("/invoices/:id"), with the mount path of a sub-router. */
function routeOf(req: Request): string | undefined {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof path !== "string") return undefined;
  return `${req.baseUrl ?? ""}${path}`;
}
