import { DataSource, type EntityManager, EntitySchema, Like } from "typeorm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AuditLogger, createLogger, RequestContext } from "../src/index.js";
import { auditTypeOrm } from "../src/integrations/typeorm.js";
import { readTrail, tempDir } from "./support/core-trail.js";
import { captureOptions, type ScenarioDatabase, scenarioDatabase } from "./support/orm-databases.js";
import { changeScenarios, type Dialect, type OrmDriver } from "./support/orm-scenarios.js";
import { usePostgres } from "./support/postgres.js";

const postgres = usePostgres();

interface Customer {
  id: number;
  code: string;
  name: string;
  creditLimit: string | number;
  updatedAt?: Date;
}
interface Order {
  id: number;
  customerId: number;
  status?: string;
  lines?: OrderLine[];
}
interface OrderLine {
  orderId: number;
  lineNo: number;
  qty: number;
  order?: Order;
}

/** The scenario schema as TypeORM entity schemas (no decorators): Customer, Order with cascading lines, OrderLine. */
function entities(dialect: Dialect) {
  const CustomerEntity = new EntitySchema<Customer>({
    name: "Customer",
    tableName: "customers",
    columns: {
      id: { type: Number, primary: true, generated: true },
      code: { type: String },
      name: { type: String },
      creditLimit: { type: "decimal", precision: 14, scale: 2, name: "credit_limit" },
      updatedAt: { type: dialect === "postgres" ? "timestamptz" : "datetime", name: "updated_at", updateDate: true },
    },
  });
  const OrderEntity = new EntitySchema<Order>({
    name: "Order",
    tableName: "orders",
    columns: {
      id: { type: Number, primary: true, generated: true },
      customerId: { type: Number, name: "customer_id" },
      status: { type: String, default: "open" },
    },
    relations: { lines: { type: "one-to-many", target: "OrderLine", inverseSide: "order", cascade: true } },
  });
  const OrderLineEntity = new EntitySchema<OrderLine>({
    name: "OrderLine",
    tableName: "order_lines",
    columns: {
      orderId: { type: Number, primary: true, name: "order_id" },
      lineNo: { type: Number, primary: true, name: "line_no" },
      qty: { type: Number },
    },
    relations: {
      order: { type: "many-to-one", target: "Order", joinColumn: { name: "order_id" }, inverseSide: "lines", onDelete: "NO ACTION" },
    },
  });
  return { CustomerEntity, OrderEntity, OrderLineEntity };
}

async function openDataSource(
  dialect: Dialect,
  database: ScenarioDatabase,
): Promise<{ dataSource: DataSource } & ReturnType<typeof entities>> {
  const schemas = entities(dialect);
  const list = [schemas.CustomerEntity, schemas.OrderEntity, schemas.OrderLineEntity];
  const dataSource =
    dialect === "postgres"
      ? new DataSource({ type: "postgres", url: database.url, entities: list, poolSize: 10 })
      : new DataSource({ type: "better-sqlite3", database: database.url, entities: list });
  return { dataSource, ...schemas };
}

function driver(dialect: Dialect): OrmDriver {
  return {
    dialect,
    customerType: "Customer",
    orderType: "Order",
    lineType: "OrderLine",
    creditLimitField: "creditLimit",
    qtyField: "qty",
    nested: true,
    cascade: true,
    async open(settings) {
      const database = await scenarioDatabase(dialect, postgres);
      const { dataSource, CustomerEntity, OrderEntity, OrderLineEntity } = await openDataSource(dialect, database);
      // Before initialize(): the adapter registers itself once the DataSource is up.
      auditTypeOrm(dataSource, await captureOptions(settings));
      await dataSource.initialize();
      const customers = dataSource.getRepository(CustomerEntity);
      const orders = dataSource.getRepository(OrderEntity);
      const lines = dataSource.getRepository(OrderLineEntity);
      return {
        // insert() is a query builder insert; save() goes through the persistence layer.
        createCustomer: async (code, creditLimit) => (await customers.insert({ code, name: code, creditLimit })).identifiers[0].id,
        setCreditLimit: async (id, creditLimit) => void (await customers.update({ id }, { creditLimit })),
        deleteCustomer: async (id) => void (await customers.delete({ id })),
        renameAll: async (prefix, name) => (await customers.update({ code: Like(`${prefix}%`) }, { name })).affected ?? -1,
        deleteAll: async (prefix) => (await customers.delete({ code: Like(`${prefix}%`) })).affected ?? -1,
        createOrder: async (customerId) => (await orders.save({ customerId })).id,
        addLine: async (orderId, lineNo, qty) => void (await lines.insert({ orderId, lineNo, qty })),
        setQty: async (orderId, lineNo, qty) => {
          const line = await lines.findOneByOrFail({ orderId, lineNo });
          line.qty = qty;
          await lines.save(line);
        },
        createOrderWithLines: async (customerId, items) =>
          (await orders.save({ customerId, lines: items.map((item) => ({ ...item })) as OrderLine[] })).id,
        deleteOrderCascading: async (orderId) => {
          const order = await orders.findOneOrFail({ where: { id: orderId }, relations: { lines: true } });
          await orders.remove(order);
        },
        setCreditLimitThenFail: (id, creditLimit) =>
          dataSource.transaction(async (manager) => {
            await manager.getRepository(CustomerEntity).update({ id }, { creditLimit });
            throw new Error("business rule failed");
          }),
        savepointRolledBack: (id, kept, rolledBack) =>
          dataSource.transaction(async (manager) => {
            await manager.getRepository(CustomerEntity).update({ id }, { creditLimit: kept });
            await manager
              .transaction(async (inner: EntityManager) => {
                await inner.getRepository(CustomerEntity).update({ id }, { creditLimit: rolledBack });
                throw new Error("savepoint rolled back");
              })
              .catch(() => undefined);
          }),
        creditLimitOf: async (id) => {
          const row = await customers.findOneBy({ id });
          return row ? Number(row.creditLimit) : undefined;
        },
        outboxRows: database.outboxRows,
        relay: (logger) => database.relay(logger),
        relayFailing: database.relayFailing,
        close: async () => {
          if (dataSource.isInitialized) await dataSource.destroy();
          await database.close();
        },
      };
    },
  };
}

