// What change capture costs per ORM adapter, against one PostgreSQL server in one run:
// a single-row update (by primary key, outside a transaction and inside one) and a 1,000-row
// bulk update, each without the adapter and with it (after-commit mode, one entry per row:
// bulkLimit 1000). Prints medians, the ratio captured/plain, and the SQL statements each
// operation sends (counted on the client), so the extra round trips show.
//
//   npm run bench:orm [-- --runs 5 --single 200]
// DATABASE_URL names the server; otherwise a throwaway embedded PostgreSQL is started.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { startPostgres } from "./support/postgres-server.mjs";

const { values } = parseArgs({ options: { runs: { type: "string", default: "5" }, single: { type: "string", default: "200" } } });
const RUNS = Number(values.runs);
const SINGLE = Number(values.single);
const ROWS = 1000;
const root = join(import.meta.dirname, "..");
const { createLogger } = await import("../dist/index.js");
const { auditKnex } = await import("../dist/integrations/knex.js");
const { auditPrisma } = await import("../dist/integrations/prisma.js");
const { auditTypeOrm } = await import("../dist/integrations/typeorm.js");
const { auditSequelize } = await import("../dist/integrations/sequelize.js");
const { auditDrizzle } = await import("../dist/integrations/drizzle.js");

const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];

