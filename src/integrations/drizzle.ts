/**
 * auditx/drizzle: a thin wrapper around a Drizzle database (node-postgres,
 * better-sqlite3) that audits inserts, updates and deletes made with its
 * query builders, with before and after values of the changed fields.
 *
 *   const db = auditDrizzle(drizzle(pool), { entities: { customers: { module: "sales" } } });
 *   await db.update(customers).set({ creditLimit: "5000" }).where(eq(customers.id, 42));
 *   await db.transaction(async (tx) => { await tx.insert(orders).values(order); });
 *
 * Updates and deletes read their before-images with the statement's own
 * WHERE (`SELECT … FOR UPDATE` on PostgreSQL: one extra query) in its
 * transaction; a statement outside a transaction gets one of its own. After-
 * images of updates are the before-images with the values set (read back
 * when SQL computes one); inserts return their rows (`RETURNING`), and the
 * caller still gets what it asked for. better-sqlite3 stays synchronous.
 * Raw SQL (`db.execute`, `db.run`, `sql```) and prepared statements are not audited.
 */
import { and, Column, eq, getTableColumns, getTableName, is, or, SQL, type Table } from "drizzle-orm";
import { PgTable, getTableConfig as pgTableConfig } from "drizzle-orm/pg-core";
import { getTableConfig as sqliteTableConfig } from "drizzle-orm/sqlite-core";
import { type ChangeAction, ChangeCapture } from "./changes/ChangeCapture.js";
import { deliverChanges, pgTransactionFailed, settleFrame } from "./changes/deliver.js";
import type { ChangeCaptureOptions } from "./changes/options.js";
import type { OutboxDialect } from "./changes/outbox.js";
import type { Row } from "./changes/rowValues.js";
import { statementRows, withValues } from "./changes/statementRows.js";
import { TransactionFrame } from "./changes/TransactionFrame.js";

export { ChangeAuditError } from "./changes/ChangeAuditError.js";
export type { ChangeCaptureOptions, EntityCaptureOptions, FailurePolicy } from "./changes/options.js";

/** Options of auditDrizzle: the shared ones; entities are keyed by table name. */
export type AuditDrizzleOptions = ChangeCaptureOptions;

type Kind = "insert" | "update" | "delete";

/** The Drizzle internals the wrapper reads (0.3x–0.4x query builders). */
interface WriteBase {
  config: {
    table: Table;
    where?: SQL;
    set?: Record<string, unknown>;
    returning?: Array<{ path: string[]; field: unknown }>;
    returningFields?: unknown;
  };
  session: unknown;
  returning(fields?: unknown): WriteBase;
  execute(): Promise<unknown>;
  all(): unknown;
  run(): unknown;
}

/** A Drizzle database or transaction: select() for before-images, transaction() for frames. */
interface Runner {
  select(): { from(table: Table): SelectBuilder };
  transaction(fn: (tx: Runner) => unknown, config?: unknown): unknown;
  session: { client: unknown };
}
interface SelectBuilder {
  where(where: SQL | undefined): SelectBuilder;
  limit(n: number): SelectBuilder;
  for?(strength: "update"): SelectBuilder;
  toSQL(): { sql: string; params: unknown[] };
  all?(): Row[];
  then: PromiseLike<Row[]>["then"];
}

interface TableInfo {
  name: string;
  key: string[];
  /** TS key of each column object. */
  keys: Map<unknown, string>;
}

interface Scope {
  capture: ChangeCapture;
  dialect: OutboxDialect;
  tables: WeakMap<Table, TableInfo>;
  /** The database itself: statements outside a transaction open theirs on it. */
  root: Runner;
}

const EXECUTORS_PG = new Set(["then", "catch", "finally", "execute"]);
const EXECUTORS_SQLITE = new Set(["then", "catch", "finally", "execute", "run", "all", "get", "values"]);
const AUDITED = Symbol("auditx.drizzle");

