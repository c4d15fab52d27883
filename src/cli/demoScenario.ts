/**
 * What `auditx demo` writes: the original auditX's walkthrough, the previous
 * business day of a three-branch trading and service company (imported from
 * its legacy audit table, as a company moving to auditx would, so each entry
 * keeps its time of day), and live activity for the viewer.
 */
import type { AuditLogger } from "../api/AuditLogger.js";
import type { EntryOptions } from "../api/options.js";
import { RequestContext } from "../api/RequestContext.js";
import { AuditAction, BusinessModule, LogLevel } from "../entry/enums.js";
import { formatTimestamp } from "../internal/timestamp.js";

/** The original's walkthrough: login, invoice, stock transfer, service job, credit limit, brute force. */
export function writeOriginalScenario(logger: AuditLogger): void {
  RequestContext.run(
    { user: "admin", userRole: "manager", companyId: "CO-001", branchId: "BR-YGN", ip: "192.168.1.10", requestId: "req-demo-0001" },
    () => {
      logger.logSecurity("User login successful", { action: AuditAction.LOGIN, user: "admin" });
      logger.logTransaction("Sales invoice posted", {
        module: BusinessModule.SALES,
        action: AuditAction.POST,
        referenceNo: "SI-2026-0042",
        amount: 1_250_000,
        entityType: "sales_invoice",
        entityId: "inv-42",
        party: "Golden Trading Co.",
      });
      logger.logInventory("Stock issued for sales order", {
        action: AuditAction.TRANSFER,
        productId: "SKU-1001",
        productName: "LED Panel 24W",
        quantity: 50,
        warehouseId: "WH-MAIN",
        referenceNo: "SI-2026-0042",
      });
      logger.logService("Service job completed", {
        action: AuditAction.UPDATE,
        jobId: "SVC-889",
        customerId: "CUST-220",
        technician: "U Kyaw",
        serviceType: "AC Maintenance",
        statusLabel: "completed",
        amount: 85_000,
      });
      logger.logChange("Customer credit limit updated", {
        module: BusinessModule.CRM,
        action: AuditAction.UPDATE,
        entityType: "customer",
        entityId: "CUST-220",
        oldValues: { credit_limit: 500_000 },
        newValues: { credit_limit: 1_000_000 },
      });
    },
  );
  RequestContext.run({ ip: "203.0.113.77", branchId: "BR-YGN", companyId: "CO-001" }, () => {
    for (let attempt = 1; attempt <= 7; attempt++) {
      logger.logSecurity("Login failed: invalid password", { action: AuditAction.LOGIN, user: "admin", success: false, status: 401 });
    }
  });
}

/** A small deterministic generator, so every demo run tells the same story. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Role = "cashier" | "sales" | "storekeeper" | "technician" | "accountant" | "purchasing" | "hr" | "manager";

interface Staff {
  user: string;
  userRole: Role;
  branchId: string;
  /** The last part of the desk's IP address. */
  desk: number;
}

const BRANCH_NETWORK: Record<string, string> = { "BR-YGN": "10.10.1.", "BR-MDY": "10.20.1.", "BR-NPT": "10.30.1." };
const STAFF: readonly Staff[] = [
  { user: "thida", userRole: "cashier", branchId: "BR-YGN", desk: 21 },
  { user: "aung.min", userRole: "sales", branchId: "BR-YGN", desk: 22 },
  { user: "su.su", userRole: "storekeeper", branchId: "BR-YGN", desk: 31 },
  { user: "may.phyu", userRole: "accountant", branchId: "BR-YGN", desk: 41 },
  { user: "admin", userRole: "manager", branchId: "BR-YGN", desk: 10 },
  { user: "kyaw.zin", userRole: "technician", branchId: "BR-MDY", desk: 51 },
  { user: "hnin.wai", userRole: "sales", branchId: "BR-MDY", desk: 23 },
  { user: "htet.aung", userRole: "purchasing", branchId: "BR-MDY", desk: 32 },
  { user: "zaw.lin", userRole: "cashier", branchId: "BR-MDY", desk: 24 },
  { user: "nilar", userRole: "hr", branchId: "BR-NPT", desk: 61 },
  { user: "ko.zaw", userRole: "technician", branchId: "BR-NPT", desk: 52 },
  { user: "ei.mon", userRole: "storekeeper", branchId: "BR-NPT", desk: 33 },
];
const CUSTOMERS = ["Golden Trading Co.", "Shwe Pyi Electric", "Royal Myanmar Foods", "Delta Builders", "Aye Mobile Shop", "Sunrise Clinic"];
const SUPPLIERS = ["Mandalay Cables Ltd.", "Asia Lighting Supply", "Yoma Hardware", "Thai Cool Air Parts"];
const PRODUCTS = [
  { id: "SKU-1001", name: "LED Panel 24W", unit: "pcs" },
  { id: "SKU-2040", name: "Copper Cable 2.5mm", unit: "m" },
  { id: "SKU-3300", name: "Inverter AC 1.5HP", unit: "set" },
  { id: "SKU-4102", name: "Circuit Breaker 32A", unit: "pcs" },
  { id: "SKU-5555", name: "Refrigerant R32", unit: "kg" },
];
const SERVICES = ["AC Maintenance", "AC Installation", "Generator Service", "Wiring Inspection"];
const WAREHOUSES: Record<string, string> = { "BR-YGN": "WH-MAIN", "BR-MDY": "WH-MDY", "BR-NPT": "WH-NPT" };

