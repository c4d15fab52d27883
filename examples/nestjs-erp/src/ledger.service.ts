import { ConflictException, Injectable, NotFoundException, UnprocessableEntityException } from "@nestjs/common";

export interface Customer {
  id: string;
  name: string;
  creditLimit: number;
  balance: number;
}

export interface Invoice {
  id: string;
  customerId: string;
  amount: number;
  status: "posted" | "void";
}

/** An in-memory sales ledger: customers with credit limits, and their invoices. */
@Injectable()
export class LedgerService {
  private readonly customers = new Map<string, Customer>([
    ["C-100", { id: "C-100", name: "Golden Trading Co.", creditLimit: 1_000_000, balance: 0 }],
    ["C-200", { id: "C-200", name: "Shwe Electronics", creditLimit: 300_000, balance: 250_000 }],
  ]);
  private readonly invoices = new Map<string, Invoice>();
  private invoiceSeq = 0;

  listCustomers(): Customer[] {
    return [...this.customers.values()];
  }

  customer(id: string): Customer {
    const customer = this.customers.get(id);
    if (!customer) throw new NotFoundException(`no customer ${id}`);
    return customer;
  }

  /** Changes a credit limit; returns the limit before and after, for the audit entry. */
  changeCreditLimit(id: string, creditLimit: number): { customer: Customer; previous: number } {
    const customer = this.customer(id);
    const previous = customer.creditLimit;
    customer.creditLimit = creditLimit;
    return { customer, previous };
  }

  /** Posts an invoice, refused (422) past the customer's credit limit. */
  postInvoice(customerId: string, amount: number): Invoice {
    const customer = this.customer(customerId);
    if (customer.balance + amount > customer.creditLimit) throw new UnprocessableEntityException("credit limit exceeded");
    const invoice: Invoice = { id: `SI-2026-${String(++this.invoiceSeq).padStart(4, "0")}`, customerId, amount, status: "posted" };
    this.invoices.set(invoice.id, invoice);
    customer.balance += amount;
    return invoice;
  }

  voidInvoice(id: string): Invoice {
    const invoice = this.invoices.get(id);
    if (!invoice) throw new NotFoundException(`no invoice ${id}`);
    if (invoice.status === "void") throw new ConflictException("already void");
    invoice.status = "void";
    this.customer(invoice.customerId).balance -= invoice.amount;
    return invoice;
  }
}
