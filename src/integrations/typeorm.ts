/**
 * auditx/typeorm: audits the writes of a TypeORM DataSource (PostgreSQL,
 * SQLite through better-sqlite3) with before and after values of the changed
 * fields: `save`/`remove`/`softRemove`/`recover` (cascades included),
 * `insert`, `Repository.update/delete/softDelete/restore`, and update,
 * delete and insert query builders.
 *
 *   const dataSource = await new DataSource({ type: "postgres", url, entities }).initialize();
 *   auditTypeOrm(dataSource, { entities: { Customer: { module: "sales" } } });
 *   await dataSource.getRepository(Customer).update({ id: 42 }, { creditLimit: 5000 });
 *
 * A subscriber sees what TypeORM's persistence layer writes (entity by
 * entity) and the transactions of every query runner; the update, delete
 * and insert query builders' `execute` is wrapped (subscribers cannot see
 * their WHERE), for the DataSources audited only. Before-images are read in
 * the write's transaction (`FOR UPDATE` on PostgreSQL); a write outside a
 * transaction gets one of its own. Entries are held until the outermost
 * transaction commits, or inserted into the outbox inside it.
 */
import type {
  DataSource,
  EntityMetadata,
  EntitySubscriberInterface,
  InsertEvent,
  ObjectLiteral,
  QueryRunner,
  RecoverEvent,
  RemoveEvent,
  SoftRemoveEvent,
  TransactionCommitEvent,
  TransactionRollbackEvent,
  TransactionStartEvent,
  UpdateEvent,
} from "typeorm";
import type { ColumnMetadata } from "typeorm/metadata/ColumnMetadata.js";
import { ChangeAuditError } from "./changes/ChangeAuditError.js";
import { type ChangeAction, ChangeCapture, type StatementChanges } from "./changes/ChangeCapture.js";
import { deliverChanges, pgTransactionFailed, settleFrame } from "./changes/deliver.js";
import type { ChangeCaptureOptions } from "./changes/options.js";
import type { OutboxDialect } from "./changes/outbox.js";
import type { Row } from "./changes/rowValues.js";
import { statementRows, withValues } from "./changes/statementRows.js";
import { TransactionFrame } from "./changes/TransactionFrame.js";

export { ChangeAuditError } from "./changes/ChangeAuditError.js";
export type { ChangeCaptureOptions, EntityCaptureOptions, FailurePolicy } from "./changes/options.js";

/** Options of auditTypeOrm: the shared ones; entities are keyed by entity name (the class or EntitySchema name). */
export type AuditTypeOrmOptions = ChangeCaptureOptions;

/** The query-builder internals the wrapper reads (TypeORM 0.3 and 1.x). */
interface WriteBuilder {
  connection: DataSource;
  queryRunner?: QueryRunner;
  expressionMap: {
    callListeners: boolean;
    mainAlias?: { hasMetadata: boolean; metadata: EntityMetadata };
    valuesSet?: unknown;
    queryType: string;
  };
  setQueryRunner(runner: QueryRunner): unknown;
  createWhereExpression(): string;
  replacePropertyNamesForTheWholeQuery(sql: string): string;
  getParameters(): ObjectLiteral;
  getValueSets?(): ObjectLiteral[];
  execute(): Promise<unknown>;
}

type BuilderKind = "update" | "delete" | "softDelete" | "insert";

interface Audited {
  capture: ChangeCapture;
  dialect: OutboxDialect;
  subscriber: AuditSubscriber;
}

const audited = new WeakMap<DataSource, Audited>();
const PATCHED = Symbol.for("auditx.typeorm.execute");

/**
 * Audits `dataSource`'s writes. Call it once, before or after `initialize()`;
 * resolves nothing: the subscriber is registered on the DataSource.
 */
export function auditTypeOrm(dataSource: DataSource, options: AuditTypeOrmOptions = {}): EntitySubscriberInterface {
  const existing = audited.get(dataSource);
  if (existing) return existing.subscriber;
  const type = String(dataSource.options.type);
  const dialect: OutboxDialect | undefined =
    type === "postgres" ? "postgres" : type === "better-sqlite3" || type === "sqlite" ? "sqlite" : undefined;
  if (!dialect) throw new TypeError(`auditTypeOrm: DataSource type ${JSON.stringify(type)} is not supported (postgres, better-sqlite3)`);
  const capture = new ChangeCapture("typeorm", options);
  const subscriber = new AuditSubscriber(capture, dialect);
  audited.set(dataSource, { capture, dialect, subscriber });
  const register = () => {
    const subscribers = dataSource.subscribers as EntitySubscriberInterface[];
    if (!subscribers.includes(subscriber)) subscribers.push(subscriber);
    patchBuilders(dataSource);
  };
  if (dataSource.isInitialized) register();
  else {
    // initialize() builds the subscriber list anew: register after it.
    const initialize = dataSource.initialize.bind(dataSource);
    Object.defineProperty(dataSource, "initialize", {
      configurable: true,
      writable: true,
      value: async () => {
        const result = await initialize();
        register();
        return result;
      },
    });
  }
  return subscriber;
}

