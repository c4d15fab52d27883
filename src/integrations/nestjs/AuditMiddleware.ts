import type { ServerResponse } from "node:http";
import { Inject, Injectable, type NestMiddleware } from "@nestjs/common";
import { AuditLogger } from "../../api/AuditLogger.js";
import { AUDITED_REQUEST, type AuditedRequest, RequestAuditor } from "../RequestAuditor.js";
import { AUDIT_MODULE_OPTIONS, type AuditModuleOptions, type NestHttpRequest } from "./AuditModuleOptions.js";

type Marked = { [AUDITED_REQUEST]?: AuditedRequest };

/**
 * Opens the request's RequestContext scope before Nest runs guards,
 * interceptors, pipes and the handler, so that a guard's
 * `RequestContext.update({ user })` reaches the completion entry; writes that
 * entry when the response has ended. On Express it gets Express's request, on
 * Fastify the raw one (through @fastify/middie), so one middleware serves both.
 */
@Injectable()
export class AuditMiddleware implements NestMiddleware<NestHttpRequest, ServerResponse> {
  private readonly auditor: RequestAuditor<NestHttpRequest, ServerResponse>;
  /** false: the scope is still opened (so `@Audit` entries carry the request's context), but no completion entry is written. */
  private readonly writesCompletion: boolean;

  constructor(@Inject(AUDIT_MODULE_OPTIONS) options: AuditModuleOptions, @Inject(AuditLogger) logger: AuditLogger) {
    this.auditor = new RequestAuditor({ ...options, logger });
    this.writesCompletion = options.auditRequests !== false;
  }

  use(req: NestHttpRequest, res: ServerResponse, next: (error?: unknown) => void): void {
    const url = req.originalUrl ?? req.url ?? "/";
    // Audited already (auditx/express in front of the Nest app): one entry per request.
    if ((req as Marked)[AUDITED_REQUEST] || !this.auditor.audits(url, req)) {
      next();
      return;
    }
    const audited = this.auditor.begin({ method: req.method ?? "GET", url, headers: req.headers, ip: req.ip ?? req.socket?.remoteAddress });
    (req as Marked)[AUDITED_REQUEST] = audited;
    if (this.auditor.echoHeader) res.setHeader(this.auditor.echoHeader, audited.requestId);
    if (this.writesCompletion) {
      this.auditor.completeOnResponseEnd(audited, req, res, res, () => {
        // The interceptor names the route; a request a guard refused has Express's match at most.
        audited.route ??= expressRoute(req);
      });
    }
    this.auditor.run(audited, next);
  }
}

/** The AuditedRequest of a platform request (Express's request, or Fastify's whose `raw` the middleware saw). */
export function auditedRequestOf(request: unknown): AuditedRequest | undefined {
  if (request === null || typeof request !== "object") return undefined;
  const own = (request as Marked)[AUDITED_REQUEST];
  if (own) return own;
  const raw = (request as { raw?: unknown }).raw;
  return raw !== null && typeof raw === "object" ? (raw as Marked)[AUDITED_REQUEST] : undefined;
}

/** The matched route's pattern on either platform ("/invoices/:id"). */
export function routeOf(request: unknown): string | undefined {
  if (request === null || typeof request !== "object") return undefined;
  const fastifyRoute = (request as { routeOptions?: { url?: unknown } }).routeOptions?.url;
  if (typeof fastifyRoute === "string") return fastifyRoute;
  return expressRoute(request);
}

function expressRoute(request: unknown): string | undefined {
  const { route, baseUrl } = request as { route?: { path?: unknown }; baseUrl?: unknown };
  if (typeof route?.path !== "string") return undefined;
  return `${typeof baseUrl === "string" ? baseUrl : ""}${route.path}`;
}
