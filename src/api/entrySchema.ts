/**
 * The one module that knows the trail's contract: AuditEntry <-> JSONL line
 * (the original auditX's snake_case fields, in order, empty values left out,
 * `status` and `success` always kept) <-> OTel log record attributes.
 */
import type { AnyValue, AnyValueMap, LogAttributes } from "@opentelemetry/api-logs";
import type { ReadableLogRecord } from "@opentelemetry/sdk-logs";
import { DEFAULT_LIMITS, type JsonObject, toAmount, toJsonObject, toText } from "../internal/normalize.js";
import { formatTimestamp } from "../internal/timestamp.js";
import { AuditEntry, type AuditEntryDict, type AuditEntryFields } from "./AuditEntry.js";
import * as A from "./attributes.js";
import { LogLevel, levelFromSeverity, parseLevel, SECURITY_LEVELS } from "./enums.js";

/** The fields of an audit.jsonl line, in their order: the original's, then auditx's own. */
export const TRAIL_FIELDS = [
  "timestamp",
  "level",
  "module",
  "action",
  "description",
  "user",
  "user_role",
  "company_id",
  "branch_id",
  "entity_type",
  "entity_id",
  "reference_no",
  "amount",
  "currency",
  "old_values",
  "new_values",
  "metadata",
  "request_id",
  "session_id",
  "ip",
  "hostname",
  "method",
  "endpoint",
  "status",
  "success",
  "trace_id",
  "span_id",
  "service",
  "chain_id",
  "seq",
  "prev_hash",
  "hash",
] as const;

/** The stream an entry of this level belongs to besides audit. */
export function isSecurityLevel(level: string): boolean {
  return SECURITY_LEVELS.has(level);
}

function isEmptyMap(value: JsonObject | undefined): value is undefined {
  if (value === undefined) return true;
  for (const _ in value) return false;
  return true;
}

/** The JSONL object of an entry. */
export function entryToDict(e: AuditEntryFields & Partial<IntegrityFields>): AuditEntryDict {
  const d: Record<string, unknown> = { timestamp: e.timestamp, level: e.level };
  if (e.module) d.module = e.module;
  if (e.action) d.action = e.action;
  if (e.description) d.description = e.description;
  if (e.user) d.user = e.user;
  if (e.userRole) d.user_role = e.userRole;
  if (e.companyId) d.company_id = e.companyId;
  if (e.branchId) d.branch_id = e.branchId;
  if (e.entityType) d.entity_type = e.entityType;
  if (e.entityId) d.entity_id = e.entityId;
  if (e.referenceNo) d.reference_no = e.referenceNo;
  if (e.amount !== null) {
    d.amount = e.amount;
    if (e.currency) d.currency = e.currency;
  }
  if (!isEmptyMap(e.oldValues)) d.old_values = e.oldValues;
  if (!isEmptyMap(e.newValues)) d.new_values = e.newValues;
  if (!isEmptyMap(e.metadata)) d.metadata = e.metadata;
  if (e.requestId) d.request_id = e.requestId;
  if (e.sessionId) d.session_id = e.sessionId;
  if (e.ip) d.ip = e.ip;
  if (e.hostname) d.hostname = e.hostname;
  if (e.method) d.method = e.method;
  if (e.endpoint) d.endpoint = e.endpoint;
  d.status = e.status;
  d.success = e.success;
  if (e.traceId) d.trace_id = e.traceId;
  if (e.spanId) d.span_id = e.spanId;
  if (e.service) d.service = e.service;
  if (e.chainId) {
    d.chain_id = e.chainId;
    d.seq = e.seq;
    d.prev_hash = e.prevHash;
    d.hash = e.hash;
  }
  return d as unknown as AuditEntryDict;
}