/** Transactions per query runner: one frame per level (the transaction, then each savepoint). */
class Frames {
  private readonly stacks = new WeakMap<QueryRunner, TransactionFrame[]>();
  /** Frames whose transaction failed before COMMIT: PostgreSQL will roll it back. */
  private readonly doomed = new WeakSet<TransactionFrame>();

  started(runner: QueryRunner): void {
    const depth = depthOf(runner);
    let stack = this.stacks.get(runner);
    if (!stack || depth === 1) {
      stack = [];
      this.stacks.set(runner, stack);
    }
    // Levels opened before auditing began, or left behind by a failed COMMIT, are replaced.
    stack.length = Math.min(stack.length, depth - 1);
    while (stack.length < depth) stack.push(new TransactionFrame(stack.at(-1)));
  }

  /** The frame of the runner's innermost open level, or undefined outside a transaction. */
  current(runner: QueryRunner): TransactionFrame | undefined {
    if (!runner.isTransactionActive) return undefined;
    const stack = this.stacks.get(runner);
    const depth = depthOf(runner);
    return stack && stack.length >= depth ? stack[depth - 1] : undefined;
  }

  doom(runner: QueryRunner): void {
    const frame = this.current(runner);
    if (frame) this.doomed.add(frame);
  }

  /** The level just ended (transactionDepth is already one less): its frame. */
  ended(runner: QueryRunner): { frame: TransactionFrame; root: boolean; doomed: boolean } | undefined {
    const stack = this.stacks.get(runner);
    const depth = depthOf(runner);
    if (!stack || stack.length <= depth) return undefined;
    const frame = stack[depth];
    stack.length = depth;
    return { frame, root: depth === 0, doomed: this.doomed.has(frame) };
  }
}

class AuditSubscriber implements EntitySubscriberInterface {
  readonly frames = new Frames();
  /** Rows read before a save's update or remove, by the entity object being written. */
  private readonly before = new WeakMap<object, Row>();
  /** Value sets a wrapped insert builder captures itself: the subscriber leaves them. */
  readonly capturedByStatement = new WeakSet<object>();

  constructor(
    readonly capture: ChangeCapture,
    readonly dialect: OutboxDialect,
  ) {}

  afterTransactionStart(event: TransactionStartEvent): void {
    this.frames.started(event.queryRunner);
  }

  async beforeTransactionCommit(event: TransactionCommitEvent): Promise<void> {
    const runner = event.queryRunner;
    if (this.dialect === "postgres" && depthOf(runner) === 1 && (await pgTransactionFailed(databaseClient(runner)))) {
      this.frames.doom(runner);
    }
  }

  afterTransactionCommit(event: TransactionCommitEvent): void {
    const ended = this.frames.ended(event.queryRunner);
    if (!ended) return;
    if (!ended.root) ended.frame.commit();
    else settleFrame(this.capture, ended.frame, !ended.doomed);
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    this.frames.ended(event.queryRunner)?.frame.rollback();
  }

  beforeInsert(event: InsertEvent<ObjectLiteral>): void {
    if (event.entity && !this.capturedByStatement.has(event.entity)) this.needsTransaction(event.queryRunner, event.metadata);
  }

  async afterInsert(event: InsertEvent<ObjectLiteral>): Promise<void> {
    if (!event.entity || this.capturedByStatement.has(event.entity)) return;
    const after = { ...entityRow(event.metadata, event.entity), ...(event.entityId as Row | undefined) };
    await this.deliver(event.queryRunner, event.metadata, "CREATE", [{ after }]);
  }

  async beforeUpdate(event: UpdateEvent<ObjectLiteral>): Promise<void> {
    // Without databaseEntity it is a query builder's update: the wrapped execute captures it.
    if (!event.databaseEntity || !event.entity) return;
    await this.readBefore(event.queryRunner, event.metadata, event.entity, event.databaseEntity);
  }

  async afterUpdate(event: UpdateEvent<ObjectLiteral>): Promise<void> {
    if (!event.databaseEntity || !event.entity) return;
    const columns = [...event.updatedColumns];
    for (const automatic of [event.metadata.versionColumn, event.metadata.updateDateColumn])
      if (automatic && !columns.includes(automatic)) columns.push(automatic);
    await this.afterSave(event.queryRunner, event.metadata, event.entity, event.databaseEntity, columns);
  }

