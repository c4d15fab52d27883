/**
 * auditx/prisma: a Prisma Client extension that audits creates, updates and
 * deletes — single and bulk, nested writes included — with before and after
 * values of the changed fields.
 *
 *   const prisma = new PrismaClient({ adapter }).$extends(auditPrisma({ entities: { Customer: { module: "sales" } } }));
 *   await prisma.customer.update({ where: { id: 42 }, data: { creditLimit: 5000 } });
 *
 * Before-images are read in the write's transaction: the caller's
 * interactive transaction, or one the extension opens around the statement
 * (REPEATABLE READ on PostgreSQL, retried on a serialization conflict, so a
 * concurrent writer cannot make the "before" wrong). Entries are held until
 * the transaction commits, or inserted into the outbox inside it.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { type ChangeAction, ChangeCapture, type StatementChanges } from "./changes/ChangeCapture.js";
import { deliverChanges } from "./changes/deliver.js";
import { entityIdOf } from "./changes/entityKey.js";
import type { ChangeCaptureOptions } from "./changes/options.js";
import type { OutboxDialect } from "./changes/outbox.js";
import type { PendingChange } from "./changes/PendingChange.js";
import { pairRows } from "./changes/pairRows.js";
import { primaryKeySql } from "./changes/primaryKey.js";
import type { Row } from "./changes/rowValues.js";
import { TransactionFrame } from "./changes/TransactionFrame.js";

export { ChangeAuditError } from "./changes/ChangeAuditError.js";
export type { ChangeCaptureOptions, EntityCaptureOptions, FailurePolicy } from "./changes/options.js";

interface DataModelField {
  name: string;
  kind: string;
  type: string;
  dbName?: string | null;
}
interface DataModelModel {
  fields: readonly DataModelField[];
  dbName?: string | null;
  schema?: string | null;
}
type DataModel = Record<string, DataModelModel>;

export interface AuditPrismaOptions extends ChangeCaptureOptions {
  /**
   * The generated client's `Prisma.dmmf` (models, fields, relations). Default: the data model the
   * client carries at run time.
   */
  dmmf?: { datamodel: { models: ReadonlyArray<DataModelModel & { name: string }> } };
  /** "postgres" or "sqlite" (default: asked of the database once). */
  provider?: OutboxDialect;
  /** Attempts of a statement the extension wraps in its own transaction when PostgreSQL reports a conflict (default 3). */
  retries?: number;
}

/** What the extension needs of a Prisma client or transaction client (structural: no generated types). */
type Client = Record<string, unknown> & {
  $transaction: (fn: unknown, options?: unknown) => Promise<unknown>;
  $queryRawUnsafe: (sql: string, ...params: unknown[]) => Promise<unknown>;
  $executeRawUnsafe: (sql: string, ...params: unknown[]) => Promise<unknown>;
  $extends: (extension: unknown) => Client;
};
type Delegate = Record<string, (args: unknown) => Promise<unknown>>;

interface TxScope {
  tx: Client;
  frame: TransactionFrame;
}

const WRITES = new Set([
  "create",
  "createMany",
  "createManyAndReturn",
  "update",
  "updateMany",
  "updateManyAndReturn",
  "upsert",
  "delete",
  "deleteMany",
]);
const NESTED_WRITES = new Set([
  "create",
  "createMany",
  "connectOrCreate",
  "update",
  "updateMany",
  "upsert",
  "delete",
  "deleteMany",
  "connect",
  "disconnect",
  "set",
]);
const LINKS = new Set(["connect", "disconnect", "set", "connectOrCreate"]);

