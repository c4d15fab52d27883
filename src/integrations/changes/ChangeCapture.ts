import type { AuditLogger } from "../../api/AuditLogger.js";
import { audit } from "../../api/configure.js";
import type { ChangeOptions } from "../../api/options.js";
import { RequestContext } from "../../api/RequestContext.js";
import { AuditAction, BusinessModule } from "../../entry/enums.js";
import { AuditConfigError } from "../../entry/errors.js";
import { uuidv7 } from "../../internal/uuid.js";
import { ChangeAuditError } from "./ChangeAuditError.js";
import { entityIdOf, hasKey, keyObject } from "./entityKey.js";
import type { ChangeCaptureOptions, EntityCaptureOptions, FailurePolicy } from "./options.js";
import type { PendingChange } from "./PendingChange.js";
import { columnValue, diffImages, type Row, rowImage } from "./rowValues.js";

export type ChangeAction = "CREATE" | "UPDATE" | "DELETE";

/** The images of one row a statement changed: `before` for updates and deletes, `after` for creates and updates. */
export interface RowChange {
  before?: Row;
  after?: Row;
}

/** What one statement did to one entity, as an adapter saw it. */
export interface StatementChanges {
  /** The model or table name (the key of `entities`). */
  entity: string;
  action: ChangeAction;
  /** Row images, at most bulkLimit + 1 of them (an adapter stops reading there). */
  rows: RowChange[];
  /** Rows the statement affected, as the database reported (default rows.length). */
  count?: number;
  /** The statement's filter, for a summary entry: a where object, or SQL text and parameters. */
  filter?: unknown;
  /** The entity's key fields. */
  key: readonly string[];
  /** The id of the transaction the statement ran in. */
  transactionId?: string;
}

export interface ResolvedEntity {
  name: string;
  entityType: string;
  module: string;
  ignore: ReadonlySet<string>;
  key?: readonly string[];
  failure: FailurePolicy;
  referenceNo?: (row: Row) => string | undefined;
}

const VERB: Record<ChangeAction, string> = { CREATE: "created", UPDATE: "updated", DELETE: "deleted" };
const ACTION: Record<ChangeAction, string> = { CREATE: AuditAction.CREATE, UPDATE: AuditAction.UPDATE, DELETE: AuditAction.DELETE };
const DEFAULT_IGNORE = ["updatedAt", "updated_at"];
export const DEFAULT_OUTBOX_TABLE = "auditx_outbox";
const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/;

/**
 * The change-capture core every ORM adapter shares: which entities are
 * audited and how, the entries of a statement (changed fields only, key to
 * entity id, bulk cap and summary, context of the request), and their
 * delivery after commit under the failure policy.
 */
export class ChangeCapture {
  readonly orm: string;
  readonly bulkLimit: number;
  /** The outbox table in atomic mode, else undefined. */
  readonly outboxTable: string | undefined;
  private readonly options: ChangeCaptureOptions;
  private readonly ignore: readonly string[];
  private readonly resolved = new Map<string, ResolvedEntity | null>();
  private readonly only?: ReadonlySet<string>;

  constructor(orm: string, options: ChangeCaptureOptions = {}) {
    this.orm = orm;
    this.options = options;
    const bulkLimit = options.bulkLimit ?? 100;
    if (!Number.isInteger(bulkLimit) || bulkLimit < 0)
      throw new AuditConfigError(`bulkLimit must be a whole number >= 0, got ${bulkLimit}`);
    this.bulkLimit = bulkLimit;
    if (options.onFailure !== undefined && options.onFailure !== "fail" && options.onFailure !== "report") {
      throw new AuditConfigError(`onFailure must be "fail" or "report", got ${JSON.stringify(options.onFailure)}`);
    }
    this.ignore = options.ignore ?? DEFAULT_IGNORE;
    this.only = options.only ? new Set(options.only) : undefined;
    const table = options.outbox ? (typeof options.outbox === "object" && options.outbox.table) || DEFAULT_OUTBOX_TABLE : undefined;
    if (table !== undefined && !TABLE_NAME.test(table))
      throw new AuditConfigError(`outbox.table must be a plain [schema.]table name, got ${table}`);
    this.outboxTable = table;
  }

  get logger(): AuditLogger {
    return this.options.logger ?? audit;
  }

  /** How `name` is audited, or undefined when it is not. */
  entity(name: string): ResolvedEntity | undefined {
    let resolved = this.resolved.get(name);
    if (resolved === undefined) {
      resolved = this.resolve(name);
      this.resolved.set(name, resolved);
    }
    return resolved ?? undefined;
  }

  private resolve(name: string): ResolvedEntity | null {
    if (name === this.outboxTable) return null;
    const o: EntityCaptureOptions = this.options.entities?.[name] ?? {};
    if (o.skip || (this.only && !this.only.has(name))) return null;
    return {
      name,
      entityType: o.entityType ?? name,
      module: o.module ?? this.options.module ?? BusinessModule.SYSTEM,
      ignore: new Set([...this.ignore, ...(o.ignore ?? [])]),
      key: o.key,
      failure: o.onFailure ?? (o.critical ? "fail" : (this.options.onFailure ?? "report")),
      referenceNo: o.referenceNo,
    };
  }

  /** A new transaction id. */
  transactionId(): string {
    return uuidv7(Date.now());
  }

