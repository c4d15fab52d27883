import { PrismaBetterSqlite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import { describe } from "vitest";
import { auditPrisma } from "../src/integrations/prisma.js";
import { captureOptions, scenarioDatabase } from "./support/orm-databases.js";
import { changeScenarios, type Dialect, type OrmDriver } from "./support/orm-scenarios.js";
import { usePostgres } from "./support/postgres.js";
import { generatedPrismaClient } from "./support/prisma-generate.js";

const postgres = usePostgres();

// biome-ignore lint/suspicious/noExplicitAny: the generated client's types are not part of the repository.
type AnyClient = any;

function driver(dialect: Dialect): OrmDriver {
  return {
    dialect,
    customerType: "Customer",
    lineType: "OrderLine",
    creditLimitField: "creditLimit",
    qtyField: "qty",
    nested: true,
    async open(settings) {
      const database = await scenarioDatabase(dialect, postgres);
      const { PrismaClient } = await generatedPrismaClient(dialect === "postgres" ? "postgresql" : "sqlite");
      const adapter =
        dialect === "postgres"
          ? new PrismaPg({ connectionString: database.url })
          : new PrismaBetterSqlite3({ url: `file:${database.url}` });
      const base: AnyClient = new PrismaClient({ adapter });
      const prisma: AnyClient = base.$extends(auditPrisma(await captureOptions(settings)));
      return {
        createCustomer: async (code, creditLimit) => (await prisma.customer.create({ data: { code, name: code, creditLimit } })).id,
        setCreditLimit: async (id, creditLimit) => void (await prisma.customer.update({ where: { id }, data: { creditLimit } })),
        deleteCustomer: async (id) => void (await prisma.customer.delete({ where: { id } })),
        renameAll: async (prefix, name) =>
          (await prisma.customer.updateMany({ where: { code: { startsWith: prefix } }, data: { name } })).count,
        deleteAll: async (prefix) => (await prisma.customer.deleteMany({ where: { code: { startsWith: prefix } } })).count,
        createOrder: async (customerId) => (await prisma.order.create({ data: { customerId } })).id,
        addLine: async (orderId, lineNo, qty) => void (await prisma.orderLine.create({ data: { orderId, lineNo, qty } })),
        setQty: async (orderId, lineNo, qty) =>
          void (await prisma.orderLine.update({ where: { orderId_lineNo: { orderId, lineNo } }, data: { qty } })),
        createOrderWithLines: async (customerId, lines) =>
          (await prisma.order.create({ data: { customerId, lines: { create: lines } } })).id,
        setCreditLimitThenFail: (id, creditLimit) =>
          prisma.$transaction(async (tx: AnyClient) => {
            await tx.customer.update({ where: { id }, data: { creditLimit } });
            throw new Error("business rule failed");
          }),
        savepointRolledBack: (id, kept, rolledBack) =>
          prisma.$transaction(async (tx: AnyClient) => {
            await tx.customer.update({ where: { id }, data: { creditLimit: kept } });
            await tx
              .$transaction(async (inner: AnyClient) => {
                await inner.customer.update({ where: { id }, data: { creditLimit: rolledBack } });
                throw new Error("savepoint rolled back");
              })
              .catch(() => undefined);
          }),
        creditLimitOf: async (id) => {
          const row = await base.customer.findUnique({ where: { id } });
          return row ? Number(row.creditLimit) : undefined;
        },
        outboxRows: database.outboxRows,
        relay: (logger) => database.relay(logger),
        relayFailing: database.relayFailing,
        close: async () => {
          await base.$disconnect();
          await database.close();
        },
      };
    },
  };
}

describe("auditx/prisma", () => {
  for (const dialect of ["postgres", "sqlite"] as const) {
    changeScenarios(driver(dialect), { outbox: false });
    changeScenarios(driver(dialect), { outbox: true });
  }
});
