import type { IncomingMessage, ServerResponse } from "node:http";
import type { InjectionToken, ModuleMetadata, OptionalFactoryDependency, Type } from "@nestjs/common";
import type { AuditLogger } from "../../api/AuditLogger.js";
import type { AuditLoggerOptions } from "../../api/options.js";
import type { RequestAuditOptions } from "../RequestAuditOptions.js";
import { RequestAuditor } from "../RequestAuditor.js";

/**
 * The request as auditx's middleware sees it: Express's request on the Express
 * platform, Node's IncomingMessage (with `originalUrl` and `ip` set by
 * @fastify/middie) on the Fastify platform.
 */
export type NestHttpRequest = IncomingMessage & { originalUrl?: string; ip?: string };

/** `AuditModule.forRoot(options)`: the logger to provide, and the request auditing options every adapter takes. */
export interface AuditModuleOptions extends RequestAuditOptions<NestHttpRequest, ServerResponse> {
  /**
   * The logger provided for injection (`AuditLogger`) and used for completion
   * and `@Audit` entries. Default: the global `audit`.
   */
  logger?: AuditLogger;
  /** Configure the global `audit` logger with these options when the module starts (instead of `logger`). */
  configure?: AuditLoggerOptions;
  /**
   * Write one completion entry per HTTP request (default true). With false the
   * middleware still opens each request's RequestContext scope (ids, IP, what
   * guards set), so `@Audit` entries keep their context.
   */
  auditRequests?: boolean;
}

/** A class that makes the options, for `forRootAsync({ useClass })` or `useExisting`. */
export interface AuditOptionsFactory {
  createAuditOptions(): AuditModuleOptions | Promise<AuditModuleOptions>;
}

/** `AuditModule.forRootAsync(options)`: options made by a factory with injected dependencies (ConfigService ...). */
export interface AuditModuleAsyncOptions extends Pick<ModuleMetadata, "imports"> {
  // biome-ignore lint/suspicious/noExplicitAny: the factory's parameters are the injected providers, of any type.
  useFactory?: (...args: any[]) => AuditModuleOptions | Promise<AuditModuleOptions>;
  inject?: Array<InjectionToken | OptionalFactoryDependency>;
  useClass?: Type<AuditOptionsFactory>;
  useExisting?: Type<AuditOptionsFactory>;
}

/** The injection token of the module's resolved options. */
export const AUDIT_MODULE_OPTIONS = Symbol.for("auditx.nestjs.moduleOptions");

/** Mistakes are reported when the module is set up, with the option's name, not on the first request. */
export function validateModuleOptions(options: AuditModuleOptions): AuditModuleOptions {
  if (options === null || typeof options !== "object") throw new TypeError("AuditModule options: expected an object");
  if (options.logger !== undefined && options.configure !== undefined) {
    throw new TypeError(
      "AuditModule options: give either `logger` (your AuditLogger) or `configure` (options for the global one), not both",
    );
  }
  if (options.configure !== undefined && (options.configure === null || typeof options.configure !== "object")) {
    throw new TypeError("configure: expected the options of configure()");
  }
  if (options.auditRequests !== undefined && typeof options.auditRequests !== "boolean") {
    throw new TypeError("auditRequests: expected true or false");
  }
  // The request options are checked as the middleware will read them.
  new RequestAuditor(options);
  return options;
}
