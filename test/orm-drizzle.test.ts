import Database from "better-sqlite3";
import { and, eq, like, sql } from "drizzle-orm";
import { drizzle as drizzleSqlite } from "drizzle-orm/better-sqlite3";
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres";
import { integer, numeric, pgTable, primaryKey, serial, text, timestamp } from "drizzle-orm/pg-core";
import {
  integer as sqliteInteger,
  numeric as sqliteNumeric,
  primaryKey as sqlitePrimaryKey,
  sqliteTable,
  text as sqliteText,
} from "drizzle-orm/sqlite-core";
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AuditLogger, createLogger } from "../src/index.js";
import { auditDrizzle } from "../src/integrations/drizzle.js";
import { readTrail, tempDir } from "./support/core-trail.js";
import { captureOptions, type ScenarioDatabase, scenarioDatabase } from "./support/orm-databases.js";
import { changeScenarios, type Dialect, type OrmDriver } from "./support/orm-scenarios.js";
import { usePostgres } from "./support/postgres.js";

const postgres = usePostgres();

const pgSchema = {
  customers: pgTable("customers", {
    id: serial("id").primaryKey(),
    code: text("code").notNull(),
    name: text("name").notNull(),
    creditLimit: numeric("credit_limit", { precision: 14, scale: 2 }).notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).defaultNow(),
  }),
  orders: pgTable("orders", {
    id: serial("id").primaryKey(),
    customerId: integer("customer_id").notNull(),
    status: text("status").default("open"),
  }),
  orderLines: pgTable(
    "order_lines",
    { orderId: integer("order_id").notNull(), lineNo: integer("line_no").notNull(), qty: integer("qty").notNull() },
    (t) => [primaryKey({ columns: [t.orderId, t.lineNo] })],
  ),
};
const sqliteSchema = {
  customers: sqliteTable("customers", {
    id: sqliteInteger("id").primaryKey({ autoIncrement: true }),
    code: sqliteText("code").notNull(),
    name: sqliteText("name").notNull(),
    creditLimit: sqliteNumeric("credit_limit").notNull(),
    updatedAt: sqliteText("updated_at").default(sql`CURRENT_TIMESTAMP`),
  }),
  orders: sqliteTable("orders", {
    id: sqliteInteger("id").primaryKey({ autoIncrement: true }),
    customerId: sqliteInteger("customer_id").notNull(),
    status: sqliteText("status").default("open"),
  }),
  orderLines: sqliteTable(
    "order_lines",
    { orderId: sqliteInteger("order_id").notNull(), lineNo: sqliteInteger("line_no").notNull(), qty: sqliteInteger("qty").notNull() },
    (t) => [sqlitePrimaryKey({ columns: [t.orderId, t.lineNo] })],
  ),
};

// biome-ignore lint/suspicious/noExplicitAny: one driver body serves both dialects' databases and tables.
type Any = any;

function open(dialect: Dialect, database: ScenarioDatabase, options: object) {
  if (dialect === "postgres") {
    const pool = new pg.Pool({ connectionString: database.url, max: 10 });
    return { db: auditDrizzle(drizzlePg(pool), options) as Any, raw: drizzlePg(pool) as Any, tables: pgSchema, close: () => pool.end() };
  }
  const sqlite = new Database(database.url);
  sqlite.pragma("busy_timeout = 10000");
  return {
    db: auditDrizzle(drizzleSqlite(sqlite), options) as Any,
    raw: drizzleSqlite(sqlite) as Any,
    tables: sqliteSchema,
    close: async () => sqlite.close(),
  };
}

/** Rows a write changed: node-postgres reports rowCount, better-sqlite3 changes. */
const changed = (result: Any) => Number(result.rowCount ?? result.changes);

function driver(dialect: Dialect): OrmDriver {
  const sync = dialect === "sqlite";
  return {
    dialect,
    customerType: "customers",
    orderType: "orders",
    lineType: "order_lines",
    creditLimitField: "creditLimit",
    qtyField: "qty",
    nested: false,
    async open(settings) {
      const database = await scenarioDatabase(dialect, postgres);
      const { db, raw, tables, close } = open(dialect, database, await captureOptions(settings));
      const { customers, orders, orderLines } = tables as Any;
      const setLimit = (runner: Any, id: number, creditLimit: number) =>
        runner
          .update(customers)
          .set({ creditLimit: String(creditLimit) })
          .where(eq(customers.id, id));
      return {
        createCustomer: async (code, creditLimit) =>
          (
            await db
              .insert(customers)
              .values({ code, name: code, creditLimit: String(creditLimit) })
              .returning({ id: customers.id })
          )[0].id,
        setCreditLimit: async (id, creditLimit) => void (await setLimit(db, id, creditLimit)),
        deleteCustomer: async (id) => void (await db.delete(customers).where(eq(customers.id, id))),
        renameAll: async (prefix, name) =>
          changed(
            await db
              .update(customers)
              .set({ name })
              .where(like(customers.code, `${prefix}%`)),
          ),
        deleteAll: async (prefix) => changed(await db.delete(customers).where(like(customers.code, `${prefix}%`))),
        createOrder: async (customerId) => (await db.insert(orders).values({ customerId }).returning())[0].id,
        addLine: async (orderId, lineNo, qty) => void (await db.insert(orderLines).values({ orderId, lineNo, qty })),
        setQty: async (orderId, lineNo, qty) =>
          void (await db
            .update(orderLines)
            .set({ qty })
            .where(and(eq(orderLines.orderId, orderId), eq(orderLines.lineNo, lineNo)))),
        // better-sqlite3 transactions are synchronous: run() executes at once.
        setCreditLimitThenFail: async (id, creditLimit) =>
          sync
            ? db.transaction((tx: Any) => {
                setLimit(tx, id, creditLimit).run();
                throw new Error("business rule failed");
              })
            : db.transaction(async (tx: Any) => {
                await setLimit(tx, id, creditLimit);
                throw new Error("business rule failed");
              }),
        savepointRolledBack: async (id, kept, rolledBack) =>
          sync
            ? db.transaction((tx: Any) => {
                setLimit(tx, id, kept).run();
                try {
                  tx.transaction((inner: Any) => {
                    setLimit(inner, id, rolledBack).run();
                    throw new Error("savepoint rolled back");
                  });
                } catch {
                  // The savepoint is rolled back; the transaction goes on.
                }
              })
            : db.transaction(async (tx: Any) => {
                await setLimit(tx, id, kept);
                await tx
                  .transaction(async (inner: Any) => {
                    await setLimit(inner, id, rolledBack);
                    throw new Error("savepoint rolled back");
                  })
                  .catch(() => undefined);
              }),
        creditLimitOf: async (id) => {
          const [row] = await raw.select().from(customers).where(eq(customers.id, id));
          return row ? Number(row.creditLimit) : undefined;
        },
        outboxRows: database.outboxRows,
        relay: (logger) => database.relay(logger),
        relayFailing: database.relayFailing,
        close: async () => {
          await close();
          await database.close();
        },
      };
    },
  };
}

