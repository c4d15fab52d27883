/**
 * An entry as an OTel log record and back (DESIGN.md, "OTel attribute
 * mapping"): the attributes of each kind of record, and the entry or app
 * message read from a record that other code emitted.
 */
import type { AnyValue, AnyValueMap, LogAttributes } from "@opentelemetry/api-logs";
import type { ReadableLogRecord } from "@opentelemetry/sdk-logs";
import { formatTimestamp, hrTimeMillis } from "../internal/timestamp.js";
import type { AppMessage } from "./AppMessage.js";
import { AuditEntry } from "./AuditEntry.js";
import * as A from "./attributes.js";
import { LogLevel, levelFromSeverity, parseLevel, SECURITY_LEVELS } from "./enums.js";
import { type AuditEntryFields, UNSEALED } from "./fields.js";
import type { JsonObject } from "./json.js";
import { isEmptyMap } from "./jsonl.js";
import { DEFAULT_LIMITS, toAmount, toJsonObject, toStatusCode, toText } from "./normalize.js";

const TEXT_LIMIT = DEFAULT_LIMITS.maxStringLength;

/** Whether an entry of this level also belongs to the security stream. */
export function isSecurityLevel(level: string): boolean {
  return SECURITY_LEVELS.has(level);
}

/** The stream of an entry: security for SECURITY and CRITICAL, audit otherwise. */
export function streamOf(level: string): A.Stream {
  return isSecurityLevel(level) ? A.Stream.SECURITY : A.Stream.AUDIT;
}

// One frozen object per stream, shared by every record: the SDK copies attributes into its own record.
const STREAM_ATTRIBUTES: Readonly<Record<A.Stream, LogAttributes>> = {
  [A.Stream.AUDIT]: Object.freeze({ [A.ATTR_STREAM]: A.Stream.AUDIT }),
  [A.Stream.SECURITY]: Object.freeze({ [A.ATTR_STREAM]: A.Stream.SECURITY }),
  [A.Stream.APP]: Object.freeze({ [A.ATTR_STREAM]: A.Stream.APP }),
};

/**
 * The attributes a record needs when only auditx's trail reads it: its
 * stream. The trail takes the entry itself (RecordCarrier), so the full
 * mapping is paid only when OTLP or another processor reads attributes.
 */
export function streamAttributes(stream: A.Stream): LogAttributes {
  return STREAM_ATTRIBUTES[stream];
}

/**
 * The OTel attributes of an entry (DESIGN.md's table). Maps go as AnyValue
 * maps; they are already normalised, so the SDK drops nothing. host.name and
 * service.name belong on the Resource and are not repeated here.
 */
export function entryToAttributes(e: AuditEntryFields): LogAttributes {
  const a: LogAttributes = { [A.ATTR_STREAM]: streamOf(e.level) };
  if (e.user) a[A.ATTR_USER_ID] = e.user;
  if (e.userRole) a[A.ATTR_USER_ROLES] = e.userRole.includes(",") ? splitRoles(e.userRole) : [e.userRole];
  if (e.ip) a[A.ATTR_CLIENT_ADDRESS] = e.ip;
  if (e.sessionId) a[A.ATTR_SESSION_ID] = e.sessionId;
  if (e.method) a[A.ATTR_HTTP_METHOD] = e.method;
  if (e.endpoint) {
    const queryAt = e.endpoint.indexOf("?");
    if (queryAt === -1) a[A.ATTR_URL_PATH] = e.endpoint;
    else {
      a[A.ATTR_URL_PATH] = e.endpoint.slice(0, queryAt);
      a[A.ATTR_URL_QUERY] = e.endpoint.slice(queryAt + 1);
    }
  }
  if (e.status !== null) a[A.ATTR_HTTP_STATUS] = e.status;
  if (e.requestId) a[A.ATTR_REQUEST_ID] = e.requestId;
  if (e.module) a[A.ATTR_MODULE] = e.module;
  if (e.action) a[A.ATTR_ACTION] = e.action;
  if (e.companyId) a[A.ATTR_COMPANY_ID] = e.companyId;
  if (e.branchId) a[A.ATTR_BRANCH_ID] = e.branchId;
  if (e.entityType) a[A.ATTR_ENTITY_TYPE] = e.entityType;
  if (e.entityId) a[A.ATTR_ENTITY_ID] = e.entityId;
  if (e.referenceNo) a[A.ATTR_REFERENCE_NO] = e.referenceNo;
  if (e.amount !== null) a[A.ATTR_AMOUNT] = e.amount;
  if (e.currency) a[A.ATTR_CURRENCY] = e.currency;
  a[A.ATTR_SUCCESS] = e.success;
  if (!isEmptyMap(e.oldValues)) a[A.ATTR_OLD_VALUES] = e.oldValues as AnyValueMap;
  if (!isEmptyMap(e.newValues)) a[A.ATTR_NEW_VALUES] = e.newValues as AnyValueMap;
  if (!isEmptyMap(e.metadata)) a[A.ATTR_METADATA] = e.metadata as AnyValueMap;
  if (e.id) a[A.ATTR_LOG_RECORD_UID] = e.id;
  return a;
}