describe("auditx/typeorm", () => {
  for (const dialect of ["postgres", "sqlite"] as const) {
    changeScenarios(driver(dialect), { outbox: false });
    changeScenarios(driver(dialect), { outbox: true });
  }
});

describe("auditx/typeorm paths beyond the shared scenarios", () => {
  let dir: string;
  let cleanup: () => void;
  let logger: AuditLogger;
  let database: ScenarioDatabase;
  let opened: Awaited<ReturnType<typeof openDataSource>>;

  beforeEach(async () => {
    ({ dir, cleanup } = tempDir("auditx-orm-typeorm-"));
    logger = createLogger({ logDir: dir, console: false });
    database = await scenarioDatabase("postgres", postgres);
    opened = await openDataSource("postgres", database);
    await opened.dataSource.initialize();
    // After initialize() too.
    auditTypeOrm(opened.dataSource, { logger, entities: { Customer: { module: "sales" } } });
  });
  afterEach(async () => {
    await opened.dataSource.destroy();
    await database.close();
    await logger.shutdown();
    cleanup();
  });
  const customerEntries = () => readTrail(dir).filter((entry) => entry.entity_type === "Customer");

  it("save() logs the columns it wrote against the row as its own transaction read it, not as TypeORM loaded it before", async () => {
    const customers = opened.dataSource.getRepository(opened.CustomerEntity);
    const { id } = await customers.save({ code: "S-1", name: "Golden Trading", creditLimit: 1000 });
    const loaded = await customers.findOneByOrFail({ id });
    // TypeORM loads the row, then opens its transaction: another writer commits in between.
    let interleaved = false;
    const other = {
      async beforeTransactionStart() {
        if (interleaved) return;
        interleaved = true;
        await database.query("UPDATE customers SET credit_limit = 1500 WHERE id = $1", [id]);
      },
    };
    (opened.dataSource.subscribers as object[]).push(other);
    loaded.creditLimit = 2500;
    await RequestContext.run({ user: "thida", branchId: "BR-YGN" }, () => customers.save(loaded));
    expect(interleaved).toBe(true);
    const [created, updated] = customerEntries();
    expect(created).toMatchObject({ action: "CREATE", module: "sales", entity_id: String(id) });
    expect(updated).toMatchObject({ action: "UPDATE", user: "thida", branch_id: "BR-YGN", entity_id: String(id) });
    // TypeORM's own load said 1000; the row its UPDATE changed held 1500.
    expect(updated.old_values).toEqual({ creditLimit: "1500.00" });
    expect(updated.new_values).toEqual({ creditLimit: 2500 });
  });

  it("a query-builder update with a computed value reads its after-images back; remove() and softDelete-free deletes log the row", async () => {
    const customers = opened.dataSource.getRepository(opened.CustomerEntity);
    await customers.insert([
      { code: "Q-1", name: "A", creditLimit: 100 },
      { code: "Q-2", name: "B", creditLimit: 200 },
    ]);
    await opened.dataSource
      .createQueryBuilder()
      .update(opened.CustomerEntity)
      .set({ creditLimit: () => "credit_limit * 2" })
      .where("code LIKE :prefix", { prefix: "Q-%" })
      .execute();
    const doubled = customerEntries().filter((entry) => entry.action === "UPDATE");
    expect(doubled.map((entry) => [entry.old_values, entry.new_values])).toEqual([
      [{ creditLimit: "100.00" }, { creditLimit: "200.00" }],
      [{ creditLimit: "200.00" }, { creditLimit: "400.00" }],
    ]);
    const q1 = await customers.findOneByOrFail({ code: "Q-1" });
    await customers.remove(q1);
    const removed = customerEntries().filter((entry) => entry.action === "DELETE");
    expect(removed).toHaveLength(1);
    expect(removed[0]).toMatchObject({
      entity_id: String(q1.id ?? removed[0].entity_id),
      old_values: expect.objectContaining({ code: "Q-1" }),
    });
  });

  it("a transaction whose statement failed is rolled back at COMMIT by PostgreSQL: its entries are dropped", async () => {
    const customers = opened.dataSource.getRepository(opened.CustomerEntity);
    const { id } = await customers.save({ code: "E-1", name: "E", creditLimit: 100 });
    const runner = opened.dataSource.createQueryRunner();
    await runner.startTransaction();
    await runner.manager.getRepository(opened.CustomerEntity).update({ id }, { creditLimit: 900 });
    // A failing statement the caller swallows: PostgreSQL turns the later COMMIT into a ROLLBACK.
    await runner.query("SELECT 1/0").catch(() => undefined);
    await runner.commitTransaction();
    await runner.release();
    expect(Number((await customers.findOneByOrFail({ id })).creditLimit)).toBe(100);
    expect(customerEntries().filter((entry) => entry.action === "UPDATE")).toEqual([]);
  });
});
