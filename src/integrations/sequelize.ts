/**
 * auditx/sequelize: hooks that audit a Sequelize instance's writes
 * (PostgreSQL, SQLite) with before and after values of the changed fields:
 * `create`/`save`/`update`/`destroy` of instances, nested creates
 * (`include`) and hooked cascades, `upsert`, `bulkCreate`, and the bulk
 * `Model.update` / `Model.destroy`.
 *
 *   const sequelize = new Sequelize(url, { logging: false });
 *   auditSequelize(sequelize, { entities: { Customer: { module: "sales" } } });
 *   await Customer.update({ creditLimit: 5000 }, { where: { id: 42 } });
 *
 * Universal hooks read before-images in the write's transaction (`FOR
 * UPDATE` on PostgreSQL) and build the entries; each audited model's write
 * methods are wrapped so that a write outside a transaction gets one of its
 * own (the before-image and the write must share it) and a bulk statement
 * learns its row count. Entries are held until the transaction commits —
 * after COMMIT succeeded, not in `afterCommit`, which Sequelize runs even
 * when COMMIT failed — or inserted into the outbox inside it.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Model, ModelStatic, Sequelize, Transaction } from "sequelize";
import { type ChangeAction, ChangeCapture, type RowChange } from "./changes/ChangeCapture.js";
import { deliverChanges, pgTransactionFailed, settleFrame } from "./changes/deliver.js";
import type { ChangeCaptureOptions } from "./changes/options.js";
import type { OutboxDialect } from "./changes/outbox.js";
import type { Row } from "./changes/rowValues.js";
import { statementRows, withValues } from "./changes/statementRows.js";
import { TransactionFrame } from "./changes/TransactionFrame.js";

export { ChangeAuditError } from "./changes/ChangeAuditError.js";
export type { ChangeCaptureOptions, EntityCaptureOptions, FailurePolicy } from "./changes/options.js";

/** Options of auditSequelize: the shared ones; entities are keyed by model name. */
export type AuditSequelizeOptions = ChangeCaptureOptions;

type AnyModel = ModelStatic<Model>;
type Options = Record<string | symbol, unknown> & { transaction?: Transaction | null; where?: unknown; hooks?: boolean };
// biome-ignore lint/suspicious/noExplicitAny: wrapped methods keep their own `this` (a model class or an instance).
type Method = (this: any, ...args: any[]) => Promise<unknown>;

/** What one bulk Model.update / Model.destroy call learnt, shared by its hooks and its wrapper (kept by reference through Sequelize's option cloning). */
class BulkStatement {
  before: Row[] = [];
  after: Row[] | undefined;
  filter: unknown;
  transaction: Transaction | undefined;
  /** Set when the hooks ran: without them (hooks: false) nothing is captured. */
  seen = false;
}

const STATEMENT = Symbol("auditx.sequelize.statement");
const WRAPPED = Symbol("auditx.sequelize.wrapped");
const HOOK = "auditx";

class SequelizeAudit {
  readonly capture: ChangeCapture;
  readonly dialect: OutboxDialect;
  private readonly frames = new WeakMap<Transaction, TransactionFrame>();
  /** Rows read before an instance's update or destroy, by instance. */
  private readonly before = new WeakMap<object, Row>();
  /** The adapter's own SQLite transactions, one at a time: SQLite has one writer. */
  private sqliteQueue: Promise<unknown> = Promise.resolve();
  private readonly inOwnSqlite = new AsyncLocalStorage<boolean>();

  constructor(
    readonly sequelize: Sequelize,
    options: AuditSequelizeOptions,
  ) {
    const dialect = sequelize.getDialect();
    if (dialect !== "postgres" && dialect !== "sqlite")
      throw new TypeError(`auditSequelize: dialect ${JSON.stringify(dialect)} is not supported (postgres, sqlite)`);
    this.dialect = dialect;
    this.capture = new ChangeCapture("sequelize", options);
  }