/** The attributes of an app.log message; its extra fields only when something besides the trail reads them. */
export function appMessageAttributes(message: AppMessage, fields: JsonObject | undefined): LogAttributes {
  const a: LogAttributes = { [A.ATTR_STREAM]: A.Stream.APP, [A.ATTR_USER_ID]: message.user };
  if (message.method !== "N/A") a[A.ATTR_HTTP_METHOD] = message.method;
  if (message.custom) a[A.ATTR_APP_FORMAT] = "custom";
  if (fields) a[A.ATTR_APP_FIELDS] = fields as AnyValueMap;
  return a;
}

/** "manager, approver" -> ["manager", "approver"]: user.roles is a list. */
function splitRoles(roles: string): string[] {
  return roles
    .split(",")
    .map((role) => role.trim())
    .filter(Boolean);
}

function attrText(value: AnyValue | undefined, limit = TEXT_LIMIT): string {
  return toText(value, limit);
}

/**
 * An entry rebuilt from any OTel log record (one emitted by other code into a
 * provider that runs auditx's processors): the inverse of entryToAttributes.
 */
export function entryFromLogRecord(record: ReadableLogRecord): AuditEntry {
  return new AuditEntry(entryFieldsFromLogRecord(record));
}

/** The attributes entryToAttributes may set, to replace them all at once. */
const ENTRY_ATTRIBUTES = [
  A.ATTR_USER_ID,
  A.ATTR_USER_ROLES,
  A.ATTR_CLIENT_ADDRESS,
  A.ATTR_SESSION_ID,
  A.ATTR_HTTP_METHOD,
  A.ATTR_URL_PATH,
  A.ATTR_URL_QUERY,
  A.ATTR_HTTP_STATUS,
  A.ATTR_REQUEST_ID,
  A.ATTR_MODULE,
  A.ATTR_ACTION,
  A.ATTR_COMPANY_ID,
  A.ATTR_BRANCH_ID,
  A.ATTR_ENTITY_TYPE,
  A.ATTR_ENTITY_ID,
  A.ATTR_REFERENCE_NO,
  A.ATTR_AMOUNT,
  A.ATTR_CURRENCY,
  A.ATTR_SUCCESS,
  A.ATTR_OLD_VALUES,
  A.ATTR_NEW_VALUES,
  A.ATTR_METADATA,
];

/** A record that a processor may still change (during its onEmit). */
export interface WritableLogRecord {
  readonly attributes: LogAttributes;
  setAttribute(key: string, value?: AnyValue): unknown;
  setBody(body: AnyValue): unknown;
}

/**
 * Makes a record that other code emitted carry `fields` (its entry once
 * redacted), so that the processors after the first one, OTLP included, see
 * only that.
 */
export function replaceEntryAttributes(record: WritableLogRecord, fields: AuditEntryFields): void {
  const attributes = entryToAttributes(fields);
  for (const name of ENTRY_ATTRIBUTES) {
    if (name in attributes) record.setAttribute(name, attributes[name]);
    else delete (record.attributes as Record<string, unknown>)[name];
  }
  record.setBody(fields.description);
}

