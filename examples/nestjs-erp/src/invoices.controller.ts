import { BadRequestException, Body, Controller, HttpCode, Param, Post } from "@nestjs/common";
import { AuditAction, BusinessModule } from "auditx";
import { Audit } from "auditx/nestjs";
import { Roles } from "./auth.guard.js";
import { type Invoice, LedgerService } from "./ledger.service.js";

interface NewInvoice {
  customerId: string;
  amount: number;
}

@Controller("api/invoices")
export class InvoicesController {
  constructor(private readonly ledger: LedgerService) {}

  /** Posted, or refused past the credit limit: either way one sales entry, with the amount and the customer. */
  @Post()
  @Roles(["manager", "cashier"])
  @Audit<NewInvoice, Invoice>({
    module: BusinessModule.SALES,
    action: AuditAction.POST,
    entityType: "sales_invoice",
    entityId: ({ result }) => result?.id,
    referenceNo: ({ result }) => result?.id,
    amount: ({ body }) => body?.amount,
    description: ({ failed }) => (failed ? "Sales invoice refused" : "Sales invoice posted"),
    metadata: ({ body }) => ({ customer_id: body?.customerId }),
  })
  post(@Body() body: NewInvoice): Invoice {
    const amount = Number(body?.amount);
    if (!Number.isFinite(amount) || amount <= 0) throw new BadRequestException("amount must be a positive number");
    return this.ledger.postInvoice(String(body.customerId), amount);
  }

  @Post(":id/void")
  @HttpCode(200)
  @Roles(["manager"])
  @Audit<unknown, Invoice>({
    module: BusinessModule.SALES,
    action: AuditAction.VOID,
    entityType: "sales_invoice",
    entityId: ({ params }) => params.id,
    referenceNo: ({ params }) => params.id,
    amount: ({ result }) => result?.amount,
    description: "Sales invoice voided",
  })
  void(@Param("id") id: string): Invoice {
    return this.ledger.voidInvoice(id);
  }
}