/** Wraps `db` so that writes through its query builders are audited; everything else passes through unchanged. */
export function auditDrizzle<T extends object>(db: T, options: AuditDrizzleOptions = {}): T {
  const dialectName = (db as { dialect?: { constructor?: { name?: string } } }).dialect?.constructor?.name ?? "";
  const dialect: OutboxDialect | undefined = /^Pg/.test(dialectName) ? "postgres" : /^SQLite/.test(dialectName) ? "sqlite" : undefined;
  const client = (db as { session?: { client?: unknown } }).session?.client as { prepare?: unknown; query?: unknown } | undefined;
  if (
    !dialect ||
    (dialect === "sqlite" && typeof client?.prepare !== "function") ||
    (dialect === "postgres" && typeof client?.query !== "function")
  ) {
    throw new TypeError("auditDrizzle: only node-postgres and better-sqlite3 databases are supported");
  }
  const scope: Scope = { capture: new ChangeCapture("drizzle", options), dialect, tables: new WeakMap(), root: db as unknown as Runner };
  return wrapRunner(db as unknown as Runner, scope, undefined) as unknown as T;
}

function wrapRunner(runner: Runner, scope: Scope, frame: TransactionFrame | undefined): Runner {
  if ((runner as unknown as Record<symbol, unknown>)[AUDITED]) return runner;
  return new Proxy(runner, {
    get(target, property, receiver) {
      if (property === AUDITED) return true;
      if (property === "insert" || property === "update" || property === "delete") {
        return (table: Table) => {
          const builder = (Reflect.get(target, property, target) as (t: Table) => object).call(target, table);
          const info = tableInfo(table, scope);
          if (!scope.capture.entity(info.name)) return builder;
          // delete() is the statement itself; insert() and update() become one with values() and set().
          return property === "delete"
            ? wrapBase(builder as WriteBase, "delete", info, target, scope, frame)
            : wrapStarter(builder, property, info, target, scope, frame);
        };
      }
      if (property === "transaction") {
        return (fn: (tx: Runner) => unknown, config?: unknown) => transaction(target, scope, frame, fn, config);
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** The first step of insert() / update(): values() / set() give the statement. */
function wrapStarter(builder: object, kind: "insert" | "update", info: TableInfo, runner: Runner, scope: Scope, frame?: TransactionFrame) {
  const next = kind === "insert" ? "values" : "set";
  return new Proxy(builder, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property === next || (kind === "insert" && property === "select")) {
        return (...args: unknown[]) =>
          wrapBase((value as (...a: unknown[]) => WriteBase).apply(target, args), kind, info, runner, scope, frame);
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function wrapBase(base: WriteBase, kind: Kind, info: TableInfo, runner: Runner, scope: Scope, frame?: TransactionFrame): WriteBase {
  const executors = scope.dialect === "postgres" ? EXECUTORS_PG : EXECUTORS_SQLITE;
  const proxy: WriteBase = new Proxy(base, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof property === "string" && executors.has(property)) {
        const method = property;
        return (...args: unknown[]) => {
          if (method === "then" || method === "catch" || method === "finally" || method === "execute") {
            // execute() of a better-sqlite3 statement is all() or run() behind a promise.
            const sqliteMethod = target.config.returning ? "all" : "run";
            const promise = Promise.resolve().then(() =>
              audited(target, scope.dialect === "sqlite" ? sqliteMethod : "execute", kind, info, runner, scope, frame),
            );
            if (method === "execute") return promise;
            return (promise[method] as (...a: unknown[]) => unknown).apply(promise, args);
          }
          return audited(target, method, kind, info, runner, scope, frame);
        };
      }
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const result = value.apply(target, args);
        return result === target ? proxy : result;
      };
    },
  });
  return proxy;
}

/** A transaction (or, inside one, a savepoint) whose entries are held in its frame until it ends. */
function transaction(runner: Runner, scope: Scope, parent: TransactionFrame | undefined, fn: (tx: Runner) => unknown, config: unknown) {
  const frame = new TransactionFrame(parent);
  const root = parent === undefined;
  const end = (committed: boolean) => (root ? settleFrame(scope.capture, frame, committed) : committed ? frame.commit() : frame.rollback());
  if (scope.dialect === "sqlite") {
    // better-sqlite3: synchronous.
    let result: unknown;
    try {
      result = runner.transaction((tx) => fn(wrapRunner(tx, scope, frame)), config);
    } catch (error) {
      frame.rollback();
      throw error;
    }
    end(true);
    return result;
  }
  let failed = false;
  return (async () => {
    let result: unknown;
    try {
      result = await runner.transaction(async (tx) => {
        const value = await fn(wrapRunner(tx, scope, frame));
        // A statement failed in it: PostgreSQL answers the COMMIT with a ROLLBACK.
        if (root) failed = await pgTransactionFailed(tx.session.client);
        return value;
      }, config);
    } catch (error) {
      frame.rollback();
      throw error;
    }
    end(!failed);
    return result;
  })();
}

/** Runs one audited statement: in the caller's transaction, or in one of the wrapper's own. */
function audited(base: WriteBase, method: string, kind: Kind, info: TableInfo, runner: Runner, scope: Scope, frame?: TransactionFrame) {
  const capture = scope.capture;
  // An insert commits by itself unless the outbox row must commit with it; the others read before they write.
  if (frame || (kind === "insert" && !capture.outboxTable)) return statement(base, method, kind, info, runner, scope, frame);
  const own = new TransactionFrame();
  if (scope.dialect === "sqlite") {
    let result: unknown;
    try {
      result = scope.root.transaction(() => statement(base, method, kind, info, runner, scope, own), { behavior: "immediate" });
    } catch (error) {
      own.rollback();
      throw error;
    }
    settleFrame(capture, own, true);
    return result;
  }
  return (async () => {
    let result: unknown;
    try {
      result = await scope.root.transaction(async (tx) => {
        // The statement was built on the pool: it runs on the transaction's connection.
        base.session = (tx as unknown as { session: unknown }).session;
        return statement(base, method, kind, info, tx, scope, own);
      });
    } catch (error) {
      own.rollback();
      throw error;
    }
    settleFrame(capture, own, true);
    return result;
  })();
}

/** Before-images, the write, after-images, entries: synchronous on better-sqlite3, a promise on node-postgres. */
function statement(base: WriteBase, method: string, kind: Kind, info: TableInfo, runner: Runner, scope: Scope, frame?: TransactionFrame) {
  const sync = scope.dialect === "sqlite";
  const { capture } = scope;
  const table = base.config.table;
  const limit = capture.bulkLimit;
  const select = () => runner.select().from(table).where(base.config.where);
  const filter = kind === "insert" ? undefined : filterOf(select());

  const finish = (before: Row[], after: Row[], count: number, result: unknown) => {
    const action: ChangeAction = kind === "insert" ? "CREATE" : kind === "update" ? "UPDATE" : "DELETE";
    const rows = statementRows(action, before, after, info.key, limit);
    const changes = capture.changes({
      entity: info.name,
      action,
      rows,
      count,
      filter,
      key: info.key,
      transactionId: frame?.id ?? capture.transactionId(),
    });
    const delivered = deliverChanges(capture, changes, frame, scope.dialect, (sql, params) => runSql(runner, scope.dialect, sql, params));
    return delivered instanceof Promise ? delivered.then(() => result) : result;
  };

  if (kind === "insert") {
    const wanted = base.config.returning;
    const projectable = !wanted || wanted.every((item) => is(item.field, Column));
    if (projectable) base.returning();
    const run = () => (sync ? base.all() : base.execute());
    return then<Row[]>(run(), sync, (rows) => {
      const returned = rows as Row[];
      const result = projectable ? shapeInsert(returned, wanted, method, info, runner, scope.dialect) : returned;
      return finish([], projectable ? returned : [], returned.length, result);
    });
  }

  const read = select().limit(limit + 1);
  const locked = scope.dialect === "postgres" && read.for ? read.for("update") : read;
  return then<Row[]>(sync ? locked.all!() : (locked as unknown as Promise<Row[]>), sync, (before) => {
    const run = () => (sync ? (base[method as "run"] as () => unknown).call(base) : base.execute());
    return then(run(), sync, (result) => {
      const count = affected(result, before.length);
      if (kind === "delete" || before.length === 0 || before.length > limit) return finish(before, [], count, result);
      const values = knownValues(base.config.set ?? {});
      if (values) return finish(before, withValues(before, values), count, result);
      // SQL computes a new value: read the rows back by key.
      const again = runner
        .select()
        .from(table)
        .where(keysWhere(before, info, table));
      return then<Row[]>(sync ? again.all!() : (again as unknown as Promise<Row[]>), sync, (after) => finish(before, after, count, result));
    });
  });
}

/** Continues with a value now (synchronous driver) or when it resolves. */
function then<T>(value: unknown, sync: boolean, next: (value: T) => unknown): unknown {
  return sync ? next(value as T) : Promise.resolve(value).then((resolved) => next(resolved as T));
}

function runSql(runner: Runner, dialect: OutboxDialect, sql: string, params: unknown[]): unknown {
  const client = runner.session.client as {
    query?(s: string, p: unknown[]): Promise<unknown>;
    prepare?(s: string): { run(...p: unknown[]): unknown };
  };
  return dialect === "postgres" ? client.query!(sql, params) : client.prepare!(sql).run(...params);
}

/** Rows a statement changed, as the driver reports them (pg rowCount, better-sqlite3 changes, or the rows returned). */
function affected(result: unknown, fallback: number): number {
  if (Array.isArray(result)) return result.length;
  const r = result as { rowCount?: number | null; changes?: number } | undefined;
  return typeof r?.rowCount === "number" ? r.rowCount : typeof r?.changes === "number" ? r.changes : fallback;
}

/** What the caller of an insert would have got without the added RETURNING: its own columns, or the driver's result. */
function shapeInsert(
  rows: Row[],
  wanted: WriteBase["config"]["returning"],
  method: string,
  info: TableInfo,
  runner: Runner,
  dialect: OutboxDialect,
): unknown {
  if (wanted) {
    const projected = rows.map((row) => {
      const out: Row = {};
      for (const { path, field } of wanted) setPath(out, path, row[info.keys.get(field) ?? ""]);
      return out;
    });
    if (method === "get") return projected[0];
    if (method === "values") return projected.map((row) => wanted.map(({ path }) => path.reduce<unknown>((v, p) => (v as Row)?.[p], row)));
    return projected;
  }
  if (dialect === "postgres") return { command: "INSERT", rowCount: rows.length, oid: 0, rows: [], fields: [] };
  const client = runner.session.client as { prepare(s: string): { pluck(): { get(): unknown } } };
  const lastInsertRowid = client.prepare("SELECT last_insert_rowid()").pluck().get();
  return { changes: rows.length, lastInsertRowid };
}

function setPath(target: Row, path: string[], value: unknown): void {
  let node = target;
  for (const part of path.slice(0, -1)) node = (node[part] ??= {}) as Row;
  node[path[path.length - 1]] = value;
}

/** The values an update sets, by TS key, or undefined when SQL computes one. */
function knownValues(set: Record<string, unknown>): Row | undefined {
  const values: Row = {};
  for (const [key, value] of Object.entries(set)) {
    if (is(value, SQL) || is(value, Column) || is(value, SQL.Aliased)) return undefined;
    values[key] =
      value && typeof value === "object" && "value" in value && "encoder" in value ? (value as { value: unknown }).value : value;
  }
  return values;
}

/** A WHERE matching each row's key. */
function keysWhere(rows: Row[], info: TableInfo, table: Table): SQL | undefined {
  const columns = getTableColumns(table) as Record<string, Column>;
  return or(...rows.map((row) => and(...info.key.map((key) => eq(columns[key], row[key])))));
}

/** The statement's WHERE as SQL text and parameters, for a summary entry. */
function filterOf(select: SelectBuilder): unknown {
  try {
    const { sql, params } = select.toSQL();
    const at = sql.indexOf(" where ");
    return { where: at < 0 ? "" : sql.slice(at + 7), params };
  } catch {
    return undefined;
  }
}

/** A table's name and primary key (TS keys), from its Drizzle definition. */
function tableInfo(table: Table, scope: Scope): TableInfo {
  let info = scope.tables.get(table);
  if (info) return info;
  const columns = getTableColumns(table) as Record<string, Column>;
  const keys = new Map<unknown, string>(Object.entries(columns).map(([key, column]) => [column, key]));
  const config = is(table, PgTable) ? pgTableConfig(table) : sqliteTableConfig(table as never);
  const declared = scope.capture.entity(getTableName(table))?.key;
  // A composite key's columns are copies made for the table's extra config: matched by database name.
  const byName = new Map(Object.entries(columns).map(([key, column]) => [column.name, key]));
  const primary = config.primaryKeys[0]?.columns ?? Object.values(columns).filter((column) => column.primary);
  info = {
    name: getTableName(table),
    key: declared ? [...declared] : primary.map((column) => byName.get(column.name) ?? column.name),
    keys,
  };
  scope.tables.set(table, info);
  return info;
}
