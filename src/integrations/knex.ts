/**
 * auditx/knex: a thin wrapper around a Knex instance that audits inserts,
 * updates and deletes made through its query builder (PostgreSQL, SQLite).
 *
 *   const db = auditKnex(knex({ client: "pg", connection }), { entities: { customers: { module: "sales" } } });
 *   await db("customers").where({ id: 42 }).update({ credit_limit: 5000 });
 *   await db.transaction(async (trx) => { await trx("orders").insert(order); });
 *
 * Updates and deletes read their before-images with `SELECT ... FOR UPDATE`
 * (one extra query) in the statement's transaction, and take their
 * after-images from `RETURNING *`. Raw SQL (`db.raw`) is not audited.
 */
import type { Knex } from "knex";
import { type ChangeAction, ChangeCapture, type RowChange } from "./changes/ChangeCapture.js";
import { deliverChanges } from "./changes/deliver.js";
import type { ChangeCaptureOptions } from "./changes/options.js";
import type { OutboxDialect } from "./changes/outbox.js";
import type { PendingChange } from "./changes/PendingChange.js";
import { pairRows } from "./changes/pairRows.js";
import { primaryKeySql } from "./changes/primaryKey.js";
import type { Row } from "./changes/rowValues.js";
import { TransactionFrame } from "./changes/TransactionFrame.js";

export { ChangeAuditError } from "./changes/ChangeAuditError.js";
export type { ChangeCaptureOptions, EntityCaptureOptions, FailurePolicy } from "./changes/options.js";

export type AuditKnexOptions = ChangeCaptureOptions;

/** Knex's builder internals this wrapper reads (stable across Knex 2 and 3). */
interface BuilderState {
  _method?: string;
  _single: { table?: unknown; insert?: unknown; update?: unknown; returning?: unknown; onConflict?: unknown };
  _statements: Array<{ grouping: string }>;
}

const WRITES = new Set(["insert", "update", "del", "delete"]);
const AUDITED = Symbol("auditx.knex");

interface Scope {
  capture: ChangeCapture;
  dialect: OutboxDialect;
  keys: Map<string, Promise<string[]>>;
}

/** Wraps `knex` so that writes through it are audited; everything else passes through unchanged. */
export function auditKnex<T extends Knex>(knex: T, options: AuditKnexOptions = {}): T {
  const client = String((knex.client as { config?: { client?: unknown } }).config?.client ?? "");
  const dialect: OutboxDialect | undefined = /^(pg|postgres|postgresql)$/.test(client)
    ? "postgres"
    : /sqlite/.test(client)
      ? "sqlite"
      : undefined;
  if (!dialect) throw new TypeError(`auditKnex: client ${JSON.stringify(client)} is not supported (PostgreSQL or SQLite)`);
  const scope: Scope = { capture: new ChangeCapture("knex", options), dialect, keys: new Map() };
  return wrapRunner(knex, scope, undefined) as T;
}

