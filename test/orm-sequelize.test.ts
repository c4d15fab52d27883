import { DataTypes, type Model, type ModelStatic, Op, Sequelize, type Transaction } from "sequelize";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AuditLogger, createLogger, RequestContext } from "../src/index.js";
import { auditSequelize } from "../src/integrations/sequelize.js";
import { readTrail, tempDir } from "./support/core-trail.js";
import { captureOptions, type ScenarioDatabase, scenarioDatabase } from "./support/orm-databases.js";
import { changeScenarios, type Dialect, type OrmDriver } from "./support/orm-scenarios.js";
import { usePostgres } from "./support/postgres.js";

const postgres = usePostgres();

// biome-ignore lint/suspicious/noExplicitAny: rows of the scenario models are read by attribute name.
type AnyModel = ModelStatic<Model<any, any>>;

function connect(dialect: Dialect, database: ScenarioDatabase): Sequelize {
  return dialect === "postgres"
    ? new Sequelize(database.url, { dialect: "postgres", logging: false, pool: { max: 10 } })
    : new Sequelize({ dialect: "sqlite", storage: database.url, logging: false });
}

/** The scenario schema as Sequelize models: Customer, Order (its lines cascade through hooks), OrderLine (composite key). */
function defineModels(sequelize: Sequelize) {
  const Customer: AnyModel = sequelize.define(
    "Customer",
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      code: { type: DataTypes.STRING, allowNull: false },
      name: { type: DataTypes.STRING, allowNull: false },
      creditLimit: { type: DataTypes.DECIMAL(14, 2), allowNull: false, field: "credit_limit" },
      updatedAt: { type: DataTypes.DATE, field: "updated_at" },
    },
    { tableName: "customers", createdAt: false },
  );
  const Order: AnyModel = sequelize.define(
    "Order",
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      customerId: { type: DataTypes.INTEGER, allowNull: false, field: "customer_id" },
      status: { type: DataTypes.STRING, defaultValue: "open" },
    },
    { tableName: "orders", timestamps: false },
  );
  const OrderLine: AnyModel = sequelize.define(
    "OrderLine",
    {
      orderId: { type: DataTypes.INTEGER, primaryKey: true, field: "order_id" },
      lineNo: { type: DataTypes.INTEGER, primaryKey: true, field: "line_no" },
      qty: { type: DataTypes.INTEGER, allowNull: false },
    },
    { tableName: "order_lines", timestamps: false },
  );
  Order.hasMany(OrderLine, { as: "lines", foreignKey: { name: "orderId", field: "order_id" }, onDelete: "CASCADE", hooks: true });
  return { Customer, Order, OrderLine };
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
      const database = await scenarioDatabase(dialect, postgres, "sqlite3");
      const sequelize = connect(dialect, database);
      auditSequelize(sequelize, await captureOptions(settings));
      // Models defined after auditSequelize(): the hooks and wrappers apply to them too.
      const { Customer, Order, OrderLine } = defineModels(sequelize);
      const like = (prefix: string) => ({ code: { [Op.like]: `${prefix}%` } });
      return {
        createCustomer: async (code, creditLimit) => (await Customer.create({ code, name: code, creditLimit })).get("id") as number,
        setCreditLimit: async (id, creditLimit) => void (await Customer.update({ creditLimit }, { where: { id } })),
        deleteCustomer: async (id) => void (await Customer.destroy({ where: { id } })),
        renameAll: async (prefix, name) => (await Customer.update({ name }, { where: like(prefix) }))[0],
        deleteAll: async (prefix) => Customer.destroy({ where: like(prefix) }),
        createOrder: async (customerId) => (await Order.create({ customerId })).get("id") as number,
        addLine: async (orderId, lineNo, qty) => void (await OrderLine.create({ orderId, lineNo, qty })),
        setQty: async (orderId, lineNo, qty) => {
          const line = await OrderLine.findOne({ where: { orderId, lineNo } });
          await line!.update({ qty });
        },
        createOrderWithLines: async (customerId, lines) =>
          (await Order.create({ customerId, lines }, { include: [{ association: "lines" }] })).get("id") as number,
        deleteOrderCascading: async (orderId) => {
          const order = await Order.findByPk(orderId);
          await order!.destroy();
        },
        setCreditLimitThenFail: (id, creditLimit) =>
          sequelize.transaction(async (transaction) => {
            await Customer.update({ creditLimit }, { where: { id }, transaction });
            throw new Error("business rule failed");
          }),
        savepointRolledBack: (id, kept, rolledBack) =>
          sequelize.transaction(async (transaction) => {
            await Customer.update({ creditLimit: kept }, { where: { id }, transaction });
            await sequelize
              .transaction({ transaction }, async (savepoint) => {
                await Customer.update({ creditLimit: rolledBack }, { where: { id }, transaction: savepoint });
                throw new Error("savepoint rolled back");
              })
              .catch(() => undefined);
          }),
        creditLimitOf: async (id) => {
          const row = await Customer.findByPk(id);
          return row ? Number(row.get("creditLimit")) : undefined;
        },
        outboxRows: database.outboxRows,
        relay: (logger) => database.relay(logger),
        relayFailing: database.relayFailing,
        close: async () => {
          await sequelize.close();
          await database.close();
        },
      };
    },
  };
}

