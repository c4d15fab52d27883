import { performance } from "node:perf_hooks";
import { type CallHandler, type ExecutionContext, Inject, Injectable, type NestInterceptor } from "@nestjs/common";
import { Reflector } from "@nestjs/core";
import { type Observable, tap } from "rxjs";
import { AuditLogger } from "../../api/AuditLogger.js";
import type { EntryOptions } from "../../api/options.js";
import type { RequestContextFields } from "../../api/RequestContext.js";
import { LogLevel } from "../../entry/enums.js";
import { type AuditedRequest, errorMessage } from "../RequestAuditor.js";
import { AUDIT_DECORATOR_OPTIONS, AUDIT_VALUE_FIELDS, type AuditCall, type AuditDecoratorOptions, type AuditValueField } from "./Audit.js";
import { auditedRequestOf, routeOf } from "./AuditMiddleware.js";
import { AUDIT_MODULE_OPTIONS, type AuditModuleOptions } from "./AuditModuleOptions.js";

/**
 * Registered app-wide by AuditModule. For every handler it records the error
 * of a failed one for the request's completion entry, and names the matched
 * route; for a handler marked `@Audit` it writes the business entry when the
 * handler settles. Errors always go on unchanged to the application's
 * exception filters.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  private readonly onWriteError: (error: unknown) => void;

  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(AuditLogger) private readonly logger: AuditLogger,
    @Inject(AUDIT_MODULE_OPTIONS) options: AuditModuleOptions,
  ) {
    this.onWriteError = options.onWriteError ?? reportWriteError;
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.getType() === "http";
    const request: unknown = http ? context.switchToHttp().getRequest() : context.switchToRpc().getData();
    const audited = http ? auditedRequestOf(request) : undefined;
    if (audited) audited.route = routeOf(request) ?? audited.route;
    const options = this.reflector.get<AuditDecoratorOptions | undefined>(AUDIT_DECORATOR_OPTIONS, context.getHandler());
    if (!audited && !options) return next.handle();

    const startedAt = performance.now();
    let result: unknown;
    return next.handle().pipe(
      tap({
        next: (value) => {
          result = value;
        },
        complete: () => {
          // Thrown here, a failed write becomes the request's error: an audited action must not pass unrecorded.
          if (options) this.write(options, this.callOf(context, http, request, result, undefined, false), audited, startedAt);
        },
        error: (error: unknown) => {
          audited?.fail(error);
          if (!options) return;
          try {
            this.write(options, this.callOf(context, http, request, undefined, error, true), audited, startedAt);
          } catch (writeError) {
            // The handler's error is the one the application must see; the lost entry is reported.
            this.reportWriteError(writeError);
          }
        },
      }),
    );
  }

  private callOf(context: ExecutionContext, http: boolean, request: unknown, result: unknown, error: unknown, failed: boolean): AuditCall {
    const source = (http ? request : undefined) as { params?: unknown; query?: unknown; body?: unknown } | undefined;
    return {
      params: (source?.params as Record<string, string> | undefined) ?? {},
      query: (source?.query as Record<string, unknown> | undefined) ?? {},
      body: http ? source?.body : request,
      result,
      error,
      failed,
      args: context.getArgs(),
      request,
      handler: `${context.getClass().name}.${context.getHandler().name}`,
    };
  }

  private write(options: AuditDecoratorOptions, call: AuditCall, audited: AuditedRequest | undefined, startedAt: number): void {
    const values: Partial<Record<AuditValueField, unknown>> = {};
    const valueErrors: Record<string, string> = {};
    for (const field of AUDIT_VALUE_FIELDS) {
      const given = options[field];
      if (typeof given !== "function") {
        values[field] = given;
        continue;
      }
      try {
        values[field] = (given as (call: AuditCall) => unknown)(call);
      } catch (error) {
        // A faulty value function costs that value, never the entry.
        valueErrors[field] = errorMessage(error);
      }
    }
    const metadata: Record<string, unknown> = { ...objectOrUndefined(values.metadata) };
    metadata.duration_ms = Math.round((performance.now() - startedAt) * 1000) / 1000;
    if (call.failed) metadata.error = errorMessage(call.error);
    if (Object.keys(valueErrors).length > 0) metadata.audit_value_errors = valueErrors;

    const entry: EntryOptions = {
      module: textOrUndefined(values.module),
      action: textOrUndefined(values.action),
      entityType: textOrUndefined(values.entityType),
      entityId: textOrUndefined(values.entityId),
      referenceNo: textOrUndefined(values.referenceNo),
      amount: values.amount as EntryOptions["amount"],
      currency: textOrUndefined(values.currency),
      oldValues: objectOrUndefined(values.oldValues),
      newValues: objectOrUndefined(values.newValues),
      metadata,
      level: call.failed ? failureLevel(call.error) : options.level,
      success: !call.failed,
      ...(audited ? contextOf(audited) : undefined),
    };
    const description = textOrUndefined(values.description) ?? `${call.handler} ${call.failed ? "failed" : "completed"}`;
    this.logger.log(description, entry);
  }

  private reportWriteError(error: unknown): void {
    try {
      this.onWriteError(error);
    } catch {
      // A failing reporter must not replace the handler's error either.
    }
  }
}

/**
 * The who and where of the request's own scope, given explicitly: the entry
 * is about this request even if the handler's Observable settles elsewhere.
 */
function contextOf(audited: AuditedRequest): EntryOptions {
  const store: RequestContextFields = audited.store;
  return {
    user: store.user ?? "SYSTEM",
    userRole: store.userRole ?? "",
    companyId: store.companyId ?? "",
    branchId: store.branchId ?? "",
    requestId: store.requestId ?? audited.requestId,
    sessionId: store.sessionId ?? audited.fields.sessionId ?? "",
    ip: store.ip ?? audited.fields.ip ?? "",
    method: audited.method,
    endpoint: audited.fields.endpoint ?? "",
  };
}

/** WARNING for a client error (an HttpException or an error with a 4xx `status`), ERROR for the rest. */
function failureLevel(error: unknown): LogLevel {
  let status: unknown;
  if (error !== null && typeof error === "object") {
    const withStatus = error as { getStatus?: () => unknown; status?: unknown };
    try {
      status = typeof withStatus.getStatus === "function" ? withStatus.getStatus() : withStatus.status;
    } catch {
      status = undefined;
    }
  }
  return typeof status === "number" && status >= 400 && status < 500 ? LogLevel.WARNING : LogLevel.ERROR;
}

function textOrUndefined(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === "string" ? value : String(value);
}

function objectOrUndefined(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function reportWriteError(error: unknown): void {
  process.emitWarning(`auditx: the @Audit entry of a failed handler could not be written: ${errorMessage(error)}`, "AuditWriteWarning");
}