/** One thing a member of staff does: a description and the entry's fields (metadata included). */
interface DemoEvent {
  description: string;
  options: EntryOptions;
  /** Written with logSecurity (a login, a logout, a failed login). */
  security?: boolean;
}

/** What each role does during the day; a kind appears as often as it is listed. */
const WORK: Record<Role, readonly Kind[]> = {
  cashier: ["invoice", "invoice", "payment", "payment", "payment", "void"],
  sales: ["invoice", "invoice", "invoice", "void", "discountDenied", "creditLimit"],
  storekeeper: ["stockIssue", "stockTransfer", "stockCount", "goodsReceived"],
  technician: ["jobCreated", "jobAssigned", "jobCompleted", "jobCompleted"],
  accountant: ["journal", "journal", "payment", "creditLimit", "report"],
  purchasing: ["purchaseOrder", "purchaseOrder", "goodsReceived"],
  hr: ["leave", "leave", "bankAccount"],
  manager: ["creditLimit", "purchaseOrder", "report", "discountDenied"],
};
type Kind =
  | "invoice"
  | "payment"
  | "void"
  | "discountDenied"
  | "creditLimit"
  | "stockIssue"
  | "stockTransfer"
  | "stockCount"
  | "goodsReceived"
  | "jobCreated"
  | "jobAssigned"
  | "jobCompleted"
  | "journal"
  | "report"
  | "purchaseOrder"
  | "leave"
  | "bankAccount";

