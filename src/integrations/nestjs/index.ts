/** auditx/nestjs: AuditModule, the `@Audit` decorator and request auditing for NestJS 11 on Express or Fastify. */
import { Inject } from "@nestjs/common";
import { AuditLogger } from "../../api/AuditLogger.js";

export type { RequestOutcome } from "../RequestAuditOptions.js";
export { Audit, type AuditCall, type AuditDecoratorOptions, type AuditValue } from "./Audit.js";
export { AuditModule } from "./AuditModule.js";
export {
  AUDIT_MODULE_OPTIONS,
  type AuditModuleAsyncOptions,
  type AuditModuleOptions,
  type AuditOptionsFactory,
  type NestHttpRequest,
} from "./AuditModuleOptions.js";

/** `@InjectAuditLogger()`: the module's logger, for code compiled without decorator metadata (same as `@Inject(AuditLogger)`). */
export function InjectAuditLogger(): PropertyDecorator & ParameterDecorator {
  return Inject(AuditLogger);
}