/** The extension: `prisma.$extends(auditPrisma(options))`. */
export function auditPrisma(options: AuditPrismaOptions = {}) {
  const capture = new ChangeCapture("prisma", options);
  const retries = options.retries ?? 3;
  return (client: unknown) => {
    const base = client as Client;
    const storage = new AsyncLocalStorage<TxScope>();
    const model = new ModelInfo(base, options);

    const hooks = {
      name: "auditx",
      query: {
        $allModels: {
          async $allOperations(params: {
            model?: string;
            operation: string;
            args: Record<string, unknown>;
            query: (args: unknown) => Promise<unknown>;
            __internalParams?: { transaction?: { kind?: string } };
          }) {
            const { operation, args, query } = params;
            const name = params.model;
            if (!name || !WRITES.has(operation) || !capture.entity(name)) return query(args);
            const kind = params.__internalParams?.transaction?.kind;
            const scope = storage.getStore();
            if (kind === "itx" && scope) {
              // Inside the caller's interactive transaction: reads run on its client, the write is the caller's own query.
              return write(capture, model, scope.tx, name, operation, args, query, scope.frame);
            }
            if (kind !== undefined) {
              // A batch transaction ($transaction([...])) cannot take reads between its statements.
              const result = await query(args);
              const changes = capture.changes(await batchChanges(model, name, operation, args, result));
              if (capture.outboxTable)
                capture.outboxFailed(changes, new Error("batch transactions cannot write the outbox; use an interactive transaction"));
              else capture.write(changes);
              return result;
            }
            return standalone(capture, model, base, retries, name, operation, args);
          },
        },
      },
      client: {
        $transaction(this: unknown, arg: unknown, txOptions?: unknown) {
          if (typeof arg !== "function") return withHooks.$transaction(arg, txOptions);
          return interactive(capture, storage, withHooks, undefined, arg as (tx: unknown) => unknown, txOptions);
        },
      },
    };
    const withHooks = base.$extends({ name: "auditx-capture", query: hooks.query }) as Client;
    return withHooks.$extends({ name: "auditx", client: hooks.client });
  };
}

/** An interactive transaction (or a nested one: a savepoint) whose writes are held in a frame until it ends. */
async function interactive(
  capture: ChangeCapture,
  storage: AsyncLocalStorage<TxScope>,
  starter: Client,
  parent: TransactionFrame | undefined,
  fn: (tx: unknown) => unknown,
  txOptions: unknown,
): Promise<unknown> {
  const frame = new TransactionFrame(parent);
  let result: unknown;
  try {
    result = await starter.$transaction(
      (tx: Client) => storage.run({ tx, frame }, () => fn(transactionClient(capture, storage, tx, frame))),
      txOptions,
    );
  } catch (error) {
    frame.rollback();
    throw error;
  }
  capture.write(frame.commit());
  return result;
}

/** The caller's view of a transaction client: its own nested $transaction opens a savepoint frame. */
function transactionClient(capture: ChangeCapture, storage: AsyncLocalStorage<TxScope>, tx: Client, frame: TransactionFrame): unknown {
  return new Proxy(tx, {
    get(target, property, receiver) {
      if (property === "$transaction") {
        return (arg: unknown, txOptions?: unknown) =>
          typeof arg === "function"
            ? interactive(capture, storage, target, frame, arg as (tx: unknown) => unknown, txOptions)
            : target.$transaction(arg, txOptions);
      }
      return Reflect.get(target, property, receiver);
    },
  });
}

/** A write outside any transaction: wrapped in one of the extension's own, retried on a serialization conflict. */
async function standalone(
  capture: ChangeCapture,
  model: ModelInfo,
  base: Client,
  retries: number,
  name: string,
  operation: string,
  args: Record<string, unknown>,
): Promise<unknown> {
  const provider = await model.provider();
  const needsBefore = !operation.startsWith("create");
  if (!needsBefore && !capture.outboxTable && !hasNestedWrites(args.data)) {
    // A plain create commits by itself; its entries follow it.
    const frame = new TransactionFrame();
    const delegate = base[lowerFirst(name)] as Delegate;
    const result = await write(capture, model, base, name, operation, args, (a) => delegate[operation](a), frame);
    capture.write(frame.commit());
    return result;
  }
  for (let attempt = 1; ; attempt++) {
    const frame = new TransactionFrame();
    try {
      const result = await base.$transaction(
        (tx: Client) => {
          const delegate = tx[lowerFirst(name)] as Delegate;
          return write(capture, model, tx, name, operation, args, (a) => delegate[operation](a), frame);
        },
        // A plain write would just queue for a connection: the wrapper's transaction waits as long.
        provider === "postgres"
          ? { isolationLevel: "RepeatableRead", maxWait: 30_000, timeout: 60_000 }
          : { maxWait: 30_000, timeout: 60_000 },
      );
      capture.write(frame.commit());
      return result;
    } catch (error) {
      frame.rollback();
      if (attempt >= retries || !isSerializationConflict(error)) throw error;
    }
  }
}