async function time(fn) {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

const server = await startPostgres();
const dir = mkdtempSync(join(tmpdir(), "auditx-bench-orm-"));
const logger = createLogger({ logDir: dir, console: false });
try {
  const admin = new pg.Client(server.url);
  admin.on("error", () => {});
  await admin.connect();
  await admin.query("DROP TABLE IF EXISTS bench_customers");
  await admin.query(
    "CREATE TABLE bench_customers (id serial PRIMARY KEY, code text NOT NULL UNIQUE, name text NOT NULL, credit_limit numeric(14,2) NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())",
  );
  await admin.query(
    `INSERT INTO bench_customers (code, name, credit_limit) SELECT 'C-' || g, 'Customer ' || g, 1000 FROM generate_series(1, ${ROWS}) g`,
  );

  // Prisma: the client is generated from a schema naming the same table.
  // Inside the project, so that the generated client finds @prisma/client.
  const schemaDir = mkdtempSync(join(root, "bench", ".prisma-"));
  const schema = join(schemaDir, "schema.prisma");
  const { writeFileSync } = await import("node:fs");
  writeFileSync(
    schema,
    `generator client {\n  provider = "prisma-client-js"\n  output = "${join(schemaDir, "client")}"\n}\ndatasource db {\n  provider = "postgresql"\n}\nmodel BenchCustomer {\n  id Int @id @default(autoincrement())\n  code String @unique\n  name String\n  creditLimit Decimal @map("credit_limit")\n  updatedAt DateTime @updatedAt @map("updated_at")\n  @@map("bench_customers")\n}\n`,
  );
  execFileSync(process.execPath, [join(root, "node_modules", "prisma", "build", "index.js"), "generate", `--schema=${schema}`], {
    cwd: root,
    env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.execPath, PRISMA_HIDE_UPDATE_MESSAGE: "1", CHECKPOINT_DISABLE: "1" },
    stdio: "ignore",
  });
  const { PrismaClient } = createRequire(import.meta.url)(join(schemaDir, "client", "index.js"));
  const { PrismaPg } = await import("@prisma/adapter-pg");
  const { default: knexFactory } = await import("knex");

  const adapters = [];
  {
    let queries = 0;
    const knex = knexFactory({ client: "pg", connection: server.url, pool: { min: 1, max: 4 } });
    knex.on("query", () => queries++);
    const audited = auditKnex(knex, { logger, bulkLimit: ROWS });
    adapters.push({
      name: "knex",
      count: () => queries,
      single: (db, id, limit) => db("bench_customers").where({ id }).update({ credit_limit: limit }),
      singleInTx: (db, id, limit) => db.transaction((trx) => trx("bench_customers").where({ id }).update({ credit_limit: limit })),
      bulk: (db, limit) => db("bench_customers").where("id", "<=", ROWS).update({ credit_limit: limit }),
      plain: knex,
      audited,
      close: () => knex.destroy(),
    });
  }
  {
    let queries = 0;
    const prisma = new PrismaClient({
      adapter: new PrismaPg({ connectionString: server.url, max: 4 }),
      log: [{ emit: "event", level: "query" }],
    });
    prisma.$on("query", () => queries++);
    const audited = prisma.$extends(auditPrisma({ logger, bulkLimit: ROWS, provider: "postgres" }));
    adapters.push({
      name: "prisma",
      count: () => queries,
      single: (db, id, limit) => db.benchCustomer.update({ where: { id }, data: { creditLimit: limit } }),
      singleInTx: (db, id, limit) => db.$transaction((tx) => tx.benchCustomer.update({ where: { id }, data: { creditLimit: limit } })),
      bulk: (db, limit) => db.benchCustomer.updateMany({ where: { id: { lte: ROWS } }, data: { creditLimit: limit } }),
      plain: prisma,
      audited,
      close: () => prisma.$disconnect(),
    });
  }

  {
    // TypeORM: two DataSources on the same table, one of them audited (auditing is per DataSource).
    const { DataSource, EntitySchema, LessThanOrEqual } = await import("typeorm");
    let queries = 0;
    const counting = { logQuery: () => queries++, logQueryError() {}, logQuerySlow() {}, logSchemaBuild() {}, logMigration() {}, log() {} };
    const entity = () =>
      new EntitySchema({
        name: "BenchCustomer",
        tableName: "bench_customers",
        columns: {
          id: { type: Number, primary: true, generated: true },
          code: { type: String },
          name: { type: String },
          creditLimit: { type: "decimal", precision: 14, scale: 2, name: "credit_limit" },
          updatedAt: { type: "timestamptz", name: "updated_at", updateDate: true },
        },
      });
    const open = async (audit) => {
      const schema = entity();
      const dataSource = await new DataSource({
        type: "postgres",
        url: server.url,
        entities: [schema],
        poolSize: 4,
        logging: true,
        logger: counting,
      }).initialize();
      if (audit) auditTypeOrm(dataSource, { logger, bulkLimit: ROWS });
      return { dataSource, repo: dataSource.getRepository(schema), schema };
    };
    const plain = await open(false);
    const audited = await open(true);
    adapters.push({
      name: "typeorm",
      count: () => queries,
      single: (db, id, limit) => db.repo.update({ id }, { creditLimit: limit }),
      singleInTx: (db, id, limit) =>
        db.dataSource.transaction((manager) => manager.getRepository(db.schema).update({ id }, { creditLimit: limit })),
      bulk: (db, limit) => db.repo.update({ id: LessThanOrEqual(ROWS) }, { creditLimit: limit }),
      plain,
      audited,
      close: async () => {
        await plain.dataSource.destroy();
        await audited.dataSource.destroy();
      },
    });
  }
  {
    // Sequelize: two instances, one audited (its hooks are per instance).
    const { DataTypes, Op, Sequelize } = await import("sequelize");
    let queries = 0;
    const open = (audit) => {
      const sequelize = new Sequelize(server.url, { dialect: "postgres", logging: () => queries++, pool: { max: 4 } });
      if (audit) auditSequelize(sequelize, { logger, bulkLimit: ROWS });
      const model = sequelize.define(
        "BenchCustomer",
        {
          id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
          code: DataTypes.STRING,
          name: DataTypes.STRING,
          creditLimit: { type: DataTypes.DECIMAL(14, 2), field: "credit_limit" },
          updatedAt: { type: DataTypes.DATE, field: "updated_at" },
        },
        { tableName: "bench_customers", createdAt: false },
      );
      return { sequelize, model };
    };
    const plain = open(false);
    const audited = open(true);
    adapters.push({
      name: "sequelize",
      count: () => queries,
      single: (db, id, limit) => db.model.update({ creditLimit: limit }, { where: { id } }),
      singleInTx: (db, id, limit) =>
        db.sequelize.transaction((transaction) => db.model.update({ creditLimit: limit }, { where: { id }, transaction })),
      bulk: (db, limit) => db.model.update({ creditLimit: limit }, { where: { id: { [Op.lte]: ROWS } } }),
      plain,
      audited,
      close: async () => {
        await plain.sequelize.close();
        await audited.sequelize.close();
      },
    });
  }
  {
    const { eq, lte } = await import("drizzle-orm");
    const { drizzle } = await import("drizzle-orm/node-postgres");
    const { integer, numeric, pgTable, text, timestamp } = await import("drizzle-orm/pg-core");
    const table = pgTable("bench_customers", {
      id: integer("id").primaryKey(),
      code: text("code").notNull(),
      name: text("name").notNull(),
      creditLimit: numeric("credit_limit", { precision: 14, scale: 2 }).notNull(),
      updatedAt: timestamp("updated_at", { withTimezone: true }),
    });
    let queries = 0;
    const pool = new pg.Pool({ connectionString: server.url, max: 4 });
    const plain = drizzle(pool, { logger: { logQuery: () => queries++ } });
    const audited = auditDrizzle(plain, { logger, bulkLimit: ROWS });
    adapters.push({
      name: "drizzle",
      count: () => queries,
      single: (db, id, limit) =>
        db
          .update(table)
          .set({ creditLimit: String(limit) })
          .where(eq(table.id, id)),
      singleInTx: (db, id, limit) =>
        db.transaction((tx) =>
          tx
            .update(table)
            .set({ creditLimit: String(limit) })
            .where(eq(table.id, id)),
        ),
      bulk: (db, limit) =>
        db
          .update(table)
          .set({ creditLimit: String(limit) })
          .where(lte(table.id, ROWS)),
      plain,
      audited,
      close: () => pool.end(),
    });
  }

  let limit = 2000;
  const results = [];
  for (const adapter of adapters) {
    for (const [operation, perRun] of [
      ["single-row update", SINGLE],
      ["single-row update in a transaction", SINGLE],
      [`${ROWS}-row bulk update`, 1],
    ]) {
      const row = { adapter: adapter.name, operation };
      for (const variant of ["plain", "audited"]) {
        const db = adapter[variant];
        const run = (i) =>
          operation.startsWith("single-row update in")
            ? adapter.singleInTx(db, (i % ROWS) + 1, limit++)
            : operation.startsWith("single")
              ? adapter.single(db, (i % ROWS) + 1, limit++)
              : adapter.bulk(db, limit++);
        await run(0); // warm-up (and the adapter's one-time key lookup)
        const before = adapter.count();
        await run(1);
        row[`${variant} statements`] = adapter.count() - before;
        const times = [];
        for (let r = 0; r < RUNS; r++)
          times.push(
            (await time(async () => {
              for (let i = 0; i < perRun; i++) await run(i);
            })) / perRun,
          );
        row[`${variant} ms`] = median(times);
      }
      row.ratio = row["audited ms"] / row["plain ms"];
      results.push(row);
    }
    await adapter.close();
  }
  console.log(`PostgreSQL (${server.source}); medians of ${RUNS} runs; single-row figures are per update (${SINGLE} per run)`);
  console.table(
    results.map((r) => ({
      adapter: r.adapter,
      operation: r.operation,
      "plain ms": r["plain ms"].toFixed(3),
      "captured ms": r["audited ms"].toFixed(3),
      ratio: `${r.ratio.toFixed(2)}x`,
      "plain statements": r["plain statements"],
      "captured statements": r["audited statements"],
    })),
  );
  await admin.end();
  rmSync(schemaDir, { recursive: true, force: true });
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await logger.shutdown();
  rmSync(dir, { recursive: true, force: true });
  await server.stop();
}
