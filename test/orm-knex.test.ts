import knexFactory, { type Knex } from "knex";
import { describe } from "vitest";
import { auditKnex } from "../src/integrations/knex.js";
import { captureOptions, scenarioDatabase } from "./support/orm-databases.js";
import { changeScenarios, type Dialect, type OrmDriver } from "./support/orm-scenarios.js";
import { usePostgres } from "./support/postgres.js";

const postgres = usePostgres();

function driver(dialect: Dialect): OrmDriver {
  return {
    dialect,
    customerType: "customers",
    lineType: "order_lines",
    creditLimitField: "credit_limit",
    qtyField: "qty",
    nested: false,
    async open(settings) {
      const database = await scenarioDatabase(dialect, postgres);
      const raw: Knex =
        dialect === "postgres"
          ? knexFactory({ client: "pg", connection: database.url, pool: { min: 0, max: 10 } })
          : knexFactory({ client: "better-sqlite3", connection: { filename: database.url }, useNullAsDefault: true });
      const db = auditKnex(raw, await captureOptions(settings));
      const firstId = (rows: unknown[]) => Number((rows[0] as { id?: number }).id ?? rows[0]);
      return {
        createCustomer: async (code, creditLimit) =>
          firstId(await db("customers").insert({ code, name: code, credit_limit: creditLimit }).returning("id")),
        setCreditLimit: async (id, creditLimit) => void (await db("customers").where({ id }).update({ credit_limit: creditLimit })),
        deleteCustomer: async (id) => void (await db("customers").where({ id }).del()),
        renameAll: async (prefix, name) => Number(await db("customers").where("code", "like", `${prefix}%`).update({ name })),
        deleteAll: async (prefix) => Number(await db("customers").where("code", "like", `${prefix}%`).del()),
        createOrder: async (customerId) => firstId(await db("orders").insert({ customer_id: customerId }).returning("id")),
        addLine: async (orderId, lineNo, qty) => void (await db("order_lines").insert({ order_id: orderId, line_no: lineNo, qty })),
        setQty: async (orderId, lineNo, qty) =>
          void (await db("order_lines").where({ order_id: orderId, line_no: lineNo }).update({ qty })),
        setCreditLimitThenFail: (id, creditLimit) =>
          db.transaction(async (trx) => {
            await trx("customers").where({ id }).update({ credit_limit: creditLimit });
            throw new Error("business rule failed");
          }),
        savepointRolledBack: (id, kept, rolledBack) =>
          db.transaction(async (trx) => {
            await trx("customers").where({ id }).update({ credit_limit: kept });
            await trx
              .transaction(async (inner) => {
                await inner("customers").where({ id }).update({ credit_limit: rolledBack });
                throw new Error("savepoint rolled back");
              })
              .catch(() => undefined);
          }),
        creditLimitOf: async (id) => {
          const row = await raw("customers").where({ id }).first();
          return row ? Number(row.credit_limit) : undefined;
        },
        outboxRows: database.outboxRows,
        relay: (logger) => database.relay(logger),
        relayFailing: database.relayFailing,
        close: async () => {
          await raw.destroy();
          await database.close();
        },
      };
    },
  };
}

describe("auditx/knex", () => {
  for (const dialect of ["postgres", "sqlite"] as const) {
    changeScenarios(driver(dialect), { outbox: false });
    changeScenarios(driver(dialect), { outbox: true });
  }
});