function isSerializationConflict(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown; meta?: unknown };
  return e?.code === "P2034" || /40001|could not serialize/i.test(`${e?.message ?? ""} ${JSON.stringify(e?.meta ?? "")}`);
}

/** One audited write on `tx`: before-images, the write, after-images, entries into the frame (or the outbox). */
async function write(
  capture: ChangeCapture,
  model: ModelInfo,
  tx: Client,
  name: string,
  operation: string,
  args: Record<string, unknown>,
  run: (args: unknown) => Promise<unknown>,
  frame: TransactionFrame,
): Promise<unknown> {
  const delegate = tx[lowerFirst(name)] as Delegate;
  const key = await model.key(name, tx);
  const statements: StatementChanges[] = [];
  const transactionId = frame.id;
  const limit = capture.bulkLimit;
  let result: unknown;

  switch (operation) {
    case "create":
    case "update":
    case "upsert":
    case "delete": {
      const include =
        operation === "delete"
          ? {}
          : model.includeFor(name, (operation === "upsert" ? { ...(args.create as Row), ...(args.update as Row) } : args.data) as Row);
      const before =
        operation === "create" ? null : ((await delegate.findUnique({ where: args.where, ...withInclude(include) })) as Row | null);
      const { args: writeArgs, added } = operation === "delete" ? { args, added: [] } : addInclude(args, include);
      result = await run(writeArgs);
      const after = operation === "delete" ? null : (result as Row);
      const action: ChangeAction = operation === "delete" ? "DELETE" : before ? "UPDATE" : "CREATE";
      const links = operation === "delete" ? new Set<string>() : linkRelations(model, name, args);
      await model.graphChanges(name, action, before ?? undefined, after ?? undefined, include, links, tx, statements, transactionId);
      result = strip(result, added);
      break;
    }
    case "createMany":
    case "createManyAndReturn": {
      const returned = (await delegate.createManyAndReturn(args)) as Row[];
      statements.push({
        entity: name,
        action: "CREATE",
        rows: returned.slice(0, limit + 1).map((after) => ({ after })),
        count: returned.length,
        key,
        transactionId,
      });
      result = operation === "createMany" ? { count: returned.length } : returned;
      break;
    }
    case "updateMany":
    case "updateManyAndReturn": {
      const before = (await delegate.findMany({ where: args.where, take: limit + 1 })) as Row[];
      if (before.length > limit && operation === "updateMany") {
        result = await run(args);
        statements.push({
          entity: name,
          action: "UPDATE",
          rows: [],
          count: (result as { count: number }).count,
          filter: args.where,
          key,
          transactionId,
        });
        break;
      }
      const returned = (await delegate.updateManyAndReturn(args)) as Row[];
      statements.push({
        entity: name,
        action: "UPDATE",
        rows: pairRows(before, returned, key),
        count: returned.length,
        filter: args.where,
        key,
        transactionId,
      });
      result = operation === "updateMany" ? { count: returned.length } : returned;
      break;
    }
    case "deleteMany": {
      const before = (await delegate.findMany({ where: args.where, take: limit + 1 })) as Row[];
      result = await run(args);
      const count = (result as { count: number }).count;
      statements.push({
        entity: name,
        action: "DELETE",
        rows: before.length > limit ? [] : before.map((row) => ({ before: row })),
        count,
        filter: args.where,
        key,
        transactionId,
      });
      break;
    }
    default:
      return run(args);
  }
  const changes = statements.flatMap((statement) => capture.changes(statement));
  await deliver(capture, model, tx, frame, changes);
  return result;
}

async function deliver(capture: ChangeCapture, model: ModelInfo, tx: Client, frame: TransactionFrame, changes: PendingChange[]) {
  if (changes.length === 0) return;
  const dialect = capture.outboxTable ? await model.provider() : "postgres";
  await deliverChanges(capture, changes, frame, dialect, (sql, params) => tx.$executeRawUnsafe(sql, ...params));
}

