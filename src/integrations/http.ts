/** auditx/http: request auditing for plain node:http servers. */
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from "node:http";
import { clientAddress, type TrustProxy } from "./clientAddress.js";
import type { RequestAuditOptions } from "./RequestAuditOptions.js";
import { RequestAuditor } from "./RequestAuditor.js";

export type { TrustProxy } from "./clientAddress.js";
export type { RequestAuditOptions, RequestOutcome } from "./RequestAuditOptions.js";

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

export interface HttpAuditOptions extends RequestAuditOptions<IncomingMessage, ServerResponse> {
  /** Believe X-Forwarded-For for the client IP: true for every hop, a number for that many proxies (default false). */
  trustProxy?: TrustProxy;
  /**
   * Answers a request whose handler threw or rejected (after the error is
   * recorded). Default: 500 "Internal Server Error" when nothing was sent yet,
   * else the connection is closed.
   */
  onError?: (error: unknown, req: IncomingMessage, res: ServerResponse) => void;
}

/**
 * Wraps a `(req, res)` handler: it runs in a RequestContext scope (request id,
 * session id, client IP, method, endpoint) and one completion entry is
 * written when the response ends; a thrown or rejected error is recorded
 * (ERROR, success false) and answered by `onError`.
 */
export function withAudit(handler: RequestHandler, options: HttpAuditOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  if (typeof handler !== "function") throw new TypeError("withAudit: expected a (req, res) handler function");
  const auditor = new RequestAuditor<IncomingMessage, ServerResponse>(options);
  const trustProxy = options.trustProxy ?? false;
  const answer = options.onError ?? answerError;
  const onError = (error: unknown, req: IncomingMessage, res: ServerResponse) => {
    try {
      answer(error, req, res);
    } catch {
      // A failing onError must not leave the client hanging or crash the server.
      answerError(error, req, res);
    }
  };
  return function auditedHandler(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? "/";
    if (!auditor.audits(url, req)) {
      runHandler(handler, req, res, (error) => onError(error, req, res));
      return;
    }
    const audited = auditor.begin({ method: req.method ?? "GET", url, headers: req.headers, ip: clientAddress(req, trustProxy) });
    if (auditor.echoHeader) res.setHeader(auditor.echoHeader, audited.requestId);
    auditor.completeOnResponseEnd(audited, req, res, res);
    auditor.run(audited, () =>
      runHandler(handler, req, res, (error) => {
        audited.fail(error);
        onError(error, req, res);
      }),
    );
  };
}

/** `http.createServer` with the handler wrapped by `withAudit`. */
export function createAuditedServer(handler: RequestHandler, options: HttpAuditOptions & { server?: ServerOptions } = {}): Server {
  const { server, ...auditOptions } = options;
  return createServer(server ?? {}, withAudit(handler, auditOptions));
}

function runHandler(handler: RequestHandler, req: IncomingMessage, res: ServerResponse, failed: (error: unknown) => void): void {
  let result: unknown;
  try {
    result = handler(req, res);
  } catch (error) {
    failed(error);
    return;
  }
  if (result && typeof (result as PromiseLike<unknown>).then === "function") {
    (result as PromiseLike<unknown>).then(undefined, failed);
  }
}

function answerError(_error: unknown, _req: IncomingMessage, res: ServerResponse): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.statusCode = 500;
  res.setHeader("Content-Type", "text/plain; charset=utf-8");
  res.end("Internal Server Error");
}
