import {
  type CanActivate,
  type ExecutionContext,
  ForbiddenException,
  Injectable,
  SetMetadata,
  UnauthorizedException,
} from "@nestjs/common";
import { Reflector } from "@nestjs/core";
import { AuditAction, AuditLogger, RequestContext } from "auditx";

/** `@Roles("manager")`: the roles allowed to call a handler (any known role when absent). */
export const Roles = Reflector.createDecorator<string[]>();

/** `@Public()`: a handler anyone may call (health probes). */
export const Public = () => SetMetadata("public", true);

const KNOWN_ROLES = new Set(["manager", "cashier", "accountant"]);

/**
 * A header-based auth guard standing in for your JWT or session guard. It
 * runs after auditx's middleware, so the user it sets reaches every entry of
 * the request, the completion entry included.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditLogger,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.reflector.getAllAndOverride<boolean>("public", [context.getHandler(), context.getClass()])) return true;
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined>; url: string }>();
    const user = request.headers["x-user"];
    const role = request.headers["x-role"];
    if (!user || !role || !KNOWN_ROLES.has(role)) {
      this.audit.logSecurity("API call without valid credentials", {
        action: AuditAction.LOGIN,
        success: false,
        user: user || "anonymous",
      });
      throw new UnauthorizedException("X-User and a known X-Role are required");
    }
    RequestContext.update({ user, userRole: role, companyId: request.headers["x-company"], branchId: request.headers["x-branch"] });
    const allowed = this.reflector.getAllAndOverride(Roles, [context.getHandler(), context.getClass()]);
    if (allowed && !allowed.includes(role)) {
      this.audit.logSecurity(`Permission denied for ${user} (${role})`, { action: AuditAction.READ, success: false, level: "WARNING" });
      throw new ForbiddenException(`requires role ${allowed.join(" or ")}`);
    }
    return true;
  }
}