  private get Sequelize(): { Op: Record<string, symbol>; Utils: { SequelizeMethod: Function } } {
    return this.sequelize.constructor as never;
  }

  audited(model: AnyModel): boolean {
    return this.capture.entity(model.name) !== undefined;
  }

  key(model: AnyModel): string[] {
    return [...model.primaryKeyAttributes];
  }

  /** The transaction a call runs in: its option, or the CLS namespace's. */
  transactionOf(options: Options | undefined): Transaction | undefined {
    if (options?.transaction) return options.transaction;
    const cls = (this.sequelize.constructor as { _cls?: { get(key: string): unknown } })._cls;
    return (cls?.get("transaction") as Transaction | undefined) ?? undefined;
  }

  /** The frame of `transaction` (and its savepoints' parents), created when first seen, with commit and rollback watched. */
  frameOf(transaction: Transaction): TransactionFrame {
    let frame = this.frames.get(transaction);
    if (frame) return frame;
    const parent = (transaction as unknown as { parent?: Transaction }).parent;
    frame = new TransactionFrame(parent ? this.frameOf(parent) : undefined);
    this.frames.set(transaction, frame);
    this.watch(transaction, frame, parent === undefined);
    return frame;
  }

  private watch(transaction: Transaction, frame: TransactionFrame, root: boolean): void {
    const commit = transaction.commit;
    const rollback = transaction.rollback;
    const capture = this.capture;
    const postgres = this.dialect === "postgres";
    Object.assign(transaction, {
      async commit(this: Transaction) {
        // A statement failed in it: PostgreSQL answers this COMMIT with a ROLLBACK.
        const failed = root && postgres && (await pgTransactionFailed((this as unknown as { connection?: unknown }).connection));
        try {
          await commit.call(this);
        } catch (error) {
          frame.rollback();
          throw error;
        }
        if (root) settleFrame(capture, frame, !failed);
        else frame.commit();
      },
      async rollback(this: Transaction) {
        frame.rollback();
        return rollback.call(this);
      },
    });
  }

  /**
   * Runs `work` in the call's transaction, or in one of the adapter's own when
   * `needed` (IMMEDIATE and one at a time on SQLite, so that its read and
   * write are not interleaved with another writer's).
   */
  async withTransaction<T>(options: Options | undefined, needed: boolean, work: (transaction: Transaction | undefined) => Promise<T>) {
    const existing = this.transactionOf(options);
    if (existing || !needed) return work(existing);
    if (this.dialect === "postgres") return this.sequelize.transaction((t) => work(t));
    const own = () => this.sequelize.transaction({ type: "IMMEDIATE" as never }, (t) => this.inOwnSqlite.run(true, () => work(t)));
    // A write your hook makes inside one of these (without its transaction) must not wait behind it.
    if (this.inOwnSqlite.getStore()) return own();
    const run = this.sqliteQueue.then(own);
    this.sqliteQueue = run.catch(() => undefined);
    return run;
  }

  /** Rows of `model` matching `where`, by attribute name, in `transaction` (locked on PostgreSQL). */
  async rows(model: AnyModel, where: unknown, transaction: Transaction | undefined, limit?: number): Promise<Row[]> {
    // hooks: false: the application's find hooks are not told about the adapter's reads.
    const options = {
      where: where as never,
      transaction,
      lock: this.dialect === "postgres" && transaction ? true : undefined,
      limit,
      raw: true,
      hooks: false,
      paranoid: false,
    };
    return (await model.unscoped().findAll(options)) as unknown as Row[];
  }

  /** A where matching each row's key. */
  keysWhere(model: AnyModel, rows: Row[]): unknown {
    const key = this.key(model);
    if (key.length === 1) return { [key[0]]: rows.map((row) => row[key[0]]) };
    return { [this.Sequelize.Op.or]: rows.map((row) => Object.fromEntries(key.map((part) => [part, row[part]]))) };
  }

