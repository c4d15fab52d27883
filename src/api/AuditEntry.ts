import type { JsonObject } from "../internal/normalize.js";
import { entryToDict } from "./entrySchema.js";
import type { LogLevel } from "./enums.js";

/** An audit entry as one line of audit.jsonl: the original auditX's snake_case field names. */
export interface AuditEntryDict {
  timestamp: string;
  level: LogLevel;
  module?: string;
  action?: string;
  description?: string;
  user?: string;
  user_role?: string;
  company_id?: string;
  branch_id?: string;
  entity_type?: string;
  entity_id?: string;
  reference_no?: string;
  amount?: number;
  currency?: string;
  old_values?: JsonObject;
  new_values?: JsonObject;
  metadata?: JsonObject;
  request_id?: string;
  session_id?: string;
  ip?: string;
  hostname?: string;
  method?: string;
  endpoint?: string;
  status: number | null;
  success: boolean;
  trace_id?: string;
  span_id?: string;
  service?: string;
  chain_id?: string;
  seq?: number;
  prev_hash?: string;
  hash?: string;
}

/** Every field of an entry; text fields are "" and maps undefined when empty. */
export interface AuditEntryFields {
  timestamp: string;
  level: LogLevel;
  module: string;
  action: string;
  description: string;
  user: string;
  userRole: string;
  companyId: string;
  branchId: string;
  entityType: string;
  entityId: string;
  referenceNo: string;
  amount: number | null;
  currency: string;
  oldValues: JsonObject | undefined;
  newValues: JsonObject | undefined;
  metadata: JsonObject | undefined;
  requestId: string;
  sessionId: string;
  ip: string;
  hostname: string;
  method: string;
  endpoint: string;
  status: number | null;
  success: boolean;
  traceId: string;
  spanId: string;
  service: string;
}

/**
 * One audit record, as every log method returns it and as `onAudit` receives
 * it: camelCase properties; `toDict()` is exactly the JSONL object.
 */
export class AuditEntry implements AuditEntryFields {
  readonly timestamp: string;
  readonly level: LogLevel;
  readonly module: string;
  readonly action: string;
  readonly description: string;
  readonly user: string;
  readonly userRole: string;
  readonly companyId: string;
  readonly branchId: string;
  readonly entityType: string;
  readonly entityId: string;
  readonly referenceNo: string;
  readonly amount: number | null;
  readonly currency: string;
  readonly oldValues: JsonObject | undefined;
  readonly newValues: JsonObject | undefined;
  readonly metadata: JsonObject | undefined;
  readonly requestId: string;
  readonly sessionId: string;
  readonly ip: string;
  readonly hostname: string;
  readonly method: string;
  readonly endpoint: string;
  readonly status: number | null;
  readonly success: boolean;
  readonly traceId: string;
  readonly spanId: string;
  readonly service: string;
  /**
   * Integrity fields, set by the trail writer when `integrity` is on: the
   * writer's hash chain, this entry's place in it, the previous entry's hash
   * and this line's own (see `auditx verify`). Empty otherwise.
   */
  chainId = "";
  seq = 0;
  prevHash = "";
  hash = "";

  constructor(fields: AuditEntryFields) {
    this.timestamp = fields.timestamp;
    this.level = fields.level;
    this.module = fields.module;
    this.action = fields.action;
    this.description = fields.description;
    this.user = fields.user;
    this.userRole = fields.userRole;
    this.companyId = fields.companyId;
    this.branchId = fields.branchId;
    this.entityType = fields.entityType;
    this.entityId = fields.entityId;
    this.referenceNo = fields.referenceNo;
    this.amount = fields.amount;
    this.currency = fields.currency;
    this.oldValues = fields.oldValues;
    this.newValues = fields.newValues;
    this.metadata = fields.metadata;
    this.requestId = fields.requestId;
    this.sessionId = fields.sessionId;
    this.ip = fields.ip;
    this.hostname = fields.hostname;
    this.method = fields.method;
    this.endpoint = fields.endpoint;
    this.status = fields.status;
    this.success = fields.success;
    this.traceId = fields.traceId;
    this.spanId = fields.spanId;
    this.service = fields.service;
  }

  /** The JSONL object: snake_case, in the trail's field order, empty values left out. */
  toDict(): AuditEntryDict {
    return entryToDict(this);
  }

  toJSON(): AuditEntryDict {
    return entryToDict(this);
  }
}
