/**
 * Names of the OTel log record attributes an audit entry maps to: semantic
 * conventions where one exists, `auditx.*` otherwise (DESIGN.md, "OTel
 * attribute mapping"). Only src/entry reads these; other floors import them from here.
 */
export const ATTR_USER_ID = "user.id";
export const ATTR_USER_ROLES = "user.roles";
export const ATTR_CLIENT_ADDRESS = "client.address";
export const ATTR_SESSION_ID = "session.id";
export const ATTR_HTTP_METHOD = "http.request.method";
export const ATTR_URL_PATH = "url.path";
export const ATTR_URL_QUERY = "url.query";
export const ATTR_HTTP_STATUS = "http.response.status_code";
export const ATTR_REQUEST_ID = "auditx.request_id";
export const ATTR_STREAM = "auditx.stream";
export const ATTR_MODULE = "auditx.module";
export const ATTR_ACTION = "auditx.action";
export const ATTR_COMPANY_ID = "auditx.company_id";
export const ATTR_BRANCH_ID = "auditx.branch_id";
export const ATTR_ENTITY_TYPE = "auditx.entity.type";
export const ATTR_ENTITY_ID = "auditx.entity.id";
export const ATTR_REFERENCE_NO = "auditx.reference_no";
export const ATTR_AMOUNT = "auditx.amount";
export const ATTR_CURRENCY = "auditx.currency";
export const ATTR_SUCCESS = "auditx.success";
export const ATTR_OLD_VALUES = "auditx.old_values";
export const ATTR_NEW_VALUES = "auditx.new_values";
export const ATTR_METADATA = "auditx.metadata";
/** The entry's unique, time-ordered id (a UUIDv7). */
export const ATTR_LOG_RECORD_UID = "log.record.uid";
/** The extra fields of an app.log message (loggingCustom keys). */
export const ATTR_APP_FIELDS = "auditx.fields";
/** "custom" on a loggingCustom line (written with user and method); absent on other app messages. */
export const ATTR_APP_FORMAT = "auditx.app.format";
/** service and hostname travel on the Resource; these keep them for records from elsewhere. */
export const ATTR_HOST_NAME = "host.name";
export const ATTR_SERVICE_NAME = "service.name";

/** The three streams a record can belong to. */
export const Stream = { AUDIT: "audit", SECURITY: "security", APP: "app" } as const;
export type Stream = (typeof Stream)[keyof typeof Stream];

/** The OTel event name of each stream's records (OTel Events need one). */
export const EVENT_NAME: Readonly<Record<Stream, string>> = {
  audit: "auditx.audit",
  security: "auditx.security",
  app: "auditx.app",
};

/**
 * A writer's signed checkpoint travels over OTLP as a record of its own
 * (`auditx.stream` = "checkpoint", body = the digest-file line as signed), so
 * that the SIEM keeps copies of them off the host. It is not an audit entry:
 * trail files, callbacks and the hub leave it alone.
 */
export const CHECKPOINT_STREAM = "checkpoint";
export const CHECKPOINT_EVENT_NAME = "auditx.checkpoint";
/** The attributes of a checkpoint record (it carries no entry fields). */
export const CHECKPOINT_ATTRIBUTES = {
  type: "auditx.checkpoint.type",
  writer: "auditx.checkpoint.writer",
  number: "auditx.checkpoint.n",
} as const;