  /** The entries of one statement (nothing for an entity not audited). */
  changes(statement: StatementChanges): PendingChange[] {
    const entity = this.entity(statement.entity);
    if (!entity) return [];
    const key = entity.key ?? statement.key;
    const count = statement.count ?? statement.rows.length;
    const context = RequestContext.get();
    const at = Date.now();
    const out: PendingChange[] = [];
    if (count > this.bulkLimit || statement.rows.length > this.bulkLimit) {
      out.push(this.summary(entity, statement, count, 0, context, at));
      return out;
    }
    let captured = 0;
    for (const row of statement.rows) {
      const change = this.rowChange(entity, statement, key, row, context, at);
      captured++;
      if (change) out.push(change);
    }
    // Rows the database changed that no image covers (a row another transaction committed meanwhile).
    if (count > captured) out.push(this.summary(entity, statement, count - captured, captured, context, at));
    return out;
  }

  private base(entity: ResolvedEntity, statement: StatementChanges, context: ChangeOptions): ChangeOptions {
    return {
      ...context,
      module: entity.module,
      action: ACTION[statement.action],
      entityType: entity.entityType,
      metadata: statement.transactionId ? { orm: this.orm, transaction_id: statement.transactionId } : { orm: this.orm },
    };
  }

  private rowChange(
    entity: ResolvedEntity,
    statement: StatementChanges,
    key: readonly string[],
    row: RowChange,
    context: ChangeOptions,
    at: number,
  ): PendingChange | undefined {
    const image = row.after ?? row.before;
    if (!image) return undefined;
    const options = this.base(entity, statement, context);
    if (hasKey(image, key)) {
      options.entityId = entityIdOf(image, key);
      if (key.length > 1) options.metadata = { ...options.metadata, entity_key: keyObject(image, key) };
    }
    if (statement.action === "UPDATE" && !row.before) {
      // Linked to another row, or matched only at the write: what it is now, without a before-image.
      options.newValues = rowImage(image, entity.ignore);
      options.metadata = { ...options.metadata, before_image: "missing" };
    } else if (statement.action === "UPDATE") {
      const diff = diffImages(rowImage(row.before ?? {}, entity.ignore), rowImage(row.after ?? {}, entity.ignore));
      if (diff.changed === 0) return undefined;
      options.oldValues = diff.oldValues;
      options.newValues = diff.newValues;
    } else if (statement.action === "CREATE") {
      options.newValues = rowImage(image, entity.ignore);
    } else {
      options.oldValues = rowImage(image, entity.ignore);
    }
    const referenceNo = entity.referenceNo?.(image);
    if (referenceNo) options.referenceNo = referenceNo;
    const id = options.entityId === undefined ? "" : ` ${options.entityId}`;
    return { id: uuidv7(at), at, description: `${entity.entityType}${id} ${VERB[statement.action]}`, options, failure: entity.failure };
  }

  private summary(
    entity: ResolvedEntity,
    statement: StatementChanges,
    count: number,
    captured: number,
    context: ChangeOptions,
    at: number,
  ): PendingChange {
    const options = this.base(entity, statement, context);
    options.metadata = {
      ...options.metadata,
      bulk: true,
      count,
      captured_rows: captured,
      bulk_limit: this.bulkLimit,
      filter: statement.filter === undefined ? null : (columnValue(statement.filter) as never),
    };
    const what = captured === 0 ? `${count} ${entity.entityType} rows` : `${count} more ${entity.entityType} rows`;
    return { id: uuidv7(at), at, description: `${what} ${VERB[statement.action]} (bulk)`, options, failure: entity.failure };
  }

  /**
   * Writes committed changes to the trail. A failed write of a change whose
   * policy is `fail` throws ChangeAuditError (after every other change was
   * written); under `report` it goes to app.log and `onError`.
   */
  write(changes: readonly PendingChange[]): void {
    if (changes.length === 0) return;
    const logger = this.logger;
    let failed: PendingChange[] | undefined;
    let firstError: unknown;
    for (const change of changes) {
      try {
        logger.logChange(change.description, change.options);
      } catch (error) {
        (failed ??= []).push(change);
        firstError ??= error;
      }
    }
    if (!failed) return;
    const error = new ChangeAuditError(
      `${failed.length} audit ${failed.length === 1 ? "entry" : "entries"} of a committed change could not be written: ${describe(firstError)}`,
      { cause: firstError, committed: true, changes: failed },
    );
    if (failed.some((change) => change.failure === "fail")) throw error;
    this.report(error);
  }

  /** A contained failure: app.log (when it can still be written) and onError. */
  report(error: ChangeAuditError): void {
    try {
      this.logger.error(`audit capture (${this.orm}): ${error.message}`, {
        entries: error.changes.map((change) => ({ id: change.id, description: change.description })),
      });
    } catch {
      // The trail is what failed; onError is the remaining way to tell.
    }
    try {
      this.options.onError?.(error);
    } catch {
      // A failing report hook must not fail the business operation either.
    }
  }

  /**
   * The outbox insert failed: the change's transaction must fail with it (that is what makes the
   * outbox atomic), whatever the policy; the policy applies to writes after commit and to the relay.
   */
  outboxFailed(changes: readonly PendingChange[], cause: unknown): never {
    throw new ChangeAuditError(`audit entries could not be inserted into ${this.outboxTable}: ${describe(cause)}`, {
      cause,
      committed: false,
      changes,
    });
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