/** The event of one kind, its numbers and names drawn from the generator. */
function workEvent(kind: Kind, staff: Staff, next: () => number, sequence: number): DemoEvent {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const amount = (min: number, max: number) => Math.round((min + next() * (max - min)) / 500) * 500;
  const no = String(1000 + sequence).padStart(5, "0");
  const customer = `CUST-${200 + Math.floor(next() * 60)}`;
  const warehouse = WAREHOUSES[staff.branchId] as string;
  switch (kind) {
    case "invoice":
      return {
        description: "Sales invoice posted",
        options: {
          module: BusinessModule.SALES,
          action: AuditAction.POST,
          referenceNo: `SI-2026-${no}`,
          amount: amount(80_000, 4_500_000),
          entityType: "sales_invoice",
          entityId: `inv-${no}`,
          method: "POST",
          endpoint: `/api/sales/invoices/inv-${no}/post`,
          metadata: { party: pick(CUSTOMERS) },
        },
      };
    case "payment":
      return {
        description: "Customer payment received",
        options: {
          module: BusinessModule.ACCOUNTING,
          action: AuditAction.PAYMENT,
          referenceNo: `RCPT-2026-${no}`,
          amount: amount(50_000, 2_000_000),
          entityType: "receipt",
          entityId: `rcpt-${no}`,
          method: "POST",
          endpoint: "/api/accounting/receipts",
          status: 201,
          metadata: { party: pick(CUSTOMERS), payment_method: pick(["cash", "KBZPay", "bank transfer", "cheque"]) },
        },
      };
    case "void": {
      const voided = String(1000 + Math.floor(next() * Math.max(1, sequence))).padStart(5, "0");
      return {
        description: "Sales invoice voided",
        options: {
          level: LogLevel.WARNING,
          module: BusinessModule.SALES,
          action: AuditAction.VOID,
          referenceNo: `SI-2026-${voided}`,
          amount: amount(80_000, 1_500_000),
          entityType: "sales_invoice",
          entityId: `inv-${voided}`,
          method: "POST",
          endpoint: `/api/sales/invoices/inv-${voided}/void`,
          metadata: { reason: pick(["duplicate", "wrong customer", "price error"]), approved_by: "admin" },
        },
      };
    }
    case "discountDenied":
      return {
        description: "Permission denied: discount above limit",
        options: {
          level: LogLevel.WARNING,
          module: BusinessModule.SALES,
          action: AuditAction.UPDATE,
          entityType: "sales_invoice",
          entityId: `inv-${no}`,
          method: "PATCH",
          endpoint: `/api/sales/invoices/inv-${no}?discount=25`,
          status: 403,
          success: false,
          metadata: { requested_discount_pct: 25, allowed_discount_pct: 10 },
        },
      };
    case "creditLimit": {
      const before = amount(300_000, 2_000_000);
      return {
        description: "Customer credit limit updated",
        options: {
          module: BusinessModule.CRM,
          action: AuditAction.UPDATE,
          entityType: "customer",
          entityId: customer,
          method: "PUT",
          endpoint: `/api/crm/customers/${customer}/credit-limit`,
          oldValues: { credit_limit: before, payment_terms: "NET30" },
          newValues: { credit_limit: before + amount(100_000, 1_000_000), payment_terms: pick(["NET30", "NET45"]) },
          metadata: { approved_by: "admin" },
        },
      };
    }
    case "stockIssue":
    case "stockTransfer": {
      const product = pick(PRODUCTS);
      const to = pick(Object.values(WAREHOUSES).filter((name) => name !== warehouse));
      return {
        description: kind === "stockIssue" ? "Stock issued for sales order" : "Stock transferred between warehouses",
        options: {
          module: BusinessModule.INVENTORY,
          action: AuditAction.TRANSFER,
          entityType: "product",
          entityId: product.id,
          referenceNo: kind === "stockIssue" ? `SO-2026-${no}` : `ST-2026-${no}`,
          method: "POST",
          endpoint: kind === "stockIssue" ? "/api/inventory/issues" : "/api/inventory/transfers",
          status: 201,
          metadata: {
            product_name: product.name,
            quantity: 1 + Math.floor(next() * 120),
            unit: product.unit,
            warehouse_id: warehouse,
            ...(kind === "stockTransfer" ? { to_warehouse_id: to } : {}),
          },
        },
      };
    }
    case "stockCount": {
      const product = pick(PRODUCTS);
      const before = 20 + Math.floor(next() * 200);
      return {
        description: "Stock count adjusted after cycle count",
        options: {
          module: BusinessModule.INVENTORY,
          action: AuditAction.ADJUST,
          entityType: "product",
          entityId: product.id,
          method: "POST",
          endpoint: "/api/inventory/adjustments",
          status: 201,
          oldValues: { on_hand: before, warehouse_id: warehouse },
          newValues: { on_hand: before - 1 - Math.floor(next() * 5), warehouse_id: warehouse },
          metadata: { reason: pick(["damaged", "count variance", "expired"]) },
        },
      };
    }
    case "goodsReceived":
      return {
        description: "Goods received note posted",
        options: {
          module: BusinessModule.PURCHASE,
          action: AuditAction.POST,
          referenceNo: `GRN-2026-${no}`,
          amount: amount(200_000, 9_000_000),
          entityType: "goods_received_note",
          entityId: `grn-${no}`,
          method: "POST",
          endpoint: `/api/purchase/grn/grn-${no}/post`,
          metadata: { party: pick(SUPPLIERS), warehouse_id: warehouse },
        },
      };
    case "purchaseOrder":
      return {
        description: "Purchase order approved",
        options: {
          module: BusinessModule.PURCHASE,
          action: AuditAction.APPROVE,
          referenceNo: `PO-2026-${no}`,
          amount: amount(200_000, 9_000_000),
          entityType: "purchase_order",
          entityId: `po-${no}`,
          method: "POST",
          endpoint: `/api/purchase/orders/po-${no}/approve`,
          metadata: { party: pick(SUPPLIERS) },
        },
      };
    case "jobCreated":
    case "jobAssigned":
    case "jobCompleted": {
      const job = `SVC-${900 + (sequence % 80)}`;
      const label = kind === "jobCreated" ? "open" : kind === "jobAssigned" ? "assigned" : "completed";
      return {
        description:
          kind === "jobCreated" ? "Service job created" : kind === "jobAssigned" ? "Technician assigned" : "Service job completed",
        options: {
          module: BusinessModule.SERVICE,
          action: kind === "jobCreated" ? AuditAction.CREATE : AuditAction.UPDATE,
          entityType: "service_job",
          entityId: job,
          amount: kind === "jobCompleted" ? amount(30_000, 450_000) : undefined,
          method: kind === "jobCreated" ? "POST" : "PATCH",
          endpoint: kind === "jobCreated" ? "/api/service/jobs" : `/api/service/jobs/${job}`,
          status: kind === "jobCreated" ? 201 : 200,
          metadata: {
            customer_id: customer,
            ...(kind === "jobCreated" ? {} : { technician: staff.user }),
            service_type: pick(SERVICES),
            status: label,
          },
        },
      };
    }
    case "journal":
      return {
        description: "Journal entry posted",
        options: {
          module: BusinessModule.ACCOUNTING,
          action: AuditAction.POST,
          referenceNo: `JV-2026-${no}`,
          amount: amount(10_000, 3_000_000),
          entityType: "journal_entry",
          entityId: `jv-${no}`,
          method: "POST",
          endpoint: `/api/accounting/journals/jv-${no}/post`,
          metadata: { debit: pick(["6100 Rent", "5100 Purchases", "6200 Utilities"]), credit: "1010 Cash" },
        },
      };
    case "report":
      return {
        description: pick(["Daily sales report exported", "Receivables aging report exported", "Stock valuation report exported"]),
        options: {
          module: BusinessModule.REPORTING,
          action: AuditAction.EXPORT,
          method: "GET",
          endpoint: "/api/reports/export",
          metadata: { format: pick(["xlsx", "pdf"]) },
        },
      };
    case "leave": {
      const employee = `EMP-${100 + Math.floor(next() * 80)}`;
      return {
        description: "Leave request approved",
        options: {
          module: BusinessModule.HR,
          action: AuditAction.APPROVE,
          entityType: "leave_request",
          entityId: `LV-2026-${no}`,
          method: "POST",
          endpoint: `/api/hr/leave/LV-2026-${no}/approve`,
          metadata: { employee_id: employee, days: 1 + Math.floor(next() * 4) },
        },
      };
    }
    case "bankAccount": {
      const employee = `EMP-${100 + Math.floor(next() * 80)}`;
      return {
        description: "Employee bank account changed",
        options: {
          module: BusinessModule.HR,
          action: AuditAction.UPDATE,
          entityType: "employee",
          entityId: employee,
          method: "PUT",
          endpoint: `/api/hr/employees/${employee}/bank-account`,
          oldValues: { bank: "KBZ", account_last4: String(1000 + Math.floor(next() * 9000)) },
          newValues: { bank: pick(["AYA", "CB", "KBZ"]), account_last4: String(1000 + Math.floor(next() * 9000)) },
        },
      };
    }
  }
}