  async beforeRemove(event: RemoveEvent<ObjectLiteral>): Promise<void> {
    if (!event.databaseEntity || !event.entity) return;
    await this.readBefore(event.queryRunner, event.metadata, event.entity, event.databaseEntity);
  }

  async afterRemove(event: RemoveEvent<ObjectLiteral>): Promise<void> {
    if (!event.databaseEntity || !event.entity) return;
    const before = this.before.get(event.entity) ?? entityRow(event.metadata, event.databaseEntity);
    this.before.delete(event.entity);
    await this.deliver(event.queryRunner, event.metadata, "DELETE", [{ before }]);
  }

  async beforeSoftRemove(event: SoftRemoveEvent<ObjectLiteral>): Promise<void> {
    if (!event.databaseEntity || !event.entity) return;
    await this.readBefore(event.queryRunner, event.metadata, event.entity, event.databaseEntity);
  }

  async afterSoftRemove(event: SoftRemoveEvent<ObjectLiteral>): Promise<void> {
    if (!event.databaseEntity || !event.entity) return;
    const column = event.metadata.deleteDateColumn;
    await this.afterSave(event.queryRunner, event.metadata, event.entity, event.databaseEntity, column ? [column] : []);
  }

  async beforeRecover(event: RecoverEvent<ObjectLiteral>): Promise<void> {
    if (!event.databaseEntity || !event.entity) return;
    await this.readBefore(event.queryRunner, event.metadata, event.entity, event.databaseEntity);
  }

  async afterRecover(event: RecoverEvent<ObjectLiteral>): Promise<void> {
    if (!event.databaseEntity || !event.entity) return;
    const column = event.metadata.deleteDateColumn;
    await this.afterSave(event.queryRunner, event.metadata, event.entity, event.databaseEntity, column ? [column] : []);
  }

  /**
   * The row as it is now, read in the write's transaction under a row lock (PostgreSQL): TypeORM
   * loaded `databaseEntity` before its transaction began, so another writer may have changed it since.
   */
  private async readBefore(runner: QueryRunner, metadata: EntityMetadata, entity: ObjectLiteral, databaseEntity: ObjectLiteral) {
    if (!this.capture.entity(metadata.name)) return;
    this.needsTransaction(runner, metadata);
    const known = entityRow(metadata, databaseEntity);
    if (!runner.isTransactionActive) {
      // `save(…, { transaction: false })`: no transaction to read in; TypeORM's own load is the before-image.
      this.before.set(entity, known);
      return;
    }
    const ids = metadata.primaryColumns.map((column) => column.getEntityValue(databaseEntity));
    const where = metadata.primaryColumns.map(
      (column, i) => `${runner.connection.driver.escape(column.databaseName)} = ${placeholder(this.dialect, i)}`,
    );
    const rows = await selectRows(runner, metadata, this.dialect, ` WHERE ${where.join(" AND ")}`, ids, 1);
    this.before.set(entity, rows[0] ?? known);
  }

  private async afterSave(
    runner: QueryRunner,
    metadata: EntityMetadata,
    entity: ObjectLiteral,
    databaseEntity: ObjectLiteral,
    columns: readonly ColumnMetadata[],
  ) {
    if (!this.capture.entity(metadata.name)) return;
    const before = this.before.get(entity) ?? entityRow(metadata, databaseEntity);
    this.before.delete(entity);
    // Only the columns TypeORM wrote: other properties of the entity object may be older than the row.
    const written: Row = {};
    for (const column of columns) {
      const value = column.getEntityValue(entity);
      if (value !== undefined) written[column.propertyPath] = value;
    }
    await this.deliver(runner, metadata, "UPDATE", [{ before, after: { ...before, ...written } }]);
  }

  /** In outbox mode a captured write must run in a transaction (TypeORM opens one unless told `transaction: false`). */
  private needsTransaction(runner: QueryRunner, metadata: EntityMetadata): void {
    if (this.capture.outboxTable && !runner.isTransactionActive && this.capture.entity(metadata.name)) {
      throw new ChangeAuditError(
        `${metadata.name} was written outside a transaction: the outbox needs one (do not pass transaction: false)`,
        {
          cause: undefined,
          committed: false,
          changes: [],
        },
      );
    }
  }