  /** A model's attributes of an instance (associations left out). */
  attributes(model: AnyModel, instance: Model): Row {
    const values = (instance as unknown as { dataValues: Row }).dataValues;
    const row: Row = {};
    for (const name of Object.keys(model.rawAttributes)) if (values[name] !== undefined) row[name] = values[name];
    return row;
  }

  /** Whether an update sets a value SQL computes (literal, fn, col): its after-image must be read back. */
  computed(values: Row): boolean {
    const method = this.Sequelize.Utils.SequelizeMethod;
    return Object.values(values).some((value) => value instanceof method);
  }

  /** The bulk filter as SQL, for a summary entry. */
  filterOf(model: AnyModel, where: unknown): unknown {
    try {
      const generator = (
        this.sequelize.getQueryInterface() as unknown as { queryGenerator: { whereQuery(w: unknown, o: unknown): string } }
      ).queryGenerator;
      return { where: generator.whereQuery(where, { model }).replace(/^WHERE /, "") };
    } catch {
      return undefined;
    }
  }

  /** Entries of one statement: to the outbox, or held by the transaction (written now when it ran outside one). */
  deliver(
    model: AnyModel,
    action: ChangeAction,
    rows: RowChange[],
    transaction: Transaction | undefined,
    extra: { count?: number; filter?: unknown } = {},
  ): void | Promise<void> {
    const frame = transaction ? this.frameOf(transaction) : undefined;
    const changes = this.capture.changes({
      entity: model.name,
      action,
      rows,
      key: this.key(model),
      transactionId: frame?.id ?? this.capture.transactionId(),
      ...extra,
    });
    return deliverChanges(this.capture, changes, frame, this.dialect, (sql, params) =>
      this.sequelize.query(this.dialect === "sqlite" ? numbered(sql) : sql, { bind: params, transaction, raw: true, logging: false }),
    );
  }

  // Instance hooks ----------------------------------------------------------

  async readInstance(model: AnyModel, instance: Model, options: Options): Promise<void> {
    if (options[STATEMENT] || !this.audited(model)) return;
    const transaction = this.transactionOf(options);
    const where = (instance as unknown as { where(): unknown }).where();
    const [row] = await this.rows(model, where, transaction, 1);
    if (row) this.before.set(instance, row);
  }

  async created(model: AnyModel, instance: Model, options: Options): Promise<void> {
    if (options[STATEMENT] || !this.audited(model)) return;
    await this.deliver(model, "CREATE", [{ after: this.attributes(model, instance) }], this.transactionOf(options));
  }

  async updated(model: AnyModel, instance: Model, options: Options): Promise<void> {
    if (options[STATEMENT] || !this.audited(model)) return;
    const values = (instance as unknown as { dataValues: Row }).dataValues;
    const before = this.before.get(instance);
    this.before.delete(instance);
    // Only the fields save() wrote: others on the instance may be older than the row.
    const written: Row = {};
    for (const field of (options.fields as string[] | undefined) ?? Object.keys(model.rawAttributes)) {
      if (field in model.rawAttributes && values[field] !== undefined) written[field] = values[field];
    }
    const after = { ...(before ?? this.attributes(model, instance)), ...written };
    await this.deliver(model, "UPDATE", [{ before, after }], this.transactionOf(options));
  }

  async destroyed(model: AnyModel, instance: Model, options: Options): Promise<void> {
    if (options[STATEMENT] || !this.audited(model)) return;
    const before = this.before.get(instance) ?? this.attributes(model, instance);
    this.before.delete(instance);
    await this.deliver(model, "DELETE", [{ before }], this.transactionOf(options));
  }

  async upserted(model: AnyModel, result: [Model, boolean | null], options: Options): Promise<void> {
    if (!this.audited(model)) return;
    const instance = options.instance as Model;
    const before = instance ? this.before.get(instance) : undefined;
    if (instance) this.before.delete(instance);
    const after = this.attributes(model, result[0]);
    const action: ChangeAction = before ? "UPDATE" : "CREATE";
    await this.deliver(model, action, [{ before, after }], this.transactionOf(options));
  }

  // Bulk hooks --------------------------------------------------------------

