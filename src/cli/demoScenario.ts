/**
 * The original auditX's demo scenario, then a realistic day of multi-branch
 * ERP activity, and live activity for the viewer: what `auditx demo` writes.
 */
import type { AuditLogger } from "../api/AuditLogger.js";
import { RequestContext } from "../api/RequestContext.js";
import { AuditAction, BusinessModule } from "../entry/enums.js";

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
        unit: "pcs",
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
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BRANCHES = [
  { branchId: "BR-YGN", ip: "10.10.1." },
  { branchId: "BR-MDY", ip: "10.20.1." },
  { branchId: "BR-NPT", ip: "10.30.1." },
];
const STAFF = [
  { user: "thida", userRole: "cashier" },
  { user: "aung.min", userRole: "sales" },
  { user: "su.su", userRole: "storekeeper" },
  { user: "kyaw.zin", userRole: "technician" },
  { user: "may.phyu", userRole: "accountant" },
  { user: "htet.aung", userRole: "purchasing" },
  { user: "nilar", userRole: "hr" },
  { user: "admin", userRole: "manager" },
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

/** One ERP event: which of the day's kinds, filled from the generator. */
export function writeActivity(logger: AuditLogger, next: () => number, sequence: number): void {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const branch = pick(BRANCHES);
  const staff = pick(STAFF);
  const customerNo = 200 + Math.floor(next() * 60);
  const ctx = {
    ...staff,
    companyId: "CO-001",
    branchId: branch.branchId,
    ip: `${branch.ip}${20 + Math.floor(next() * 40)}`,
    requestId: `req-${(100_000 + sequence).toString(36)}-${Math.floor(next() * 1e6).toString(36)}`,
    sessionId: `sess-${staff.user.replace(".", "")}-${branch.branchId.slice(3).toLowerCase()}`,
  };
  const amount = (min: number, max: number) => Math.round((min + next() * (max - min)) / 500) * 500;
  RequestContext.run(ctx, () => {
    const kind = next();
    const no = String(1000 + sequence).padStart(5, "0");
    if (kind < 0.22) {
      const total = amount(80_000, 4_500_000);
      logger.logTransaction("Sales invoice posted", {
        module: BusinessModule.SALES,
        action: AuditAction.POST,
        referenceNo: `SI-2026-${no}`,
        amount: total,
        entityType: "sales_invoice",
        entityId: `inv-${no}`,
        party: pick(CUSTOMERS),
        method: "POST",
        endpoint: `/api/sales/invoices/inv-${no}/post`,
        status: 200,
      });
    } else if (kind < 0.34) {
      logger.logTransaction("Customer payment received", {
        module: BusinessModule.ACCOUNTING,
        action: AuditAction.PAYMENT,
        referenceNo: `RCPT-2026-${no}`,
        amount: amount(50_000, 2_000_000),
        entityType: "receipt",
        entityId: `rcpt-${no}`,
        party: pick(CUSTOMERS),
        metadata: { payment_method: pick(["cash", "KBZPay", "bank transfer", "cheque"]) },
      });
    } else if (kind < 0.44) {
      const product = pick(PRODUCTS);
      logger.logInventory(pick(["Stock transferred between warehouses", "Stock received from supplier", "Stock issued for sales order"]), {
        action: AuditAction.TRANSFER,
        productId: product.id,
        productName: product.name,
        quantity: 1 + Math.floor(next() * 120),
        unit: product.unit,
        warehouseId: pick(["WH-MAIN", "WH-MDY", "WH-NPT"]),
        referenceNo: `ST-2026-${no}`,
      });
    } else if (kind < 0.5) {
      const product = pick(PRODUCTS);
      const before = 20 + Math.floor(next() * 200);
      logger.logChange("Stock count adjusted after cycle count", {
        module: BusinessModule.INVENTORY,
        action: AuditAction.ADJUST,
        entityType: "product",
        entityId: product.id,
        oldValues: { on_hand: before, warehouse_id: "WH-MAIN" },
        newValues: { on_hand: before - 1 - Math.floor(next() * 5), warehouse_id: "WH-MAIN" },
        metadata: { reason: pick(["damaged", "count variance", "expired"]) },
      });
    } else if (kind < 0.6) {
      logger.logService(pick(["Service job created", "Technician assigned", "Service job completed"]), {
        action: AuditAction.UPDATE,
        jobId: `SVC-${900 + (sequence % 80)}`,
        customerId: `CUST-${customerNo}`,
        technician: pick(["U Kyaw", "Ko Zaw", "Ma Hnin"]),
        serviceType: pick(SERVICES),
        statusLabel: pick(["open", "assigned", "in_progress", "completed"]),
        amount: amount(30_000, 450_000),
      });
    } else if (kind < 0.66) {
      const before = amount(300_000, 2_000_000);
      logger.logChange("Customer credit limit updated", {
        module: BusinessModule.CRM,
        action: AuditAction.UPDATE,
        entityType: "customer",
        entityId: `CUST-${customerNo}`,
        oldValues: { credit_limit: before, payment_terms: "NET30" },
        newValues: { credit_limit: before + amount(100_000, 1_000_000), payment_terms: pick(["NET30", "NET45"]) },
        metadata: { approved_by: "admin" },
      });
    } else if (kind < 0.74) {
      logger.logTransaction(pick(["Purchase order approved", "Goods received note posted"]), {
        module: BusinessModule.PURCHASE,
        action: pick([AuditAction.APPROVE, AuditAction.POST]),
        referenceNo: `PO-2026-${no}`,
        amount: amount(200_000, 9_000_000),
        entityType: "purchase_order",
        entityId: `po-${no}`,
        party: pick(SUPPLIERS),
      });
    } else if (kind < 0.79) {
      logger.logTransaction("Journal entry posted", {
        module: BusinessModule.ACCOUNTING,
        action: AuditAction.POST,
        referenceNo: `JV-2026-${no}`,
        amount: amount(10_000, 3_000_000),
        entityType: "journal_entry",
        entityId: `jv-${no}`,
        metadata: { debit: pick(["6100 Rent", "5100 Purchases", "6200 Utilities"]), credit: "1010 Cash" },
      });
    } else if (kind < 0.83) {
      logger.log(pick(["Leave request approved", "Employee bank account changed"]), {
        module: BusinessModule.HR,
        action: AuditAction.APPROVE,
        entityType: "employee",
        entityId: `EMP-${100 + Math.floor(next() * 80)}`,
      });
    } else if (kind < 0.87) {
      logger.log("Sales report exported", {
        module: BusinessModule.REPORTING,
        action: AuditAction.EXPORT,
        metadata: { report: pick(["daily sales", "aging receivables", "stock valuation"]), format: pick(["xlsx", "pdf"]) },
      });
    } else if (kind < 0.91) {
      logger.logTransaction("Sales invoice voided", {
        module: BusinessModule.SALES,
        action: AuditAction.VOID,
        level: "WARNING",
        referenceNo: `SI-2026-${String(1000 + Math.floor(next() * sequence)).padStart(5, "0")}`,
        amount: amount(80_000, 1_500_000),
        entityType: "sales_invoice",
        metadata: { reason: pick(["duplicate", "wrong customer", "price error"]) },
      });
    } else if (kind < 0.95) {
      logger.log("Permission denied: discount above limit", {
        module: BusinessModule.SALES,
        action: AuditAction.UPDATE,
        level: "WARNING",
        method: "PATCH",
        endpoint: `/api/sales/invoices/inv-${no}?discount=25`,
        status: 403,
        success: false,
      });
    } else if (kind < 0.98) {
      logger.logSecurity(pick(["User login successful", "User logged out"]), {
        action: next() < 0.6 ? AuditAction.LOGIN : AuditAction.LOGOUT,
      });
    } else {
      logger.logSecurity("Login failed: invalid password", { action: AuditAction.LOGIN, success: false, status: 401 });
    }
  });
}

/** A day's worth of ERP events across three branches. */
export function writeBusinessDay(logger: AuditLogger, count = 240, seed = 2026): number {
  const next = random(seed);
  for (let i = 0; i < count; i++) writeActivity(logger, next, i);
  return count;
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