describe("auditx/drizzle", () => {
  for (const dialect of ["postgres", "sqlite"] as const) {
    changeScenarios(driver(dialect), { outbox: false });
    changeScenarios(driver(dialect), { outbox: true });
  }
});

describe("auditx/drizzle results and paths beyond the shared scenarios", () => {
  let dir: string;
  let cleanup: () => void;
  let logger: AuditLogger;
  let database: ScenarioDatabase;
  beforeEach(() => {
    ({ dir, cleanup } = tempDir("auditx-orm-drizzle-"));
    logger = createLogger({ logDir: dir, console: false });
  });
  afterEach(async () => {
    await database?.close();
    await logger.shutdown();
    cleanup();
  });
  const entries = () => readTrail(dir).filter((entry) => entry.entity_type === "customers");

  it("node-postgres: callers get the results they asked for; a computed update reads its rows back; a failed transaction logs nothing", async () => {
    database = await scenarioDatabase("postgres", postgres);
    const pool = new pg.Pool({ connectionString: database.url, max: 4 });
    try {
      const db = auditDrizzle(drizzlePg(pool), { logger });
      const { customers } = pgSchema;
      const inserted = await db.insert(customers).values({ code: "A", name: "Alpha", creditLimit: "100" });
      expect(inserted).toMatchObject({ command: "INSERT", rowCount: 1 });
      const [b] = await db.insert(customers).values({ code: "B", name: "Beta", creditLimit: "200" }).returning({ ref: customers.code });
      expect(b).toEqual({ ref: "B" });
      const doubled = await db
        .update(customers)
        .set({ creditLimit: sql`${customers.creditLimit} * 2` })
        .where(like(customers.code, "%"));
      expect(doubled.rowCount).toBe(2);
      expect(
        entries()
          .filter((entry) => entry.action === "UPDATE")
          .map((entry) => [entry.old_values, entry.new_values]),
      ).toEqual([
        [{ creditLimit: "100.00" }, { creditLimit: "200.00" }],
        [{ creditLimit: "200.00" }, { creditLimit: "400.00" }],
      ]);
      await db.transaction(async (tx) => {
        await tx.update(customers).set({ creditLimit: "9" }).where(eq(customers.code, "A"));
        // A failing statement the caller swallows: PostgreSQL turns the COMMIT into a ROLLBACK.
        await tx.execute(sql`select 1/0`).catch(() => undefined);
      });
      expect(entries().filter((entry) => entry.action === "UPDATE")).toHaveLength(2);
    } finally {
      await pool.end();
    }
  });

  it("better-sqlite3 stays synchronous: run(), all() and get() return at once with the driver's results", async () => {
    database = await scenarioDatabase("sqlite", postgres);
    const sqlite = new Database(database.url);
    try {
      const db = auditDrizzle(drizzleSqlite(sqlite), { logger });
      const { customers } = sqliteSchema;
      const inserted = db.insert(customers).values({ code: "A", name: "Alpha", creditLimit: "100" }).run();
      expect(inserted).toEqual({ changes: 1, lastInsertRowid: 1 });
      const row = db.insert(customers).values({ code: "B", name: "Beta", creditLimit: "200" }).returning({ id: customers.id }).get();
      expect(row).toEqual({ id: 2 });
      const updated = db.update(customers).set({ name: "Gamma" }).where(eq(customers.id, 2)).run();
      expect(updated.changes).toBe(1);
      const deleted = db.delete(customers).where(eq(customers.id, 1)).returning().all();
      expect(deleted.map((r) => r.code)).toEqual(["A"]);
      expect(entries().map((entry) => entry.action)).toEqual(["CREATE", "CREATE", "UPDATE", "DELETE"]);
      expect(entries()[2]).toMatchObject({ old_values: { name: "Beta" }, new_values: { name: "Gamma" } });
    } finally {
      sqlite.close();
    }
  });
});