  async beforeBulk(model: AnyModel, options: Options): Promise<void> {
    const statement = options[STATEMENT] as BulkStatement | undefined;
    if (!statement || !this.audited(model)) return;
    statement.seen = true;
    statement.transaction = this.transactionOf(options);
    statement.filter = this.filterOf(model, options.where);
    statement.before = await this.rows(model, options.where, statement.transaction, this.capture.bulkLimit + 1);
  }

  async afterBulkUpdate(model: AnyModel, options: Options): Promise<void> {
    const statement = options[STATEMENT] as BulkStatement | undefined;
    if (!statement?.seen || statement.before.length === 0 || statement.before.length > this.capture.bulkLimit) return;
    const values = (options.attributes ?? {}) as Row;
    // individualHooks: your beforeUpdate hooks may have set other values per row.
    statement.after =
      options.individualHooks || this.computed(values)
        ? await this.rows(model, this.keysWhere(model, statement.before), statement.transaction)
        : withValues(statement.before, values);
  }

  /** After the bulk call returned its row count: its entries. */
  async bulkDone(model: AnyModel, action: "UPDATE" | "DELETE", statement: BulkStatement, count: number): Promise<void> {
    if (!statement.seen) return;
    const rows = statementRows(action, statement.before, statement.after ?? [], this.key(model), this.capture.bulkLimit);
    await this.deliver(model, action, rows, statement.transaction, { count, filter: statement.filter });
  }

  // Wrapped write methods ---------------------------------------------------

  /** Wraps an audited model's write methods once (scoped copies inherit them). */
  wrap(model: AnyModel): void {
    const target = model as unknown as Record<string | symbol, unknown>;
    if (Object.hasOwn(target, WRAPPED)) return;
    Object.defineProperty(target, WRAPPED, { value: true });
    const audit = this;
    const staticMethod = (name: string, make: (original: Method) => Method) => {
      const original = target[name] as Method;
      Object.defineProperty(target, name, { configurable: true, writable: true, value: make(original) });
    };
    const instanceMethod = (name: string, make: (original: Method) => Method) => {
      const prototype = model.prototype as unknown as Record<string, unknown>;
      const original = prototype[name] as Method;
      Object.defineProperty(prototype, name, { configurable: true, writable: true, value: make(original) });
    };

    staticMethod(
      "update",
      (original) =>
        async function update(this: AnyModel, values: unknown, options?: Options) {
          if (!audit.audited(this)) return original.call(this, values, options);
          return audit.withTransaction(options, true, async (transaction) => {
            const statement = new BulkStatement();
            const result = (await original.call(this, values, { ...options, transaction, [STATEMENT]: statement })) as [number];
            await audit.bulkDone(this, "UPDATE", statement, Number(result[0]));
            return result;
          });
        },
    );
    staticMethod(
      "destroy",
      (original) =>
        async function destroy(this: AnyModel, options?: Options) {
          if (!audit.audited(this)) return original.call(this, options);
          return audit.withTransaction(options, true, async (transaction) => {
            const statement = new BulkStatement();
            const result = await original.call(this, { ...options, transaction, [STATEMENT]: statement });
            // A paranoid model's rows are marked deleted (deletedAt): a DELETE entry all the same.
            await audit.bulkDone(this, "DELETE", statement, Number(result));
            return result;
          });
        },
    );
    staticMethod(
      "bulkCreate",
      (original) =>
        async function bulkCreate(this: AnyModel, records: unknown, options?: Options) {
          if (!audit.audited(this)) return original.call(this, records, options);
          // The statement marker keeps individualHooks' afterCreate from logging the rows a second time.
          return audit.withTransaction(options, audit.capture.outboxTable !== undefined, (transaction) =>
            original.call(this, records, { ...options, transaction, [STATEMENT]: new BulkStatement() }),
          );
        },
    );
    staticMethod(
      "upsert",
      (original) =>
        async function upsert(this: AnyModel, values: unknown, options?: Options) {
          if (!audit.audited(this)) return original.call(this, values, options);
          return audit.withTransaction(options, true, (transaction) => original.call(this, values, { ...options, transaction }));
        },
    );
    instanceMethod(
      "save",
      (original) =>
        async function save(this: Model, options?: Options) {
          const model = this.constructor as AnyModel;
          if (!audit.audited(model)) return original.call(this, options);
          // A nested create (include) is one operation: its rows commit, and their entries are written, together.
          const nested = Boolean((this as unknown as { _options?: { include?: unknown[] } })._options?.include?.length);
          const needed = !this.isNewRecord || nested || audit.capture.outboxTable !== undefined;
          return audit.withTransaction(options, needed, (transaction) => original.call(this, { ...options, transaction }));
        },
    );
    instanceMethod(
      "destroy",
      (original) =>
        async function destroy(this: Model, options?: Options) {
          const model = this.constructor as AnyModel;
          if (!audit.audited(model)) return original.call(this, options);
          return audit.withTransaction(options, true, (transaction) => original.call(this, { ...options, transaction }));
        },
    );
  }
}

