/** auditx/fastify: request auditing as a Fastify 5 plugin (fastify-plugin, so its hooks apply app-wide). */
import { AsyncResource } from "node:async_hooks";
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from "fastify";
import fastifyPlugin from "fastify-plugin";
import type { RequestAuditOptions } from "./RequestAuditOptions.js";
import { type AuditedRequest, RequestAuditor } from "./RequestAuditor.js";

export type { RequestAuditOptions, RequestOutcome } from "./RequestAuditOptions.js";

export type FastifyAuditOptions = RequestAuditOptions<FastifyRequest, FastifyReply>;

const AUDITED = Symbol.for("auditx.auditedRequest");

/** The request's audit record and the async resource that re-enters its RequestContext scope. */
interface AuditedFastifyRequest {
  audited: AuditedRequest;
  scope: AsyncResource;
}

type Decorated = FastifyRequest & { [AUDITED]?: AuditedFastifyRequest | null };

const plugin: FastifyPluginCallback<FastifyAuditOptions> = (fastify, options, done) => {
  const auditor = new RequestAuditor<FastifyRequest, FastifyReply>(options);
  fastify.decorateRequest(AUDITED as unknown as string, null);

  fastify.addHook("onRequest", (request, reply, next) => {
    if (!auditor.audits(request.url, request)) return next();
    const audited = auditor.begin({ method: request.method, url: request.url, headers: request.headers, ip: request.ip });
    if (auditor.echoHeader) reply.header(auditor.echoHeader, audited.requestId);
    auditor.run(audited, () => {
      (request as Decorated)[AUDITED] = { audited, scope: new AsyncResource("auditx.request") };
      next();
    });
  });

  // Body parsing continues from the request stream's events, which need not run in the scope
  // opened by onRequest: re-enter it so that preValidation, preHandler guards and the handler share it.
  fastify.addHook("preValidation", (request, _reply, next) => {
    const state = (request as Decorated)[AUDITED];
    if (state) state.scope.runInAsyncScope(next);
    else next();
  });

  fastify.addHook("onError", (request, _reply, error, next) => {
    (request as Decorated)[AUDITED]?.audited.fail(error);
    next();
  });

  fastify.addHook("onResponse", (request, reply, next) => {
    const state = (request as Decorated)[AUDITED];
    if (state) complete(auditor, state, request, reply, reply.statusCode, false);
    next();
  });

  fastify.addHook("onRequestAbort", (request, next) => {
    const state = (request as Decorated)[AUDITED];
    if (state) complete(auditor, state, request, undefined, undefined, true);
    next();
  });

  done();
};

function complete(
  auditor: RequestAuditor<FastifyRequest, FastifyReply>,
  state: AuditedFastifyRequest,
  request: FastifyRequest,
  reply: FastifyReply | undefined,
  status: number | undefined,
  aborted: boolean,
): void {
  const route = request.routeOptions?.url;
  if (typeof route === "string") state.audited.route = route;
  auditor.complete(state.audited, request, reply as FastifyReply, status, aborted);
}

/**
 * The auditx plugin: `app.register(auditPlugin, { logger })`. Each request
 * runs in a RequestContext scope (request id, session id, `request.ip` as
 * Fastify resolves it under `trustProxy`, method, endpoint) from onRequest to
 * the handler, and one completion entry is written in onResponse.
 */
export const auditPlugin = fastifyPlugin(plugin, { name: "auditx", fastify: "5.x" });

export default auditPlugin;
