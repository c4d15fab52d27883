import { BadRequestException, Body, Controller, Get, Param, Patch } from "@nestjs/common";
import { AuditAction, BusinessModule } from "auditx";
import { Audit } from "auditx/nestjs";
import { Roles } from "./auth.guard.js";
import { type Customer, LedgerService } from "./ledger.service.js";

interface CreditLimitChange {
  creditLimit: number;
}

type Changed = { customer: Customer; previous: number };

@Controller("api/customers")
export class CustomersController {
  constructor(private readonly ledger: LedgerService) {}

  @Get()
  list(): Customer[] {
    return this.ledger.listCustomers();
  }

  /** The auditor's question, answered by one entry: who changed this credit limit, from which branch, when, from what to what. */
  @Patch(":id/credit-limit")
  @Roles(["manager"])
  @Audit<CreditLimitChange, Changed>({
    module: BusinessModule.CRM,
    action: AuditAction.UPDATE,
    entityType: "customer",
    entityId: ({ params }) => params.id,
    description: ({ result, params }) => `Credit limit of ${result?.customer.name ?? params.id} changed`,
    oldValues: ({ result }) => ({ credit_limit: result?.previous }),
    newValues: ({ body }) => ({ credit_limit: body.creditLimit }),
  })
  changeCreditLimit(@Param("id") id: string, @Body() body: CreditLimitChange): Changed {
    const creditLimit = Number(body?.creditLimit);
    if (!Number.isFinite(creditLimit) || creditLimit <= 0) throw new BadRequestException("creditLimit must be a positive number");
    return this.ledger.changeCreditLimit(id, creditLimit);
  }
}
