/**
 * A small NestJS ERP API with auditx, built the way an application would be:
 * a global guard that sets the user from headers (after an async pause), an
 * application exception filter, services injected by class (decorator
 * metadata), `@Audit` handlers that succeed, fail and stream. Started on the
 * Express or the Fastify platform, on 127.0.0.1 and a free port.
 */
import "reflect-metadata";
import type { AddressInfo } from "node:net";
import {
  type ArgumentsHost,
  Body,
  type CanActivate,
  Catch,
  Controller,
  type DynamicModule,
  type ExceptionFilter,
  type ExecutionContext,
  Get,
  HttpException,
  type INestApplication,
  Injectable,
  Module,
  NotFoundException,
  Param,
  Patch,
  Post,
  UnprocessableEntityException,
} from "@nestjs/common";
import { APP_FILTER, APP_GUARD, HttpAdapterHost, NestFactory } from "@nestjs/core";
import { ExpressAdapter } from "@nestjs/platform-express";
import { FastifyAdapter } from "@nestjs/platform-fastify";
import { type Observable, of } from "rxjs";
import { delay } from "rxjs/operators";
import { AuditAction, AuditLogger, BusinessModule, RequestContext } from "../../src/index.js";
import { Audit, InjectAuditLogger } from "../../src/integrations/nestjs/index.js";

export type Platform = "express" | "fastify";
export const PLATFORMS: Platform[] = ["express", "fastify"];

function pause(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * 8));
}

function header(request: { headers: Record<string, string | string[] | undefined> }, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The application's auth guard: runs after auditx's middleware, so what it sets reaches the completion entry. */
@Injectable()
export class HeaderAuthGuard implements CanActivate {
  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest();
    await pause();
    const user = header(request, "x-user");
    if (!user) return true;
    RequestContext.update({
      user,
      userRole: header(request, "x-role"),
      companyId: header(request, "x-company"),
      branchId: header(request, "x-branch"),
    });
    return header(request, "x-role") !== "suspended";
  }
}

/** The application's own exception filter: auditx records errors and leaves the answer to it. */
@Catch()
export class AppExceptionFilter implements ExceptionFilter {
  static handled: string[] = [];

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const status = exception instanceof HttpException ? exception.getStatus() : 500;
    const message = exception instanceof Error ? exception.message : String(exception);
    AppExceptionFilter.handled.push(message);
    this.adapterHost.httpAdapter.reply(
      host.switchToHttp().getResponse(),
      { error: status >= 500 ? "internal" : message, handled: true },
      status,
    );
  }
}

interface Customer {
  id: string;
  name: string;
  creditLimit: number;
  balance: number;
}

/** Injected by its class: the test compiles with decorator metadata, as applications do. */
@Injectable()
export class LedgerService {
  readonly customers = new Map<string, Customer>([
    ["C-100", { id: "C-100", name: "Golden Trading Co.", creditLimit: 1_000_000_000, balance: 0 }],
    ["C-200", { id: "C-200", name: "Shwe Electronics", creditLimit: 300_000, balance: 250_000 }],
  ]);
  private invoiceSeq = 0;

  constructor(
    readonly byClass: AuditLogger,
    @InjectAuditLogger() readonly byToken: AuditLogger,
  ) {}

  customer(id: string): Customer {
    const customer = this.customers.get(id);
    if (!customer) throw new NotFoundException(`no customer ${id}`);
    return customer;
  }

  postInvoice(customerId: string, amount: number): { id: string; amount: number } {
    const customer = this.customer(customerId);
    if (customer.balance + amount > customer.creditLimit) throw new UnprocessableEntityException("credit limit exceeded");
    customer.balance += amount;
    return { id: `SI-${String(++this.invoiceSeq).padStart(4, "0")}`, amount };
  }
}

interface NewInvoice {
  customerId: string;
  amount: number;
}

@Controller()
export class ErpController {
  constructor(private readonly ledger: LedgerService) {}

