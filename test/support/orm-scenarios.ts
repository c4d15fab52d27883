/**
 * The scenarios every ORM adapter passes against a real database, written
 * once: each adapter's test file gives a driver (the ORM calls) and the
 * suite checks the trail the adapter wrote.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AuditLogger, createLogger, RequestContext } from "../../src/index.js";
import { readTrail, tempDir } from "./core-trail.js";

export type Dialect = "postgres" | "sqlite";

/** The ERP schema of the scenarios: customers, orders and order lines (composite key). */
export function schemaSql(dialect: Dialect): string[] {
  const serial = dialect === "postgres" ? "serial PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT";
  const stamp = dialect === "postgres" ? "timestamptz NOT NULL DEFAULT now()" : "TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP";
  return [
    `CREATE TABLE customers (id ${serial}, code TEXT NOT NULL UNIQUE, name TEXT NOT NULL, credit_limit NUMERIC(14,2) NOT NULL, updated_at ${stamp})`,
    `CREATE TABLE orders (id ${serial}, customer_id INTEGER NOT NULL REFERENCES customers(id), status TEXT NOT NULL DEFAULT 'open')`,
    "CREATE TABLE order_lines (order_id INTEGER NOT NULL REFERENCES orders(id), line_no INTEGER NOT NULL, qty INTEGER NOT NULL, PRIMARY KEY (order_id, line_no))",
  ];
}

export interface CaptureSettings {
  logger: AuditLogger;
  outbox: boolean;
  /** Make the audit write fail: the outbox insert (outbox) or the trail (after commit). */
  failing?: "fail" | "report";
  onError?: (error: unknown) => void;
}

/** What a test file gives for its ORM and database. */
export interface OrmDriver {
  /** Opens the ORM (with the adapter) on a fresh database holding schemaSql(dialect). */
  open(settings: CaptureSettings): Promise<OrmSession>;
  /** Entity type the adapter gives customers, order lines (model or table name). */
  customerType: string;
  lineType: string;
  /** Field names as the ORM reports them. */
  creditLimitField: string;
  qtyField: string;
  /** Nested writes (Prisma, TypeORM cascades, Sequelize include): an order with its lines created in one call. */
  nested: boolean;
  /** SQLite serialises writers: 50 concurrent transactions run one after another there. */
  dialect: Dialect;
  /** Entity type the adapter gives orders. */
  orderType?: string;
  /** Cascading deletes through the ORM (deleteOrderCascading). */
  cascade?: boolean;
}

export interface OrmSession {
  createCustomer(code: string, creditLimit: number): Promise<number>;
  setCreditLimit(id: number, creditLimit: number): Promise<void>;
  deleteCustomer(id: number): Promise<void>;
  /** Sets the name of every customer whose code starts with `prefix`; resolves to the count. */
  renameAll(prefix: string, name: string): Promise<number>;
  /** Deletes every customer whose code starts with `prefix`; resolves to the count. */
  deleteAll(prefix: string): Promise<number>;
  createOrder(customerId: number): Promise<number>;
  addLine(orderId: number, lineNo: number, qty: number): Promise<void>;
  setQty(orderId: number, lineNo: number, qty: number): Promise<void>;
  /** Creates an order with lines in one nested write; only when driver.nested. */
  createOrderWithLines?(customerId: number, lines: Array<{ lineNo: number; qty: number }>): Promise<number>;
  /** Deletes an order and, through the ORM's cascade (not the database's), its lines; only where the ORM has one. */
  deleteOrderCascading?(orderId: number): Promise<void>;
  /** In one transaction: set the limit, then throw. */
  setCreditLimitThenFail(id: number, creditLimit: number): Promise<void>;
  /** In one committed transaction: set `kept`, then in a savepoint set `rolledBack` and roll the savepoint back. */
  savepointRolledBack(id: number, kept: number, rolledBack: number): Promise<void>;
  /** The credit limit as the database has it now. */
  creditLimitOf(id: number): Promise<number | undefined>;
  /** Rows in the outbox table. */
  outboxRows(): Promise<number>;
  /** Runs the outbox relay with a logger whose trail cannot be written. */
  relayFailing(onError: (error: unknown) => void): Promise<void>;
  /** Moves the outbox into the trail through `logger`. */
  relay(logger: AuditLogger): Promise<number>;
  close(): Promise<void>;
}

const num = (value: unknown) => Number(value);
type Row = Record<string, unknown>;