/** Entries of a write inside a batch transaction: what its result shows (no before-image can be read there). */
async function batchChanges(model: ModelInfo, name: string, operation: string, args: Row, result: unknown): Promise<StatementChanges> {
  const key = await model.key(name);
  if (operation === "delete") return { entity: name, action: "DELETE", rows: [{ before: result as Row }], key };
  if (operation === "create") return { entity: name, action: "CREATE", rows: [{ after: result as Row }], key };
  if (operation === "update" || operation === "upsert") return { entity: name, action: "UPDATE", rows: [{ after: result as Row }], key };
  const action: ChangeAction = operation.startsWith("create") ? "CREATE" : operation.startsWith("update") ? "UPDATE" : "DELETE";
  const count = Array.isArray(result) ? result.length : Number((result as { count?: number })?.count ?? 0);
  return { entity: name, action, rows: [], count, filter: args.where, key };
}

function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

function hasNestedWrites(data: unknown): boolean {
  if (!data || typeof data !== "object") return false;
  return Object.values(data as Row).some(
    (value) =>
      value !== null && typeof value === "object" && !(value instanceof Date) && Object.keys(value).some((op) => NESTED_WRITES.has(op)),
  );
}

function withInclude(include: Row): Row {
  return Object.keys(include).length === 0 ? {} : { include };
}

/** The write's arguments with the relations the capture needs added (to `select` or `include`), and which keys to strip after. */
function addInclude(args: Row, include: Row): { args: Row; added: string[] } {
  const relations = Object.keys(include);
  if (relations.length === 0) return { args, added: [] };
  const added: string[] = [];
  const projection = (args.select ?? args.include) as Row | undefined;
  const merged: Row = { ...(projection ?? {}) };
  for (const relation of relations) {
    if (merged[relation] !== undefined && merged[relation] !== false) continue;
    merged[relation] = include[relation];
    added.push(relation);
  }
  return { args: { ...args, [args.select ? "select" : "include"]: merged }, added };
}

function strip(result: unknown, added: string[]): unknown {
  if (added.length === 0 || !result || typeof result !== "object") return result;
  const copy = { ...(result as Row) };
  for (const key of added) delete copy[key];
  return copy;
}

/** Relations whose nested write links or unlinks existing rows (connect, disconnect, set): a row leaving the graph is not deleted. */
function linkRelations(model: ModelInfo, name: string, args: Row): Set<string> {
  const data = { ...((args.data ?? {}) as Row), ...((args.create ?? {}) as Row), ...((args.update ?? {}) as Row) };
  const out = new Set<string>();
  for (const field of model.relations(name)) {
    const value = data[field.name];
    if (value && typeof value === "object" && Object.keys(value).some((op) => LINKS.has(op))) out.add(field.name);
  }
  return out;
}

/** The data model: scalar and relation fields, table names, primary keys (from the database, once per model). */
class ModelInfo {
  private readonly models: DataModel;
  private readonly keys = new Map<string, Promise<string[]>>();
  private dialect?: Promise<OutboxDialect>;

  constructor(
    private readonly base: Client,
    private readonly options: AuditPrismaOptions,
  ) {
    const fromDmmf = options.dmmf?.datamodel.models;
    if (fromDmmf) this.models = Object.fromEntries(fromDmmf.map((m) => [m.name, m]));
    else this.models = ((base as { _runtimeDataModel?: { models?: DataModel } })._runtimeDataModel?.models ?? {}) as DataModel;
  }

  provider(): Promise<OutboxDialect> {
    if (this.options.provider) return Promise.resolve(this.options.provider);
    this.dialect ??= this.base.$queryRawUnsafe("SELECT sqlite_version() AS v").then(
      () => "sqlite" as const,
      () => "postgres" as const,
    );
    return this.dialect;
  }

  private model(name: string): DataModelModel {
    const model = this.models[name];
    if (!model) throw new TypeError(`auditPrisma: model ${name} is not in the client's data model (pass { dmmf: Prisma.dmmf })`);
    return model;
  }

  relations(name: string): DataModelField[] {
    return this.model(name).fields.filter((field) => field.kind === "object");
  }

  scalars(name: string): DataModelField[] {
    return this.model(name).fields.filter((field) => field.kind !== "object");
  }