/** A knex instance or transaction, whose builders and nested transactions are audited within `frame`. */
function wrapRunner(runner: Knex, scope: Scope, frame: TransactionFrame | undefined): Knex {
  if ((runner as unknown as Record<symbol, unknown>)[AUDITED]) return runner;
  const call = (...args: unknown[]) =>
    wrapBuilder((runner as unknown as (...a: unknown[]) => Knex.QueryBuilder)(...args), runner, scope, frame);
  return new Proxy(runner, {
    apply: (_target, _this, args) => call(...args),
    get(target, property, receiver) {
      if (property === AUDITED) return true;
      if (property === "table" || property === "from" || property === "into" || property === "queryBuilder") {
        return (...args: unknown[]) =>
          wrapBuilder((Reflect.get(target, property, target) as (...a: unknown[]) => Knex.QueryBuilder)(...args), runner, scope, frame);
      }
      if (property === "transaction") return (first?: unknown, config?: unknown) => transaction(target, scope, frame, first, config);
      if (frame && (property === "commit" || property === "rollback")) {
        return (value?: unknown) => finishHandle(target as Knex.Transaction, scope, frame, property, value);
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as Knex;
}

async function transaction(runner: Knex, scope: Scope, parent: TransactionFrame | undefined, first: unknown, config: unknown) {
  if (typeof first !== "function") {
    // Handle form: `const trx = await db.transaction()`; commit() and rollback() end its frame.
    const trx = await runner.transaction(first as Knex.TransactionConfig | undefined);
    return wrapRunner(trx, scope, new TransactionFrame(parent));
  }
  const frame = new TransactionFrame(parent);
  let rolledBack = false;
  let result: unknown;
  try {
    result = await runner.transaction(async (trx) => {
      // An explicit trx.rollback() inside the callback resolves the transaction's promise: remember it.
      const rollback = trx.rollback.bind(trx);
      (trx as { rollback: unknown }).rollback = (error?: unknown) => {
        rolledBack = true;
        return rollback(error);
      };
      return (first as (trx: Knex.Transaction) => unknown)(wrapRunner(trx, scope, frame) as Knex.Transaction);
    }, config as Knex.TransactionConfig);
  } catch (error) {
    frame.rollback();
    throw error;
  }
  if (rolledBack) frame.rollback();
  else scope.capture.write(frame.commit());
  return result;
}

async function finishHandle(trx: Knex.Transaction, scope: Scope, frame: TransactionFrame, how: "commit" | "rollback", value: unknown) {
  if (how === "rollback") {
    frame.rollback();
    return trx.rollback(value);
  }
  const done = await trx.commit(value);
  try {
    await trx.executionPromise;
  } catch (error) {
    frame.rollback();
    throw error;
  }
  scope.capture.write(frame.commit());
  return done;
}

/** A builder whose execution (then/catch/finally) runs an audited write when it is one. */
function wrapBuilder(builder: Knex.QueryBuilder, runner: Knex, scope: Scope, frame: TransactionFrame | undefined): Knex.QueryBuilder {
  const proxy: Knex.QueryBuilder = new Proxy(builder, {
    get(target, property, receiver) {
      if (property === "then" || property === "catch" || property === "finally") {
        const state = target as unknown as BuilderState;
        if (!WRITES.has(state._method ?? "") || typeof state._single.table !== "string") {
          return Reflect.get(target, property, receiver);
        }
        const entity = scope.capture.entity(stripSchema(state._single.table));
        if (!entity) return Reflect.get(target, property, receiver);
        const run = () => audited(target, state, runner, scope, frame);
        return (...args: unknown[]) => {
          const promise = run();
          return (promise[property as "then"] as (...a: unknown[]) => unknown).apply(promise, args);
        };
      }
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const result = value.apply(target, args);
        return result === target ? proxy : result;
      };
    },
  });
  return proxy;
}

function stripSchema(table: string): string {
  return table.replace(/\s+as\s+.*$/i, "");
}

async function keyOf(table: string, runner: Knex, scope: Scope): Promise<string[]> {
  const declared = scope.capture.entity(table)?.key;
  if (declared) return [...declared];
  let key = scope.keys.get(table);
  if (!key) {
    const { sql, params } = primaryKeySql(scope.dialect, table);
    key = runner
      .raw(knexPlaceholders(sql), params as Knex.RawBinding[])
      .then((result: unknown) => rowsOf(result).map((row) => String(row.name)));
    scope.keys.set(table, key);
    key.catch(() => scope.keys.delete(table));
  }
  return key;
}

/** Knex binds `?`; the shared SQL numbers PostgreSQL parameters `$n` (casts such as `$1::uuid` stay). */
function knexPlaceholders(sql: string): string {
  return sql.replace(/\$\d+/g, "?");
}

function rowsOf(result: unknown): Row[] {
  if (Array.isArray(result)) return result as Row[];
  return ((result as { rows?: Row[] })?.rows ?? []) as Row[];
}

async function audited(builder: Knex.QueryBuilder, state: BuilderState, runner: Knex, scope: Scope, frame: TransactionFrame | undefined) {
  const method = state._method === "delete" ? "del" : (state._method as "insert" | "update" | "del");
  // Outbox mode needs a transaction for inserts too: the entry's row commits with the change.
  if (frame || (method === "insert" && !scope.capture.outboxTable))
    return statement(builder, state, method, runner, scope, frame, frame?.id ?? scope.capture.transactionId());
  // An update or delete outside a transaction gets one, so that its before-image is read under its lock.
  const own = new TransactionFrame();
  let result: unknown;
  try {
    result = await runner.transaction((trx) => statement(builder, state, method, trx, scope, own, own.id));
  } catch (error) {
    own.rollback();
    throw error;
  }
  scope.capture.write(own.commit());
  return result;
}

async function statement(
  builder: Knex.QueryBuilder,
  state: BuilderState,
  method: "insert" | "update" | "del",
  runner: Knex,
  scope: Scope,
  frame: TransactionFrame | undefined,
  transactionId: string,
): Promise<unknown> {
  const table = stripSchema(state._single.table as string);
  const capture = scope.capture;
  const key = await keyOf(table, runner, scope);
  const wanted = state._single.returning;
  const action: ChangeAction = method === "insert" ? "CREATE" : method === "update" ? "UPDATE" : "DELETE";

  let before: Row[] = [];
  if (method !== "insert") {
    const select = runner(state._single.table as string).select("*");
    const selectState = select as unknown as BuilderState;
    selectState._statements = state._statements.filter((statement) => statement.grouping === "where");
    select.limit(capture.bulkLimit + 1);
    if (scope.dialect === "postgres") select.forUpdate();
    before = (await select) as Row[];
  }
  const overCap = before.length > capture.bulkLimit;
  const query = builder;
  // A builder made outside the transaction the wrapper opened runs inside it.
  if (runner.isTransaction) query.transacting(runner as Knex.Transaction);
  // After-images come back with the write itself; past the bulk cap they are not needed.
  if (!overCap || method === "insert") query.returning("*");
  const raw = (await query) as unknown;
  const returned = Array.isArray(raw) ? (raw as Row[]) : [];
  let rows: RowChange[];
  let count: number;
  if (method === "insert") {
    rows = returned.map((after) => ({ after }));
    count = returned.length;
  } else if (method === "update") {
    rows = overCap ? [] : pairRows(before, returned, key);
    count = overCap ? (typeof raw === "number" ? raw : before.length) : returned.length;
  } else {
    // SQLite's Knex client returns a count for a delete even with RETURNING: the locked before-images are the rows.
    const deleted = Array.isArray(raw) ? returned : before;
    rows = overCap ? [] : deleted.map((row) => ({ before: row }));
    count = Array.isArray(raw) ? returned.length : Number(raw);
  }
  const filter = method === "insert" ? undefined : filterOf(runner, state);
  const changes = capture.changes({ entity: table, action, rows, count, filter, key, transactionId });
  await deliver(changes, runner, scope, frame);
  return shapeResult(method, raw, returned, wanted, overCap);
}

/** The statement's WHERE as SQL text and bindings, for a summary entry. */
function filterOf(runner: Knex, state: BuilderState): unknown {
  try {
    const select = runner(state._single.table as string).select("*");
    (select as unknown as BuilderState)._statements = state._statements.filter((statement) => statement.grouping === "where");
    const { sql, bindings } = select.toSQL();
    const where = sql.indexOf(" where ");
    return { where: where < 0 ? "" : sql.slice(where + 7), bindings };
  } catch {
    return undefined;
  }
}

/** Outbox mode: insert the entries now, in the statement's transaction; else hold them in the frame (or write them: committed). */
async function deliver(changes: PendingChange[], runner: Knex, scope: Scope, frame: TransactionFrame | undefined) {
  await deliverChanges(scope.capture, changes, frame, scope.dialect, (sql, params) =>
    runner.raw(knexPlaceholders(sql), params as Knex.RawBinding[]),
  );
}

/** What the caller would have got without auditing: the count, or the columns it asked to return. */
function shapeResult(method: string, raw: unknown, returned: Row[], wanted: unknown, overCap: boolean): unknown {
  if ((overCap && method !== "insert") || !Array.isArray(raw)) return raw;
  if (wanted === undefined) {
    if (method === "insert") return returned.map((row) => Object.values(row)[0]);
    return returned.length;
  }
  if (wanted === "*" || (Array.isArray(wanted) && wanted.length === 1 && wanted[0] === "*")) return returned;
  const columns = (Array.isArray(wanted) ? wanted : [wanted]).map(String);
  return returned.map((row) => {
    const out: Row = {};
    for (const column of columns) out[column] = row[column];
    return out;
  });
}