/** The fields of the entry a record carries (see entryFromLogRecord). */
export function entryFieldsFromLogRecord(record: ReadableLogRecord): AuditEntryFields {
  const a = record.attributes;
  const resource = record.resource?.attributes ?? {};
  const roles = a[A.ATTR_USER_ROLES];
  const path = attrText(a[A.ATTR_URL_PATH]);
  const query = attrText(a[A.ATTR_URL_QUERY]);
  const level =
    parseLevel(record.severityText) ?? (record.severityNumber === undefined ? LogLevel.INFO : levelFromSeverity(record.severityNumber));
  const spanContext = record.spanContext;
  return {
    timestamp: formatTimestamp(hrTimeMillis(record.hrTime)),
    level,
    module: attrText(a[A.ATTR_MODULE]),
    action: attrText(a[A.ATTR_ACTION]),
    description: attrText(record.body as AnyValue),
    user: attrText(a[A.ATTR_USER_ID]),
    userRole: Array.isArray(roles) ? roles.map((role) => attrText(role)).join(",") : attrText(roles),
    companyId: attrText(a[A.ATTR_COMPANY_ID]),
    branchId: attrText(a[A.ATTR_BRANCH_ID]),
    entityType: attrText(a[A.ATTR_ENTITY_TYPE]),
    entityId: attrText(a[A.ATTR_ENTITY_ID]),
    referenceNo: attrText(a[A.ATTR_REFERENCE_NO]),
    amount: toAmount(a[A.ATTR_AMOUNT]),
    currency: attrText(a[A.ATTR_CURRENCY]),
    oldValues: toJsonObject(a[A.ATTR_OLD_VALUES], DEFAULT_LIMITS),
    newValues: toJsonObject(a[A.ATTR_NEW_VALUES], DEFAULT_LIMITS),
    metadata: toJsonObject(a[A.ATTR_METADATA], DEFAULT_LIMITS),
    requestId: attrText(a[A.ATTR_REQUEST_ID]),
    sessionId: attrText(a[A.ATTR_SESSION_ID]),
    ip: attrText(a[A.ATTR_CLIENT_ADDRESS]),
    hostname: attrText(resource[A.ATTR_HOST_NAME] as AnyValue),
    method: attrText(a[A.ATTR_HTTP_METHOD]),
    endpoint: query ? `${path}?${query}` : path,
    status: toStatusCode(a[A.ATTR_HTTP_STATUS]),
    success: a[A.ATTR_SUCCESS] !== false,
    traceId: spanContext?.traceId ?? "",
    spanId: spanContext?.spanId ?? "",
    service: attrText(resource[A.ATTR_SERVICE_NAME] as AnyValue),
    id: attrText(a[A.ATTR_LOG_RECORD_UID], 64),
    ...UNSEALED,
  };
}

/** The app.log message of a record that other code emitted on the app stream. */
export function appMessageFromLogRecord(record: ReadableLogRecord): AppMessage {
  const user = attrText(record.attributes[A.ATTR_USER_ID], 256);
  const method = attrText(record.attributes[A.ATTR_HTTP_METHOD], 32).toUpperCase();
  return {
    millis: hrTimeMillis(record.hrTime),
    level: record.severityText ?? "INFO",
    user,
    method: method || "N/A",
    message: attrText(record.body as AnyValue),
    custom: record.attributes[A.ATTR_APP_FORMAT] === "custom",
  };
}

/** Whether a record is an auditx record: every one carries `auditx.stream`. */
export function isAuditxRecord(record: ReadableLogRecord): boolean {
  return typeof record.attributes[A.ATTR_STREAM] === "string";
}

/** Whether a record is a writer's checkpoint (not an entry of any trail file). */
export function isCheckpointRecord(record: ReadableLogRecord): boolean {
  return record.attributes[A.ATTR_STREAM] === A.CHECKPOINT_STREAM;
}

/** The stream a record belongs to: its `auditx.stream` attribute, or its level. */
export function streamOfRecord(record: ReadableLogRecord): A.Stream {
  const stream = record.attributes[A.ATTR_STREAM];
  if (stream === A.Stream.APP || stream === A.Stream.AUDIT || stream === A.Stream.SECURITY) return stream;
  return streamOf(parseLevel(record.severityText) ?? levelFromSeverity(record.severityNumber));
}