  /** The primary key's field names: declared in `entities`, else read from the database. */
  key(name: string, via: Client = this.base): Promise<string[]> {
    const declared = this.options.entities?.[name]?.key;
    if (declared) return Promise.resolve([...declared]);
    let key = this.keys.get(name);
    if (!key) {
      key = (async () => {
        const model = this.model(name);
        const table = model.dbName ?? name;
        const dialect = await this.provider();
        const qualified =
          dialect === "postgres" && model.schema ? `"${model.schema}"."${table}"` : dialect === "postgres" ? `"${table}"` : table;
        const { sql, params } = primaryKeySql(dialect, qualified);
        const rows = (await via.$queryRawUnsafe(sql, ...params)) as Array<{ name: string }>;
        const byColumn = new Map(this.scalars(name).map((field) => [field.dbName ?? field.name, field.name]));
        return rows.map((row) => byColumn.get(row.name) ?? row.name);
      })();
      this.keys.set(name, key);
      key.catch(() => this.keys.delete(name));
    }
    return key;
  }

  /** The `include` tree reaching every relation a nested write in `data` touches. */
  includeFor(name: string, data: Row | undefined): Row {
    const include: Row = {};
    if (!data || typeof data !== "object") return include;
    for (const field of this.relations(name)) {
      const value = data[field.name] as Row | undefined;
      if (!value || typeof value !== "object") continue;
      const nested: Row = {};
      for (const [op, payload] of Object.entries(value)) {
        if (!NESTED_WRITES.has(op)) continue;
        for (const item of Array.isArray(payload) ? payload : [payload]) {
          if (!item || typeof item !== "object") continue;
          const inner = item as Row;
          const nestedData = (
            op === "update" || op === "updateMany"
              ? inner.data
              : op === "upsert"
                ? { ...(inner.create as Row), ...(inner.update as Row) }
                : op === "connectOrCreate"
                  ? inner.create
                  : op === "createMany"
                    ? undefined
                    : inner
          ) as Row | undefined;
          Object.assign(nested, this.includeFor(field.type, nestedData));
        }
      }
      include[field.name] = Object.keys(nested).length === 0 ? true : { include: nested };
    }
    return include;
  }

  /** Entries for a row and, along `include`, for the related rows the nested writes created, changed, linked or deleted. */
  async graphChanges(
    name: string,
    action: ChangeAction,
    before: Row | undefined,
    after: Row | undefined,
    include: Row,
    links: Set<string>,
    tx: Client,
    out: StatementChanges[],
    transactionId: string,
  ): Promise<void> {
    const key = await this.key(name, tx);
    const scalars = this.scalars(name);
    const pick = (row: Row | undefined) => {
      if (!row) return undefined;
      const image: Row = {};
      for (const field of scalars) if (field.name in row) image[field.name] = row[field.name];
      return image;
    };
    out.push({ entity: name, action, rows: [{ before: pick(before), after: pick(after) }], key, transactionId });
    for (const field of this.relations(name)) {
      const nested = include[field.name];
      if (!nested) continue;
      const childInclude = (typeof nested === "object" ? ((nested as Row).include as Row) : undefined) ?? {};
      const childKey = await this.key(field.type, tx);
      const list = (value: unknown) => (Array.isArray(value) ? (value as Row[]) : value ? [value as Row] : []);
      const old = new Map(list(before?.[field.name]).map((row) => [entityIdOf(row, childKey), row]));
      for (const child of list(after?.[field.name])) {
        const id = entityIdOf(child, childKey);
        const previous = old.get(id);
        old.delete(id);
        await this.graphChanges(
          field.type,
          previous ? "UPDATE" : links.has(field.name) && !action.startsWith("C") ? "UPDATE" : "CREATE",
          previous,
          child,
          childInclude,
          new Set(),
          tx,
          out,
          transactionId,
        );
      }
      for (const gone of old.values()) {
        // Left the relation: deleted, or unlinked (disconnect, set) and still there with another foreign key.
        let now: Row | undefined;
        if (links.has(field.name)) {
          const where: Row = {};
          for (const part of childKey) where[part] = gone[part];
          now = ((await (tx[lowerFirst(field.type)] as Delegate).findFirst({ where })) as Row | null) ?? undefined;
        }
        await this.graphChanges(field.type, now ? "UPDATE" : "DELETE", gone, now, childInclude, new Set(), tx, out, transactionId);
      }
    }
  }
}