describe("auditx/sequelize", () => {
  for (const dialect of ["postgres", "sqlite"] as const) {
    changeScenarios(driver(dialect), { outbox: false });
    changeScenarios(driver(dialect), { outbox: true });
  }
});

describe("auditx/sequelize commit outcomes and paths beyond the shared scenarios", () => {
  let dir: string;
  let cleanup: () => void;
  let logger: AuditLogger;
  let database: ScenarioDatabase;
  let sequelize: Sequelize;
  let models: ReturnType<typeof defineModels>;

  beforeEach(async () => {
    ({ dir, cleanup } = tempDir("auditx-orm-sequelize-"));
    logger = createLogger({ logDir: dir, console: false });
    database = await scenarioDatabase("postgres", postgres);
    sequelize = connect("postgres", database);
    // Models defined before auditSequelize(): wrapped all the same.
    models = defineModels(sequelize);
    auditSequelize(sequelize, { logger, entities: { Customer: { module: "sales" } } });
  });
  afterEach(async () => {
    await sequelize.close();
    await database.close();
    await logger.shutdown();
    cleanup();
  });
  const customerEntries = () => readTrail(dir).filter((entry) => entry.entity_type === "Customer");

  it("a COMMIT that fails leaves no entry, although Sequelize runs afterCommit hooks all the same", async () => {
    const { Customer } = models;
    const a = await Customer.create({ code: "A", name: "Alpha", creditLimit: 100 });
    const b = await Customer.create({ code: "B", name: "Beta", creditLimit: 100 });
    // Checked at COMMIT: two customers may not end up with one name.
    await database.query("ALTER TABLE customers ADD CONSTRAINT customers_name_key UNIQUE (name) DEFERRABLE INITIALLY DEFERRED");
    let afterCommitRan = false;
    await expect(
      sequelize.transaction(async (transaction: Transaction) => {
        transaction.afterCommit(() => {
          afterCommitRan = true;
        });
        await Customer.update({ creditLimit: 5000 }, { where: { id: a.get("id") }, transaction });
        await b.update({ name: "Alpha" }, { transaction });
      }),
    ).rejects.toThrow();
    expect(afterCommitRan).toBe(true);
    expect(customerEntries().filter((entry) => entry.action === "UPDATE")).toEqual([]);
  });

  it("a transaction whose statement failed is rolled back at COMMIT by PostgreSQL: its entries are dropped", async () => {
    const { Customer } = models;
    const customer = await Customer.create({ code: "E", name: "E", creditLimit: 100 });
    const transaction = await sequelize.transaction();
    await Customer.update({ creditLimit: 900 }, { where: { id: customer.get("id") }, transaction });
    await sequelize.query("SELECT 1/0", { transaction }).catch(() => undefined);
    await transaction.commit();
    expect(Number((await customer.reload()).get("creditLimit"))).toBe(100);
    expect(customerEntries().filter((entry) => entry.action === "UPDATE")).toEqual([]);
  });

  it("instance save() logs the fields it wrote against the row its transaction locked; individualHooks do not log twice", async () => {
    const { Customer } = models;
    const customer = await Customer.create({ code: "S", name: "Golden Trading", creditLimit: 1000 });
    // Another writer changes the row after the instance was loaded.
    await database.query("UPDATE customers SET credit_limit = 1500, name = 'Golden Trading Co.' WHERE id = $1", [customer.get("id")]);
    await RequestContext.run({ user: "thida", branchId: "BR-YGN" }, () => customer.update({ creditLimit: 2500 }));
    await Customer.update({ name: "GT" }, { where: { id: customer.get("id") }, individualHooks: true });
    const [created, saved, renamed, ...rest] = customerEntries();
    expect(rest).toEqual([]);
    expect(created).toMatchObject({ action: "CREATE", module: "sales" });
    expect(saved).toMatchObject({ action: "UPDATE", user: "thida", branch_id: "BR-YGN", entity_id: String(customer.get("id")) });
    expect(saved.old_values).toEqual({ creditLimit: "1500.00" });
    expect(saved.new_values).toEqual({ creditLimit: 2500 });
    expect(renamed.old_values).toEqual({ name: "Golden Trading Co." });
    expect(renamed.new_values).toEqual({ name: "GT" });
  });
});