  /** Entries of one statement, to the outbox or the runner's current frame. */
  deliver(
    runner: QueryRunner,
    metadata: EntityMetadata,
    action: ChangeAction,
    rows: StatementChanges["rows"],
    extra: Partial<StatementChanges> = {},
  ): void | Promise<void> {
    const frame = this.frames.current(runner);
    const changes = this.capture.changes({
      entity: metadata.name,
      action,
      rows,
      key: metadata.primaryColumns.map((column) => column.propertyPath),
      transactionId: frame?.id ?? this.capture.transactionId(),
      ...extra,
    });
    return deliverChanges(this.capture, changes, frame, this.dialect, (sql, params) => runner.query(sql, params));
  }
}

/** Open transaction levels of a runner: 1 in a transaction, 2 in its first savepoint (TypeORM keeps it protected). */
function depthOf(runner: QueryRunner): number {
  return (runner as unknown as { transactionDepth?: number }).transactionDepth ?? (runner.isTransactionActive ? 1 : 0);
}

/** The pg client of a PostgreSQL query runner (undefined before it connected). */
function databaseClient(runner: QueryRunner): unknown {
  return (runner as unknown as { databaseConnection?: unknown }).databaseConnection;
}

function placeholder(dialect: OutboxDialect, index: number): string {
  return dialect === "postgres" ? `$${index + 1}` : "?";
}

/** An entity object's column values by property path (columns it does not carry left out). */
function entityRow(metadata: EntityMetadata, entity: ObjectLiteral): Row {
  const row: Row = {};
  for (const column of metadata.columns) {
    const value = column.getEntityValue(entity);
    if (value !== undefined) row[column.propertyPath] = value;
  }
  return row;
}

function tableOf(runner: QueryRunner, metadata: EntityMetadata): string {
  return metadata.tablePath
    .split(".")
    .map((part) => runner.connection.driver.escape(part))
    .join(".");
}

/** Rows of the entity's table matching `where` (SQL with driver placeholders), as entity values, locked on PostgreSQL. */
async function selectRows(
  runner: QueryRunner,
  metadata: EntityMetadata,
  dialect: OutboxDialect,
  where: string,
  params: unknown[],
  limit: number | undefined,
): Promise<Row[]> {
  const lock = dialect === "postgres" && runner.isTransactionActive ? " FOR UPDATE" : "";
  const sql = `SELECT * FROM ${tableOf(runner, metadata)}${where}${limit === undefined ? "" : ` LIMIT ${limit}`}${lock}`;
  const raw = (await runner.query(sql, params)) as Row[];
  const driver = runner.connection.driver;
  return raw.map((record) => {
    const row: Row = {};
    for (const column of metadata.columns) {
      if (column.databaseName in record) row[column.propertyPath] = driver.prepareHydratedValue(record[column.databaseName], column);
    }
    return row;
  });
}

/**
 * Wraps `execute` of the update, delete, soft-delete and insert query
 * builders once per TypeORM copy; it captures only for audited DataSources
 * and leaves builders with `callListeners(false)` (TypeORM's own
 * persistence statements: the subscriber sees those) alone.
 */
function patchBuilders(dataSource: DataSource): void {
  const select = dataSource.createQueryBuilder();
  const builders: Array<[BuilderKind, unknown]> = [
    ["update", select.update()],
    ["delete", select.delete()],
    ["softDelete", select.softDelete()],
    ["insert", select.insert()],
  ];
  for (const [kind, builder] of builders) {
    const prototype = Object.getPrototypeOf(builder) as Record<PropertyKey, unknown>;
    if (Object.hasOwn(prototype, PATCHED)) continue;
    const original = prototype.execute as (this: WriteBuilder) => Promise<unknown>;
    Object.defineProperty(prototype, PATCHED, { value: true });
    prototype.execute = function execute(this: WriteBuilder) {
      const target = audited.get(this.connection);
      const alias = this.expressionMap.mainAlias;
      if (!target || !this.expressionMap.callListeners || !alias?.hasMetadata || !target.capture.entity(alias.metadata.name)) {
        return original.call(this);
      }
      // A soft-delete builder also serves restore().
      const what = kind === "softDelete" && this.expressionMap.queryType === "restore" ? "restore" : kind;
      return executeAudited(this, original, what, target, alias.metadata);
    };
  }
}