const LOGIN: DemoEvent = {
  description: "User login successful",
  options: { action: AuditAction.LOGIN, method: "POST", endpoint: "/api/auth/login" },
  security: true,
};
const LOGOUT: DemoEvent = {
  description: "User logged out",
  options: { action: AuditAction.LOGOUT, method: "POST", endpoint: "/api/auth/logout" },
  security: true,
};
const FAILED_LOGIN: DemoEvent = {
  description: "Login failed: invalid password",
  options: { action: AuditAction.LOGIN, method: "POST", endpoint: "/api/auth/login", status: 401, success: false },
  security: true,
};

/** Who, where and which session: the context of a member of staff's requests. */
function contextOf(staff: Staff, day: string, next: () => number): Record<string, string> {
  return {
    user: staff.user,
    userRole: staff.userRole,
    companyId: "CO-001",
    branchId: staff.branchId,
    ip: `${BRANCH_NETWORK[staff.branchId]}${staff.desk}`,
    sessionId: `sess-${staff.user.replace(".", "")}-${day}`,
    requestId: `req-${Math.floor(next() * 0xffffffff)
      .toString(16)
      .padStart(8, "0")}`,
  };
}

/** The business day the demo imports: the last one that has ended (Monday to Saturday, 08:30-17:50), in local time. */
export function lastBusinessDay(now: number): Date {
  const day = new Date(now);
  day.setHours(0, 0, 0, 0);
  if (now < new Date(day).setHours(18, 0, 0, 0)) day.setDate(day.getDate() - 1);
  if (day.getDay() === 0) day.setDate(day.getDate() - 1);
  return day;
}