export function changeScenarios(driver: OrmDriver, settings: { outbox: boolean }) {
  let dir: string;
  let cleanup: () => void;
  let logger: AuditLogger;
  let session: OrmSession | undefined;
  const open = async (extra: Partial<CaptureSettings> = {}) => {
    const opened = await driver.open({ logger, outbox: settings.outbox, ...extra });
    session = opened;
    return opened;
  };
  /** The trail once the outbox (if any) was relayed. */
  const trail = async () => {
    if (settings.outbox) await session!.relay(logger);
    return readTrail(dir).filter(
      (entry) =>
        entry.entity_type === driver.customerType ||
        entry.entity_type === driver.lineType ||
        entry.entity_type === "orders" ||
        entry.entity_type === "Order" ||
        entry.entity_type === driver.orderType,
    );
  };

  beforeEach(() => {
    ({ dir, cleanup } = tempDir("auditx-orm-"));
    logger = createLogger({ logDir: dir, console: false });
  });
  afterEach(async () => {
    await session?.close();
    session = undefined;
    await logger.shutdown();
    cleanup();
  });

  describe(`${driver.dialect}${settings.outbox ? ", outbox" : ""}`, () => {
    it("create, update and delete give CREATE, UPDATE and DELETE entries with the changed fields and the request's context", async () => {
      const s = await open();
      await RequestContext.run({ user: "credit.controller", userRole: "finance", companyId: "CO-001", branchId: "BR-YGN" }, async () => {
        const id = await s.createCustomer("C-1", 1000);
        await s.setCreditLimit(id, 5000);
        await s.deleteCustomer(id);
      });
      const entries = await trail();
      expect(entries.map((entry) => entry.action)).toEqual(["CREATE", "UPDATE", "DELETE"]);
      const [created, updated, deleted] = entries;
      expect(created.entity_type).toBe(driver.customerType);
      expect(num((created.new_values as Record<string, unknown>)[driver.creditLimitField])).toBe(1000);
      expect(created.user).toBe("credit.controller");
      expect(updated).toMatchObject({ user: "credit.controller", user_role: "finance", company_id: "CO-001", branch_id: "BR-YGN" });
      expect(updated.entity_id).toBe(created.entity_id);
      // Only the changed field: name and code did not change, updated_at is ignored.
      expect(Object.keys(updated.old_values as object)).toEqual([driver.creditLimitField]);
      expect(num((updated.old_values as Record<string, unknown>)[driver.creditLimitField])).toBe(1000);
      expect(num((updated.new_values as Record<string, unknown>)[driver.creditLimitField])).toBe(5000);
      expect((updated.metadata as Record<string, unknown>).transaction_id).toEqual(expect.any(String));
      expect(num((deleted.old_values as Record<string, unknown>)[driver.creditLimitField])).toBe(5000);
      // Written through the outbox: each entry keeps the time of its change and says it was relayed.
      for (const entry of entries) {
        const relayed = (entry.metadata as Record<string, unknown>).relayed as Record<string, unknown> | undefined;
        if (!settings.outbox) expect(relayed).toBeUndefined();
        else {
          expect(relayed).toMatchObject({ via: "outbox" });
          expect(Date.parse(String(relayed?.written_at))).toBeGreaterThanOrEqual(Date.parse(String(entry.timestamp)));
        }
      }
    });

    it("a bulk update gets one entry per row up to the cap, and one summary entry with count and filter past it", async () => {
      const s = await open();
      for (let i = 0; i < 3; i++) await s.createCustomer(`S-${i}`, 100);
      for (let i = 0; i < 6; i++) await s.createCustomer(`B-${i}`, 100);
      expect(await s.renameAll("S-", "Small")).toBe(3);
      expect(await s.renameAll("B-", "Big")).toBe(6);
      const updates = (await trail()).filter((entry) => entry.action === "UPDATE");
      const small = updates.filter((entry) => (entry.new_values as Record<string, unknown> | undefined)?.name === "Small");
      expect(small).toHaveLength(3);
      const summary = updates.filter((entry) => (entry.metadata as Record<string, unknown>).bulk === true);
      expect(summary).toHaveLength(1);
      expect(summary[0].metadata).toMatchObject({ bulk: true, count: 6, bulk_limit: 5 });
      expect(JSON.stringify((summary[0].metadata as Record<string, unknown>).filter)).toContain("B-");
      expect(await s.deleteAll("S-")).toBe(3);
      const deletes = (await trail()).filter((entry) => entry.action === "DELETE");
      expect(deletes).toHaveLength(3);
    });

    it("composite keys give one entity id per row", async () => {
      const s = await open();
      const customer = await s.createCustomer("K-1", 100);
      const order = await s.createOrder(customer);
      await s.addLine(order, 1, 5);
      await s.addLine(order, 2, 7);
      await s.setQty(order, 2, 9);
      const lines = (await trail()).filter((entry) => entry.entity_type === driver.lineType);
      expect(lines.map((entry) => entry.action)).toEqual(["CREATE", "CREATE", "UPDATE"]);
      expect(lines[1].entity_id).toBe(lines[2].entity_id);
      expect(lines[0].entity_id).not.toBe(lines[1].entity_id);
      expect(String(lines[2].entity_id)).toContain("=2");
      expect(lines[2].old_values).toEqual({ [driver.qtyField]: 7 });
      expect(lines[2].new_values).toEqual({ [driver.qtyField]: 9 });
    });

    if (driver.nested)
      it("a nested write gets an entry for every row it creates", async () => {
        const s = await open();
        const customer = await s.createCustomer("N-1", 100);
        await s.createOrderWithLines!(customer, [
          { lineNo: 1, qty: 3 },
          { lineNo: 2, qty: 4 },
        ]);
        const entries = await trail();
        const lines = entries.filter((entry) => entry.entity_type === driver.lineType);
        expect(lines.map((entry) => entry.action)).toEqual(["CREATE", "CREATE"]);
        expect(new Set(lines.map((entry) => (entry.metadata as Record<string, unknown>).transaction_id)).size).toBe(1);
      });

    if (driver.cascade)
      it("a cascading delete gets a DELETE entry for every row it removes, in one transaction", async () => {
        const s = await open();
        const customer = await s.createCustomer("D-1", 100);
        const order = await s.createOrder(customer);
        await s.addLine(order, 1, 3);
        await s.addLine(order, 2, 4);
        await s.deleteOrderCascading!(order);
        const deletes = (await trail()).filter((entry) => entry.action === "DELETE");
        expect(deletes.map((entry) => entry.entity_type).sort()).toEqual([driver.lineType, driver.lineType, driver.orderType].sort());
        expect(
          deletes.filter((entry) => entry.entity_type === driver.lineType).map((entry) => (entry.old_values as Row)[driver.qtyField]),
        ).toEqual(expect.arrayContaining([3, 4]));
        expect(new Set(deletes.map((entry) => (entry.metadata as Row).transaction_id)).size).toBe(1);
      });

    it("a rolled-back transaction leaves nothing in the trail", async () => {
      const s = await open();
      const id = await s.createCustomer("R-1", 100);
      await expect(s.setCreditLimitThenFail(id, 999_999)).rejects.toThrow();
      expect(await s.creditLimitOf(id)).toBe(100);
      const entries = await trail();
      expect(entries.filter((entry) => entry.action === "UPDATE")).toEqual([]);
      if (settings.outbox) expect(await s.outboxRows()).toBe(0);
    });

    it("a savepoint rolled back inside a committed transaction leaves only the committed change", async () => {
      const s = await open();
      const id = await s.createCustomer("P-1", 100);
      await s.savepointRolledBack(id, 200, 300);
      expect(await s.creditLimitOf(id)).toBe(200);
      const updates = (await trail()).filter((entry) => entry.action === "UPDATE");
      expect(updates).toHaveLength(1);
      expect(num((updates[0].new_values as Record<string, unknown>)[driver.creditLimitField])).toBe(200);
    });

    it("50 concurrent requests, each with its own user, are each attributed to their user", async () => {
      const s = await open();
      const ids: number[] = [];
      for (let i = 0; i < 50; i++) ids.push(await s.createCustomer(`U-${i}`, 100));
      await Promise.all(ids.map((id, i) => RequestContext.run({ user: `user-${i}` }, () => s.setCreditLimit(id, 1000 + i))));
      const updates = (await trail()).filter((entry) => entry.action === "UPDATE");
      expect(updates).toHaveLength(50);
      for (const entry of updates) {
        const i = Number(String(entry.user).slice(5));
        expect(num((entry.new_values as Record<string, unknown>)[driver.creditLimitField])).toBe(1000 + i);
        expect(entry.entity_id).toBe(String(ids[i]));
      }
    });

    it("a failing audit write fails the operation under the fail policy", async () => {
      const s = await open({ failing: "fail" });
      if (settings.outbox) {
        await expect(s.createCustomer("F-1", 100)).rejects.toThrow(/audit/i);
        // Atomic: the change rolled back with its audit entry.
        expect(await s.outboxRows()).toBe(0);
      } else {
        await expect(s.createCustomer("F-1", 100)).rejects.toMatchObject({ name: "ChangeAuditError", committed: true });
      }
    });

    it("a failing audit write is contained and reported under the report policy", async () => {
      const errors: unknown[] = [];
      const s = await open({ failing: "report", onError: (error) => errors.push(error) });
      const id = await s.createCustomer("F-2", 100);
      expect(id).toBeGreaterThan(0);
      if (settings.outbox) {
        // Atomic mode: the change and its outbox row committed; the relay's failure is reported and the row stays.
        expect(errors).toHaveLength(0);
        await s.relayFailing((error) => errors.push(error));
        expect(await s.outboxRows()).toBe(1);
        expect(errors).toHaveLength(1);
        return;
      }
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ name: "ChangeAuditError" });
    });
  });
}