async function executeAudited(
  builder: WriteBuilder,
  original: (this: WriteBuilder) => Promise<unknown>,
  kind: BuilderKind | "restore",
  target: Audited,
  metadata: EntityMetadata,
): Promise<unknown> {
  const { capture, subscriber, dialect } = target;
  const runner = builder.queryRunner ?? builder.connection.createQueryRunner();
  const ownRunner = builder.queryRunner === undefined;
  if (ownRunner) builder.setQueryRunner(runner);
  // An insert commits by itself unless the outbox row must commit with it; the others read before they write.
  const own = !runner.isTransactionActive && (kind !== "insert" || capture.outboxTable !== undefined);
  try {
    if (own) await runner.startTransaction();
    const result = await (kind === "insert"
      ? insertStatement(builder, original, subscriber, runner, metadata)
      : writeStatement(builder, original, kind, subscriber, runner, metadata, capture.bulkLimit, dialect));
    if (own) await runner.commitTransaction();
    return result;
  } catch (error) {
    if (own && runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
    throw error;
  } finally {
    if (ownRunner) await runner.release();
  }
}

async function insertStatement(
  builder: WriteBuilder,
  original: (this: WriteBuilder) => Promise<unknown>,
  subscriber: AuditSubscriber,
  runner: QueryRunner,
  metadata: EntityMetadata,
): Promise<unknown> {
  const valueSets = builder.getValueSets?.() ?? [];
  for (const values of valueSets) subscriber.capturedByStatement.add(values);
  const result = (await original.call(builder)) as { identifiers?: Row[]; generatedMaps?: Row[] };
  const after = valueSets.map((values, i) => ({
    ...entityRow(metadata, values),
    ...(result.generatedMaps?.[i] ?? {}),
    ...(result.identifiers?.[i] ?? {}),
  }));
  const rows = statementRows("CREATE", [], after, [], subscriber.capture.bulkLimit);
  await subscriber.deliver(runner, metadata, "CREATE", rows, { count: after.length });
  return result;
}

async function writeStatement(
  builder: WriteBuilder,
  original: (this: WriteBuilder) => Promise<unknown>,
  kind: "update" | "delete" | "softDelete" | "restore",
  subscriber: AuditSubscriber,
  runner: QueryRunner,
  metadata: EntityMetadata,
  bulkLimit: number,
  dialect: OutboxDialect,
): Promise<unknown> {
  const driver = runner.connection.driver;
  const [where, params] = driver.escapeQueryWithParameters(
    builder.replacePropertyNamesForTheWholeQuery(builder.createWhereExpression()),
    builder.getParameters(),
  );
  const before = await selectRows(runner, metadata, dialect, where, params, bulkLimit + 1);
  const result = (await original.call(builder)) as { affected?: number | null };
  const count = typeof result?.affected === "number" ? result.affected : before.length;
  const key = metadata.primaryColumns.map((column) => column.propertyPath);
  const filter = { where: where.replace(/^ WHERE /, ""), parameters: params };
  const action: ChangeAction = kind === "delete" ? "DELETE" : "UPDATE";
  let after: Row[] = [];
  if (action === "UPDATE" && before.length <= bulkLimit && before.length > 0) {
    const values = kind === "update" ? knownValues(metadata, builder.expressionMap.valuesSet) : undefined;
    after = values ? withValues(before, values) : await reread(runner, metadata, dialect, before, key);
  }
  const rows = statementRows(action, before, after, key, bulkLimit);
  await subscriber.deliver(runner, metadata, action, rows, { count, filter });
  return result;
}

/**
 * The values an update sets, by property path, or undefined when SQL computes one (a function
 * value). Columns TypeORM sets itself (update date, version) are left out: their new value is
 * known only to the database, and the entry shows them unchanged.
 */
function knownValues(metadata: EntityMetadata, valuesSet: unknown): Row | undefined {
  if (!valuesSet || typeof valuesSet !== "object") return undefined;
  const values: Row = {};
  for (const column of metadata.columns) {
    if (column === metadata.updateDateColumn || column === metadata.versionColumn) continue;
    const value = column.getEntityValue(valuesSet as ObjectLiteral);
    if (value === undefined) continue;
    if (typeof value === "function") return undefined;
    values[column.propertyPath] = value;
  }
  return values;
}

/** After-images read again by key (an update whose new values SQL computes). */
async function reread(runner: QueryRunner, metadata: EntityMetadata, dialect: OutboxDialect, before: Row[], key: string[]): Promise<Row[]> {
  const columns = metadata.primaryColumns;
  const params: unknown[] = [];
  const rows = before.map((row) => {
    const parts = columns.map((column) => {
      params.push(row[column.propertyPath]);
      return `${runner.connection.driver.escape(column.databaseName)} = ${placeholder(dialect, params.length - 1)}`;
    });
    return `(${parts.join(" AND ")})`;
  });
  if (key.length === 0 || rows.length === 0) return [];
  return selectRows(runner, metadata, dialect, ` WHERE ${rows.join(" OR ")}`, params, undefined);
}