  @Get("whoami")
  @Audit({ module: BusinessModule.CRM, action: AuditAction.READ, description: "Customer list viewed" })
  async whoami(): Promise<unknown> {
    await pause();
    return RequestContext.get();
  }

  @Post("invoices")
  @Audit<NewInvoice, { id: string }>({
    module: BusinessModule.SALES,
    action: AuditAction.POST,
    entityType: "sales_invoice",
    entityId: ({ result }) => result?.id,
    referenceNo: ({ result }) => result?.id,
    amount: ({ body }) => body.amount,
    description: ({ body, failed }) => `Sales invoice ${failed ? "refused" : "posted"} for ${body.customerId}`,
    metadata: ({ body }) => ({ customer_id: body.customerId }),
  })
  async postInvoice(@Body() body: NewInvoice): Promise<{ id: string; amount: number }> {
    await pause();
    return this.ledger.postInvoice(body.customerId, Number(body.amount));
  }

  @Patch("customers/:id/credit-limit")
  @Audit({
    module: BusinessModule.CRM,
    action: AuditAction.UPDATE,
    entityType: "customer",
    entityId: ({ params }) => params.id,
    oldValues: ({ result }) => ({ credit_limit: result?.previous }),
    newValues: ({ result }) => ({ credit_limit: result?.creditLimit }),
    description: ({ params }) => `Credit limit of ${params.id} changed`,
  })
  changeCreditLimit(@Param("id") id: string, @Body() body: { creditLimit: number }): { previous: number; creditLimit: number } {
    const customer = this.ledger.customer(id);
    const previous = customer.creditLimit;
    customer.creditLimit = Number(body.creditLimit);
    return { previous, creditLimit: customer.creditLimit };
  }

  @Get("ledger/close")
  @Audit({ module: BusinessModule.ACCOUNTING, action: AuditAction.POST, description: "Period close" })
  async closePeriod(): Promise<never> {
    await pause();
    throw new Error("ledger offline");
  }

  @Get("stock/stream")
  @Audit({ module: BusinessModule.INVENTORY, action: AuditAction.READ, metadata: ({ result }) => ({ last_count: result }) })
  stockCounts(): Observable<number> {
    return of(3, 5, 8).pipe(delay(5));
  }

  @Get("faulty-value")
  @Audit({
    module: BusinessModule.SYSTEM,
    entityId: () => {
      throw new Error("no id here");
    },
  })
  faultyValue(): { ok: boolean } {
    return { ok: true };
  }

  @Get("plain")
  plain(): unknown {
    return RequestContext.get();
  }

  @Get("healthz")
  health(): { ok: boolean } {
    return { ok: true };
  }
}

/** The application's root module around an `AuditModule.forRoot(...)` / `forRootAsync(...)`. */
export function erpModule(audit: DynamicModule, imports: DynamicModule[] = []): new () => unknown {
  @Module({
    imports: [audit, ...imports],
    controllers: [ErpController],
    providers: [LedgerService, { provide: APP_GUARD, useClass: HeaderAuthGuard }, { provide: APP_FILTER, useClass: AppExceptionFilter }],
  })
  class ErpModule {}
  return ErpModule;
}

export interface RunningApp {
  app: INestApplication;
  url: string;
  close(): Promise<void>;
}

/**
 * Creates and starts the app on the platform (`prepare` runs before it
 * listens, as main.ts would); `close()` runs Nest's shutdown (flushing the
 * audit logger).
 */
export async function startApp(
  platform: Platform,
  rootModule: new () => unknown,
  prepare?: (app: INestApplication) => void,
): Promise<RunningApp> {
  const adapter = platform === "express" ? new ExpressAdapter() : new FastifyAdapter();
  const app = await NestFactory.create(rootModule, adapter, { logger: false, abortOnError: false });
  prepare?.(app);
  await app.listen(0, "127.0.0.1");
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}
