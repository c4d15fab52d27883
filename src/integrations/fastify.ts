/** auditx/fastify: request auditing as a Fastify 5 plugin (fastify-plugin, so its hooks apply app-wide). */
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from "fastify";
import fastifyPlugin from "fastify-plugin";
import type { RequestAuditOptions } from "./RequestAuditOptions.js";
import { AUDITED_REQUEST as AUDITED, type AuditedRequest, RequestAuditor } from "./RequestAuditor.js";

export type { RequestAuditOptions, RequestOutcome } from "./RequestAuditOptions.js";

export type FastifyAuditOptions = RequestAuditOptions<FastifyRequest, FastifyReply>;

type Decorated = FastifyRequest & { [AUDITED]?: AuditedRequest | null };

const plugin: FastifyPluginCallback<FastifyAuditOptions> = (fastify, options, done) => {
  const auditor = new RequestAuditor<FastifyRequest, FastifyReply>(options);
  fastify.decorateRequest(AUDITED as unknown as string, null);

  fastify.addHook("onRequest", (request, reply, next) => {
    if (!auditor.audits(request.url, request)) return next();
    const audited = auditor.begin({ method: request.method, url: request.url, headers: request.headers, ip: request.ip });
    if (auditor.echoHeader) reply.header(auditor.echoHeader, audited.requestId);
    (request as Decorated)[AUDITED] = audited;
    // The rest of the lifecycle continues from next(): Fastify 5 resumes after body parsing in the
    // parser's own AsyncResource, so preValidation, preHandler guards and the handler stay in this scope.
    auditor.run(audited, next);
  });

  fastify.addHook("onError", (request, _reply, error, next) => {
    (request as Decorated)[AUDITED]?.fail(error);
    next();
  });

  fastify.addHook("onResponse", (request, reply, next) => {
    const audited = (request as Decorated)[AUDITED];
    if (audited) complete(auditor, audited, request, reply, reply.statusCode, false);
    next();
  });

  fastify.addHook("onRequestAbort", (request, next) => {
    const audited = (request as Decorated)[AUDITED];
    if (audited) complete(auditor, audited, request, undefined, undefined, true);
    next();
  });

  done();
};

function complete(
  auditor: RequestAuditor<FastifyRequest, FastifyReply>,
  audited: AuditedRequest,
  request: FastifyRequest,
  reply: FastifyReply | undefined,
  status: number | undefined,
  aborted: boolean,
): void {
  const route = request.routeOptions?.url;
  if (typeof route === "string") audited.route = route;
  auditor.complete(audited, request, reply as FastifyReply, status, aborted);
}

/**
 * The auditx plugin: `app.register(auditPlugin, { logger })`. Each request
 * runs in a RequestContext scope (request id, session id, `request.ip` as
 * Fastify resolves it under `trustProxy`, method, endpoint) from onRequest to
 * the handler, and one completion entry is written in onResponse.
 */
export const auditPlugin = fastifyPlugin(plugin, { name: "auditx", fastify: "5.x" });

export default auditPlugin;
