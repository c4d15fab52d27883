import type { AuditLogger } from "../../api/AuditLogger.js";
import type { BusinessModule } from "../../entry/enums.js";
import type { ChangeAuditError } from "./ChangeAuditError.js";

/**
 * What an audit write failure does to the business operation: `fail` makes the operation's call
 * reject with ChangeAuditError; `report` contains the error (app.log, `onError`) and lets it succeed.
 */
export type FailurePolicy = "fail" | "report";

/** How one model (Prisma, TypeORM, Sequelize) or table (Knex, Drizzle) is audited. */
export interface EntityCaptureOptions {
  /** `entity_type` of its entries (default: the model or table name). */
  entityType?: string;
  /** `module` of its entries (default: the adapter's `module`, else "system"). */
  module?: BusinessModule | (string & {});
  /** Fields left out of old and new values, besides the adapter-wide `ignore` list. */
  ignore?: string[];
  /** Its primary key's fields, when the adapter cannot learn them (default: what the ORM or database declares). */
  key?: string[];
  /** Audit-critical: an audit write failure fails the business operation unless `onFailure` says otherwise. */
  critical?: boolean;
  /** Overrides the adapter-wide policy for this entity. */
  onFailure?: FailurePolicy;
  /** Not audited at all. */
  skip?: boolean;
  /** A business reference for `reference_no` (an invoice number), from the row after (or before, on delete) the change. */
  referenceNo?: (row: Record<string, unknown>) => string | undefined;
}

/** Options shared by every ORM adapter. */
export interface ChangeCaptureOptions {
  /** The logger entries go to (default: the global `audit`). */
  logger?: AuditLogger;
  /** Per model or table: entity type, module, ignored fields, key, criticality. */
  entities?: Record<string, EntityCaptureOptions>;
  /** Only these models or tables are audited (default: all but those with `skip`). */
  only?: string[];
  /** Default module of every entity (default "system"). */
  module?: BusinessModule | (string & {});
  /** Fields never written as old or new values (default: updatedAt, updated_at). */
  ignore?: string[];
  /**
   * Rows one statement may change and still get an entry each (default 100). Past it, the
   * statement gets one summary entry with the count and the filter instead.
   */
  bulkLimit?: number;
  /** Policy for entities that are not `critical` (default "report"); critical ones default to "fail". */
  onFailure?: FailurePolicy;
  /** Called when an audit write fails under the `report` policy (after the error went to app.log). */
  onError?: (error: ChangeAuditError) => void;
  /**
   * Atomic mode: entries are inserted into the outbox table in the same transaction as the change,
   * and an OutboxRelay moves them into the trail. The table must exist (createOutboxTableSql).
   */
  outbox?: boolean | { table?: string };
}