/** SQLite SQL with `?` placeholders as Sequelize's numbered bind parameters. */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

const instances = new WeakMap<Sequelize, SequelizeAudit>();

/**
 * Audits the writes of every model of `sequelize`, those defined before and
 * after this call. Call it once per Sequelize instance.
 */
export function auditSequelize(sequelize: Sequelize, options: AuditSequelizeOptions = {}): void {
  if (instances.has(sequelize)) throw new TypeError("auditSequelize: this Sequelize instance is already audited");
  const audit = new SequelizeAudit(sequelize, options);
  instances.set(sequelize, audit);
  const add = (name: string, fn: (this: AnyModel, ...args: never[]) => unknown) =>
    (sequelize.addHook as (name: string, id: string, fn: unknown) => void)(name, HOOK, fn);

  add("afterDefine", (model: AnyModel) => audit.wrap(model));
  for (const model of Object.values(sequelize.models) as AnyModel[]) audit.wrap(model);

  add("afterCreate", function (this: AnyModel, instance: Model, o: Options) {
    return audit.created(this, instance, o);
  });
  add("beforeUpdate", function (this: AnyModel, instance: Model, o: Options) {
    return audit.readInstance(this, instance, o);
  });
  add("afterUpdate", function (this: AnyModel, instance: Model, o: Options) {
    return audit.updated(this, instance, o);
  });
  add("beforeDestroy", function (this: AnyModel, instance: Model, o: Options) {
    return audit.readInstance(this, instance, o);
  });
  add("afterDestroy", function (this: AnyModel, instance: Model, o: Options) {
    return audit.destroyed(this, instance, o);
  });
  add("beforeUpsert", function (this: AnyModel, _values: Row, o: Options) {
    const instance = o.instance as Model | undefined;
    const key = audit.key(this);
    const hasKey = instance && key.every((part) => (instance as unknown as { dataValues: Row }).dataValues[part] != null);
    return hasKey ? audit.readInstance(this, instance, o) : undefined;
  });
  add("afterUpsert", function (this: AnyModel, result: [Model, boolean | null], o: Options) {
    return audit.upserted(this, result, o);
  });
  add("afterBulkCreate", async function (this: AnyModel, created: Model[], o: Options) {
    if (!audit.audited(this)) return;
    const after = created.map((instance) => audit.attributes(this, instance));
    const rows = statementRows("CREATE", [], after, audit.key(this), audit.capture.bulkLimit);
    await audit.deliver(this, "CREATE", rows, audit.transactionOf(o), { count: after.length });
  });
  add("beforeBulkUpdate", function (this: AnyModel, o: Options) {
    return audit.beforeBulk(this, o);
  });
  add("afterBulkUpdate", function (this: AnyModel, o: Options) {
    return audit.afterBulkUpdate(this, o);
  });
  add("beforeBulkDestroy", function (this: AnyModel, o: Options) {
    return audit.beforeBulk(this, o);
  });
}
