import { SetMetadata } from "@nestjs/common";
import type { LevelInput } from "../../api/options.js";
import { type AuditAction, type BusinessModule, LogLevel } from "../../entry/enums.js";

/**
 * What a value function of `@Audit` receives when the handler has settled.
 * `Body` and `Result` default to `any` so that `({ body }) => body.customerId`
 * reads as plainly as the handler itself.
 */
// biome-ignore lint/suspicious/noExplicitAny: request bodies and handler results are the application's own types.
export interface AuditCall<Body = any, Result = any> {
  /** Route parameters (`/invoices/:id` gives `{ id }`). */
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: Body;
  /** The handler's result (the last value of an Observable); undefined when it failed. */
  result: Result | undefined;
  /** The error the handler threw or rejected with; undefined on success. */
  error: unknown;
  /** Whether the handler failed. */
  failed: boolean;
  /** The handler's arguments as Nest passed them (after pipes). */
  args: unknown[];
  /** The platform's request (Express or Fastify), or the RPC/WebSocket data outside HTTP. */
  request: unknown;
  /** `ControllerName.methodName`. */
  handler: string;
}

/** A fixed value, or a small function that takes it from the call's params, body or result. */
// biome-ignore lint/suspicious/noExplicitAny: see AuditCall.
export type AuditValue<T, Body = any, Result = any> = T | ((call: AuditCall<Body, Result>) => T | undefined);

/** `@Audit(options)`: the business entry written when the handler settles. */
// biome-ignore lint/suspicious/noExplicitAny: see AuditCall.
export interface AuditDecoratorOptions<Body = any, Result = any> {
  /** Default: `Controller.method completed` / `Controller.method failed`. */
  description?: AuditValue<string, Body, Result>;
  module?: AuditValue<BusinessModule | (string & {}), Body, Result>;
  action?: AuditValue<AuditAction | (string & {}), Body, Result>;
  entityType?: AuditValue<string, Body, Result>;
  entityId?: AuditValue<string | number, Body, Result>;
  referenceNo?: AuditValue<string, Body, Result>;
  amount?: AuditValue<number | bigint | string | null, Body, Result>;
  currency?: AuditValue<string, Body, Result>;
  oldValues?: AuditValue<Record<string, unknown>, Body, Result>;
  newValues?: AuditValue<Record<string, unknown>, Body, Result>;
  metadata?: AuditValue<Record<string, unknown>, Body, Result>;
  /** Level of the entry on success (default AUDIT); a failure is WARNING for a 4xx HTTP error, else ERROR. */
  level?: LevelInput;
}

/** The metadata key `@Audit` stores its options under, read by the module's interceptor. */
export const AUDIT_DECORATOR_OPTIONS = "auditx:audit";

const VALUE_FIELDS = [
  "description",
  "module",
  "action",
  "entityType",
  "entityId",
  "referenceNo",
  "amount",
  "currency",
  "oldValues",
  "newValues",
  "metadata",
] as const;

export type AuditValueField = (typeof VALUE_FIELDS)[number];

export const AUDIT_VALUE_FIELDS: ReadonlyArray<AuditValueField> = VALUE_FIELDS;

const KNOWN_FIELDS = new Set<string>([...VALUE_FIELDS, "level"]);
const OBJECT_FIELDS = new Set<string>(["oldValues", "newValues", "metadata"]);
const LEVELS = new Set<string>([...Object.values(LogLevel), "WARN"]);

/**
 * Writes one business entry when the route handler settles: on success with
 * the values given (fixed, or taken from params, body or result by a
 * function), on failure with `success: false` and the error's message, before
 * the error goes on to the application's exception filters. Needs
 * `AuditModule` (its interceptor writes the entry).
 *
 * ```ts
 * @Post()
 * @Audit({ module: BusinessModule.SALES, action: AuditAction.POST, entityType: "sales_invoice",
 *          entityId: ({ result }) => result?.id, description: ({ body }) => `Invoice for ${body.customerId} posted` })
 * post(@Body() body: NewInvoice) { ... }
 * ```
 */
// biome-ignore lint/suspicious/noExplicitAny: see AuditCall.
export function Audit<Body = any, Result = any>(options: AuditDecoratorOptions<Body, Result> = {}): MethodDecorator {
  return SetMetadata(AUDIT_DECORATOR_OPTIONS, validateDecoratorOptions(options));
}

/** Misspelt or mistyped options fail when the class is defined, naming the field, not when a request comes. */
function validateDecoratorOptions<Body, Result>(options: AuditDecoratorOptions<Body, Result>): AuditDecoratorOptions<Body, Result> {
  if (options === null || typeof options !== "object") throw new TypeError("@Audit: expected an options object");
  for (const [name, value] of Object.entries(options)) {
    if (!KNOWN_FIELDS.has(name)) throw new TypeError(`@Audit: unknown option ${JSON.stringify(name)}`);
    if (value === undefined || typeof value === "function") continue;
    if (name === "level") {
      if (typeof value !== "string" || !LEVELS.has(value.toUpperCase())) {
        throw new TypeError(`@Audit level: expected a LogLevel, got ${JSON.stringify(value)}`);
      }
    } else if (OBJECT_FIELDS.has(name)) {
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        throw new TypeError(`@Audit ${name}: expected an object or a function`);
      }
    } else if (!["string", "number", "bigint"].includes(typeof value) && !(name === "amount" && value === null)) {
      throw new TypeError(`@Audit ${name}: expected a value or a function, got ${typeof value}`);
    }
  }
  return Object.freeze({ ...options });
}
