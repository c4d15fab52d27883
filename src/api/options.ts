import type { KeyObject } from "node:crypto";
import type { LoggerProvider, LogRecordProcessor } from "@opentelemetry/sdk-logs";
import type { AuditEntry } from "../entry/AuditEntry.js";
import type { AuditAction, BusinessModule, LogLevel } from "../entry/enums.js";
import type { RedactOption } from "../entry/redaction/RedactOptions.js";
import type { OtlpOptions } from "../otlp/settings.js";
import type { ConsoleTarget } from "../processors/ConsoleProcessor.js";
import type { ShipOptions } from "./shipping.js";

export type { RedactCensor, RedactOption, RedactOptions, RedactRule } from "../entry/redaction/RedactOptions.js";
export type { OtlpOptions } from "../otlp/settings.js";
export type { PostgresClientSettings, ShipOptions } from "./shipping.js";

/** A level as the enum gives it, or in lower case as the original accepted it. */
export type LevelInput = LogLevel | Lowercase<LogLevel> | "warn" | "WARN";

/** Fields every audit method accepts; anything not given comes from RequestContext. */
export interface EntryOptions {
  level?: LevelInput;
  module?: BusinessModule | (string & {});
  action?: AuditAction | (string & {});
  user?: string;
  userRole?: string;
  companyId?: string;
  branchId?: string;
  entityType?: string;
  entityId?: string;
  referenceNo?: string;
  /** A number, a numeric string or a bigint; written with `currency` (default: the logger's). */
  amount?: number | bigint | string | null;
  currency?: string;
  oldValues?: Record<string, unknown>;
  newValues?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  requestId?: string;
  sessionId?: string;
  ip?: string;
  method?: string;
  endpoint?: string;
  status?: number | null;
  success?: boolean;
}

/** logChange: `oldValues` and `newValues` hold the fields before and after. */
export type ChangeOptions = EntryOptions;

/** logTransaction: `party` (customer or supplier) goes into metadata. */
export interface TransactionOptions extends EntryOptions {
  party?: string;
}

/** logInventory: entity `product`; name, quantity, unit and warehouse go into metadata. */
export interface InventoryOptions extends EntryOptions {
  productId?: string;
  productName?: string;
  quantity?: number;
  /** Unit of the quantity (default "pcs", as the original). */
  unit?: string;
  warehouseId?: string;
}

/** logService: entity `service_job`; customer, technician, type and status go into metadata. */
export interface ServiceOptions extends EntryOptions {
  jobId?: string;
  customerId?: string;
  technician?: string;
  serviceType?: string;
  /** The job's status ("completed"); written as metadata.status. */
  statusLabel?: string;
}

/** loggingCustom: a plain-text app.log line; other keys are appended as JSON. */
export interface CustomLogOptions {
  level?: LevelInput;
  user?: string;
  method?: string;
  [field: string]: unknown;
}

/** auditing(options, fn): what to write when the wrapped function settles. */
export interface AuditingOptions extends EntryOptions {
  description?: string;
}

/** auditing(description, options): the one entry it writes (level NORMAL unless given, as the original). */
export type AuditingEntryOptions = EntryOptions;

export interface RateLimitOptions {
  /** Failed logins from one IP allowed within the window before escalation (default 5). */
  maxAttempts?: number;
  /** Window length in ms (default 60 000: one minute, as the original). */
  windowMs?: number;
  /** Most keys tracked at once; the oldest are forgotten first (default 10 000). */
  maxKeys?: number;
}

export interface RetentionOptions {
  /** Delete segments whose newest entry is older than this many days (PCI DSS 10.5.1: 365). */
  days?: number;
  /** Delete the oldest segments while a trail (live file included) takes more bytes than this. */
  maxBytes?: number;
}

export interface IntegrityOptions {
  /** HMAC key of the hash chain: lines cannot be re-sealed without it. */
  key?: string;
  /** Ed25519 private key (PEM text, a PEM file's path, or a KeyObject; `auditx keygen`) signing checkpoints. */
  signingKey?: string | Buffer | KeyObject;
  /** When checkpoints are signed (with a signing key): at least every `intervalMs` (default 60 s), every `records` lines (default 10,000), and at shutdown. */
  checkpoints?: { intervalMs?: number; records?: number };
  /**
   * Evolve the signing key every epoch (`epochMs`, default one hour) and erase
   * the old one, so whoever takes the machine cannot sign for earlier epochs.
   * The first start needs `signingKey`; its key is then kept (evolving) in the log folder.
   */
  forwardSecure?: boolean | { epochMs?: number };
}