// Most field values need no escaping: quoting them directly skips a JSON.stringify call each.
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;
const q = (text: string): string => (NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`);

/**
 * The audit.jsonl line of an entry, newline included: the same text as
 * JSON.stringify(entryToDict(e)), built in one pass without the object.
 */
export function entryToJsonLine(e: AuditEntryFields): string {
  // timestamp and level are produced by auditx itself and need no escaping.
  let s = `{"timestamp":"${e.timestamp}","level":"${e.level}"`;
  if (e.module) s += `,"module":${q(e.module)}`;
  if (e.action) s += `,"action":${q(e.action)}`;
  if (e.description) s += `,"description":${q(e.description)}`;
  if (e.user) s += `,"user":${q(e.user)}`;
  if (e.userRole) s += `,"user_role":${q(e.userRole)}`;
  if (e.companyId) s += `,"company_id":${q(e.companyId)}`;
  if (e.branchId) s += `,"branch_id":${q(e.branchId)}`;
  if (e.entityType) s += `,"entity_type":${q(e.entityType)}`;
  if (e.entityId) s += `,"entity_id":${q(e.entityId)}`;
  if (e.referenceNo) s += `,"reference_no":${q(e.referenceNo)}`;
  if (e.amount !== null) {
    s += `,"amount":${e.amount}`;
    if (e.currency) s += `,"currency":${q(e.currency)}`;
  }
  if (!isEmptyMap(e.oldValues)) s += `,"old_values":${JSON.stringify(e.oldValues)}`;
  if (!isEmptyMap(e.newValues)) s += `,"new_values":${JSON.stringify(e.newValues)}`;
  if (!isEmptyMap(e.metadata)) s += `,"metadata":${JSON.stringify(e.metadata)}`;
  if (e.requestId) s += `,"request_id":${q(e.requestId)}`;
  if (e.sessionId) s += `,"session_id":${q(e.sessionId)}`;
  if (e.ip) s += `,"ip":${q(e.ip)}`;
  if (e.hostname) s += `,"hostname":${q(e.hostname)}`;
  if (e.method) s += `,"method":${q(e.method)}`;
  if (e.endpoint) s += `,"endpoint":${q(e.endpoint)}`;
  s += `,"status":${e.status === null ? "null" : e.status},"success":${e.success}`;
  if (e.traceId) s += `,"trace_id":"${e.traceId}"`;
  if (e.spanId) s += `,"span_id":"${e.spanId}"`;
  if (e.service) s += `,"service":${q(e.service)}`;
  return `${s}}\n`;
}

/** The integrity fields an entry carries when its trail writer seals lines. */
export interface IntegrityFields {
  chainId: string;
  seq: number;
  prevHash: string;
  hash: string;
}

/** Appends the integrity fields to a line from entryToJsonLine (chain, seq, previous hash; then the hash of all that). */
export function sealLine(line: string, fields: IntegrityFields, hashOf: (content: string) => string): string {
  const content = `${line.slice(0, -2)},"chain_id":${q(fields.chainId)},"seq":${fields.seq},"prev_hash":"${fields.prevHash}"}`;
  fields.hash = hashOf(content);
  return `${content.slice(0, -1)},"hash":"${fields.hash}"}\n`;
}

/** The content and recorded hash of a sealed line (the inverse of sealLine), or undefined for an unsealed one. */
export function unsealLine(line: string): { content: string; hash: string } | undefined {
  const match = /,"hash":"([A-Za-z0-9_-]+)"}$/.exec(line);
  if (!match) return undefined;
  return { content: `${line.slice(0, match.index)}}`, hash: match[1] as string };
}

const TEXT_LIMIT = DEFAULT_LIMITS.maxStringLength;

function statusOf(value: unknown): number | null {
  const status = toAmount(value);
  return status !== null && Number.isInteger(status) ? status : null;
}

/**
 * An entry from a parsed JSONL object, written by auditx or by the Python
 * auditX: missing fields take their empty value, wrong types are made safe.
 */
export function entryFromDict(dict: Record<string, unknown>): AuditEntry {
  const text = (key: string) => toText(dict[key], TEXT_LIMIT);
  const entry = new AuditEntry({
    timestamp: text("timestamp"),
    level: parseLevel(dict.level) ?? LogLevel.INFO,
    module: text("module"),
    action: text("action"),
    description: text("description"),
    user: text("user"),
    userRole: text("user_role"),
    companyId: text("company_id"),
    branchId: text("branch_id"),
    entityType: text("entity_type"),
    entityId: text("entity_id"),
    referenceNo: text("reference_no"),
    amount: toAmount(dict.amount),
    currency: text("currency"),
    oldValues: toJsonObject(dict.old_values, DEFAULT_LIMITS),
    newValues: toJsonObject(dict.new_values, DEFAULT_LIMITS),
    metadata: toJsonObject(dict.metadata, DEFAULT_LIMITS),
    requestId: text("request_id"),
    sessionId: text("session_id"),
    ip: text("ip"),
    hostname: text("hostname"),
    method: text("method"),
    endpoint: text("endpoint"),
    status: statusOf(dict.status),
    success: dict.success === undefined ? true : dict.success === true || dict.success === "true",
    traceId: text("trace_id"),
    spanId: text("span_id"),
    service: text("service"),
  });
  if (typeof dict.chain_id === "string" && typeof dict.seq === "number") {
    entry.chainId = dict.chain_id;
    entry.seq = dict.seq;
    entry.prevHash = text("prev_hash");
    entry.hash = text("hash");
  }
  return entry;
}

/** The stream of an entry: security for SECURITY and CRITICAL, audit otherwise. */
export function streamOf(level: string): A.Stream {
  return isSecurityLevel(level) ? A.Stream.SECURITY : A.Stream.AUDIT;
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
  if (e.amount !== null) {
    a[A.ATTR_AMOUNT] = e.amount;
    if (e.currency) a[A.ATTR_CURRENCY] = e.currency;
  }
  a[A.ATTR_SUCCESS] = e.success;
  if (!isEmptyMap(e.oldValues)) a[A.ATTR_OLD_VALUES] = e.oldValues as AnyValueMap;
  if (!isEmptyMap(e.newValues)) a[A.ATTR_NEW_VALUES] = e.newValues as AnyValueMap;
  if (!isEmptyMap(e.metadata)) a[A.ATTR_METADATA] = e.metadata as AnyValueMap;
  return a;
}

/** "manager, approver" -> ["manager", "approver"]: user.roles is a list. */
function splitRoles(roles: string): string[] {
  return roles
    .split(",")
    .map((role) => role.trim())
    .filter(Boolean);
}

function attrText(value: AnyValue | undefined): string {
  return typeof value === "string" ? value : value === undefined || value === null ? "" : toText(value, TEXT_LIMIT);
}

/**
 * An entry rebuilt from any OTel log record (one emitted by other code into a
 * provider that runs auditx's processors): the inverse of entryToAttributes.
 */
export function entryFromLogRecord(record: ReadableLogRecord): AuditEntry {
  const a = record.attributes;
  const resource = record.resource?.attributes ?? {};
  const roles = a[A.ATTR_USER_ROLES];
  const path = attrText(a[A.ATTR_URL_PATH]);
  const query = attrText(a[A.ATTR_URL_QUERY]);
  const millis = record.hrTime[0] * 1000 + Math.floor(record.hrTime[1] / 1e6);
  const level =
    parseLevel(record.severityText) ?? (record.severityNumber === undefined ? LogLevel.INFO : levelFromSeverity(record.severityNumber));
  const spanContext = record.spanContext;
  return new AuditEntry({
    timestamp: formatTimestamp(millis),
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
    status: statusOf(a[A.ATTR_HTTP_STATUS]),
    success: a[A.ATTR_SUCCESS] !== false,
    traceId: spanContext?.traceId ?? "",
    spanId: spanContext?.spanId ?? "",
    service: attrText(resource[A.ATTR_SERVICE_NAME] as AnyValue),
  });
}

/** The stream a record belongs to: its `auditx.stream` attribute, or its level. */
export function streamOfRecord(record: ReadableLogRecord): A.Stream {
  const stream = record.attributes[A.ATTR_STREAM];
  if (stream === A.Stream.APP || stream === A.Stream.AUDIT || stream === A.Stream.SECURITY) return stream;
  return streamOf(parseLevel(record.severityText) ?? levelFromSeverity(record.severityNumber));
}