/**
 * The previous business day of the whole company, `count` entries, each at
 * its own time: every member of staff logs in around 08:30-09:20 (a few
 * mistype their password first), does the work of their role through the
 * day, and logs out around 17:00-17:50. Written with importEntry, as a
 * company moving from its legacy audit table to auditx would bring its
 * history over (see `auditx import`), so each entry says it was imported.
 * Returns the number of entries written.
 */
export function writeBusinessDay(logger: AuditLogger, count = 240, seed = 2026, now = Date.now()): number {
  const next = random(seed);
  const day = lastBusinessDay(now);
  const at = (hours: number, minutes: number) => new Date(day).setHours(hours, minutes, Math.floor(next() * 60), Math.floor(next() * 1000));
  const dayName = `${day.getFullYear()}${String(day.getMonth() + 1).padStart(2, "0")}${String(day.getDate()).padStart(2, "0")}`;
  // Each member of staff on duty brings a login and a logout; the rest of the count is their work.
  const onDuty = STAFF.slice(0, Math.max(1, Math.min(STAFF.length, Math.floor(count / 8))));
  const failedLogins = count >= 60 ? 3 : 0;
  const work = Math.max(0, count - 2 * onDuty.length - failedLogins);
  const planned: { millis: number; staff: Staff; event: DemoEvent | Kind }[] = [];
  const shifts = onDuty.map((staff) => ({ staff, start: at(8, 30 + Math.floor(next() * 50)), end: at(17, Math.floor(next() * 50)) }));
  for (const { staff, start, end } of shifts) {
    planned.push({ millis: start, staff, event: LOGIN }, { millis: end, staff, event: LOGOUT });
  }
  for (let i = 0; i < failedLogins; i++) {
    const shift = shifts[Math.floor(next() * shifts.length)] as (typeof shifts)[number];
    planned.push({ millis: shift.start - 20_000 - Math.floor(next() * 60_000), staff: shift.staff, event: FAILED_LOGIN });
  }
  for (let i = 0; i < work; i++) {
    const shift = shifts[Math.floor(next() * shifts.length)] as (typeof shifts)[number];
    const millis = shift.start + 120_000 + Math.floor(next() * (shift.end - shift.start - 240_000));
    planned.push({
      millis,
      staff: shift.staff,
      event: WORK[shift.staff.userRole][Math.floor(next() * WORK[shift.staff.userRole].length)] as Kind,
    });
  }
  planned.sort((a, b) => a.millis - b.millis);
  const written = planned.slice(0, count);
  written.forEach(({ millis, staff, event }, index) => {
    const demo = typeof event === "string" ? workEvent(event, staff, next, index) : event;
    const record: Record<string, unknown> = {
      ...contextOf(staff, dayName, next),
      ...demo.options,
      timestamp: formatTimestamp(millis),
      description: demo.description,
      module: demo.options.module ?? BusinessModule.AUTH,
      level: demo.options.level ?? (demo.security && demo.options.success === false ? LogLevel.SECURITY : LogLevel.AUDIT),
      status: demo.options.status ?? (demo.options.success === false ? undefined : 200),
      hostname: "erp-app-01",
    };
    logger.importEntry(record, { source: "legacy ERP audit table (demo)", row: index + 1 });
  });
  return written.length;
}

/** One thing a member of staff does now (live activity), written through the audit API. */
export function writeActivity(logger: AuditLogger, next: () => number, sequence: number): void {
  const staff = STAFF[Math.floor(next() * STAFF.length)] as Staff;
  const roll = next();
  const event =
    roll < 0.04
      ? FAILED_LOGIN
      : roll < 0.08
        ? LOGIN
        : roll < 0.11
          ? LOGOUT
          : workEvent(WORK[staff.userRole][Math.floor(next() * WORK[staff.userRole].length)] as Kind, staff, next, sequence);
  RequestContext.run(contextOf(staff, "live", next), () => {
    if (event.security) logger.logSecurity(event.description, event.options);
    else logger.log(event.description, event.options);
  });
}

/** Writes one event every `intervalMs` until the returned function is called. */
export function startLiveActivity(logger: AuditLogger, intervalMs = 1500, seed = Date.now()): () => void {
  const next = random(seed);
  let sequence = 5000;
  const timer = setInterval(() => {
    try {
      writeActivity(logger, next, sequence++);
    } catch (error) {
      process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }, intervalMs);
  return () => clearInterval(timer);
}
