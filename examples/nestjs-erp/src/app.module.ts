import { Controller, Get, Module } from "@nestjs/common";
import { APP_GUARD } from "@nestjs/core";
import { AuditModule } from "auditx/nestjs";
import { AuthGuard, Public } from "./auth.guard.js";
import { CustomersController } from "./customers.controller.js";
import { InvoicesController } from "./invoices.controller.js";
import { LedgerService } from "./ledger.service.js";

@Controller()
class HealthController {
  @Get("healthz")
  @Public()
  health(): { ok: boolean } {
    return { ok: true };
  }
}

@Module({
  imports: [
    // Global: AuditLogger can be injected anywhere. Every request is audited, /healthz aside.
    AuditModule.forRoot({ configure: { logDir: process.env.AUDITX_LOG_DIR ?? "logs" }, excludePaths: ["/healthz", "/favicon.ico"] }),
  ],
  controllers: [HealthController, CustomersController, InvoicesController],
  providers: [LedgerService, { provide: APP_GUARD, useClass: AuthGuard }],
})
export class AppModule {}