export interface AuditLoggerOptions {
  /** Folder of audit.jsonl, security.jsonl and app.log (default "logs"). */
  logDir?: string;
  /** File name of the audit trail in logDir (default "audit.jsonl"). */
  auditLogFile?: string;
  /** File name of the security trail in logDir (default "security.jsonl"). */
  securityLogFile?: string;
  /** File name of the text log in logDir (default "app.log"). */
  appLogFile?: string;
  /**
   * One-line summary of each record on stdout, as the original prints it, or
   * on the given stream; coloured on a TTY. Default on, unless AUDITX_CONSOLE
   * is 0/false/off/no.
   */
  console?: boolean | ConsoleTarget;
  /** Size at which a trail file rotates into a time-named segment (default 10 MiB). */
  maxFileBytes?: number;
  /**
   * Rotated segments kept per file, the oldest deleted first, each deletion
   * written into the trail and counted (default: every segment of audit.jsonl
   * and security.jsonl is kept; app.log keeps 5). 0 disables rotation.
   */
  backupCount?: number;
  /**
   * Deletes whole rotated segments of audit.jsonl and security.jsonl only as
   * this says (default: never), oldest first, each deletion first written into
   * the trail. A legal hold (`auditx hold on`) stops it.
   */
  retention?: RetentionOptions;
  /** gzip rotated segments in the background (default true; `afterMs`: how long after their last write, default 60 s). */
  compress?: boolean | { afterMs?: number };
  /** Low-disk watermark: below this many bytes free, a WARNING in app.log and a SECURITY entry (default 100 MiB; 0 turns it off). */
  minFreeBytes?: number;
  /** Watch the folder so that a deleted, moved or truncated trail file is noticed at once (default true); it is also checked every second. */
  watch?: boolean;
  /** Called with every audit entry after it is written; its errors go to app.log. */
  onAudit?: (entry: AuditEntry) => unknown;
  /** `alog*` resolve only after the line is fsync'ed (group commit: one fsync per tick). */
  fsync?: boolean;
  /**
   * Faster mode: lines are gathered and written in one write(2) per event-loop
   * turn (or 64 KiB) instead of one per call. A crash can lose the last
   * turn's lines, so it is off by default.
   */
  buffered?: boolean;
  /** Currency written beside an amount when the call gives none (default "MMK", as the original). */
  currency?: string;
  /** service.name of the records (default OTEL_SERVICE_NAME, else "auditx"). */
  serviceName?: string;
  /** Written as `hostname` (default os.hostname()). */
  hostname?: string;
  /** Brute-force detection of logSecurity and checkRateLimit(). */
  rateLimit?: RateLimitOptions;
  /**
   * Redaction, applied to every entry before any sink sees it (trail files,
   * OTLP, onAudit, the hub and viewer, the console). On by default with the
   * default list of secret names (passwords, tokens, secrets, API keys,
   * authorization, cookies, cvv, pin, otp, card numbers); a list of paths
   * adds to it; `false` turns redaction off entirely.
   */
  redact?: RedactOption;
  /** Longest string field kept whole (default 32 KiB); longer ones are cut and marked. */
  maxStringLength?: number;
  /**
   * Tamper evidence: each audit line carries chain_id, seq, prev_hash and hash
   * (a SHA-256 chain, or HMAC-SHA-256 with `key`); `auditx verify` checks it.
   */
  integrity?: boolean | IntegrityOptions;
  /** OTLP export: true for the defaults and OTEL_* variables, or settings. Also on with OTEL_LOGS_EXPORTER=otlp. */
  otlp?: boolean | OtlpOptions;
  /**
   * The logger writes its own lifecycle to the trail (default true): a
   * START entry with the effective configuration (secrets removed) before its
   * first entry, STOP at shutdown() or process exit, CONFIGURE when
   * configure() replaces it, OTLP turned on or off, and a DELETE (entity "retention") when rotation drops a backup. They are SECURITY
   * entries of user "auditx", entity type "auditx".
   */
  auditLifecycle?: boolean;
  /** Emit into this provider (which runs createAuditProcessors) instead of one of auditx's own. */
  loggerProvider?: LoggerProvider;
  /** More processors for auditx's own provider, after its own. */
  processors?: LogRecordProcessor[];
  /**
   * Ships audit.jsonl into a PostgreSQL store in the background (COPY
   * batches, a cursor in the log folder, each entry exactly once). A log call
   * never waits for PostgreSQL: while it is away, lines wait in the trail.
   */
  ship?: ShipOptions;
}
