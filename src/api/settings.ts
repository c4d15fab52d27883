/**
 * The options of a logger resolved once, at construction (as pino resolves
 * its options): validated, defaults applied, the environment read. Every part
 * of the logger and its pipeline reads these frozen settings; no default lives
 * anywhere else.
 */
import type { KeyObject } from "node:crypto";
import { hostname as osHostname } from "node:os";
import { basename, join, resolve } from "node:path";
import type { Resource } from "@opentelemetry/resources";
import type { LoggerProvider, LogRecordProcessor } from "@opentelemetry/sdk-logs";
import type { AuditEntry } from "../entry/AuditEntry.js";
import { ATTR_SERVICE_NAME } from "../entry/attributes.js";
import { AuditConfigError } from "../entry/errors.js";
import type { JsonObject } from "../entry/json.js";
import { DEFAULT_LIMITS, type NormalizeLimits } from "../entry/normalize.js";
import { Redactor } from "../entry/redaction/Redactor.js";
import { loadPrivateKey } from "../integrity/signingKeys.js";
import { createAuditResource, DEFAULT_SERVICE_NAME } from "../otlp/resource.js";
import { isOtlpEnabled, type OtlpSettings, resolveOtlpSettings } from "../otlp/settings.js";
import type { ConsoleTarget } from "../processors/ConsoleProcessor.js";
import type { AuditLoggerOptions } from "./options.js";
import { resolveShipSettings, type ShipSettings } from "./shipping.js";

export const DEFAULT_LOG_DIR = "logs";
const DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024;
/** app.log is not the audit trail: it keeps the original's 5 backups unless told otherwise. */
const DEFAULT_APP_LOG_BACKUPS = 5;
const DEFAULT_COMPRESS_AFTER_MS = 60_000;
const DEFAULT_MIN_FREE_BYTES = 100 * 1024 * 1024;
const DEFAULT_CHECKPOINT_INTERVAL_MS = 60_000;
const DEFAULT_CHECKPOINT_RECORDS = 10_000;
const DEFAULT_EPOCH_MS = 3_600_000;
/** The original auditX's default currency. */
const DEFAULT_CURRENCY = "MMK";
/** The original's trail file names. */
export const DEFAULT_TRAIL_FILES = { audit: "audit.jsonl", security: "security.jsonl", app: "app.log" } as const;
/** The original's brute-force limit: 5 failed attempts in 60 seconds. */
const DEFAULT_RATE_LIMIT = { maxAttempts: 5, windowMs: 60_000, maxKeys: 10_000 } as const;

export interface RateLimitSettings {
  maxAttempts: number;
  windowMs: number;
  maxKeys: number;
}

/** When whole rotated segments of a trail may be deleted; nothing set: never. */
export interface RetentionSettings {
  days?: number;
  maxBytes?: number;
  /** Rotated segments kept (backupCount). */
  keep?: number;
}

export interface IntegritySettings {
  key?: string;
  signingKey?: KeyObject;
  /** Where the signing key was read from, when given as a file (forward security wants it gone after the first start). */
  signingKeyPath?: string;
  checkpoints: { intervalMs: number; records: number };
  forwardSecure: { epochMs: number } | null;
}

export interface AuditSettings {
  /** Absolute path of the trail folder. */
  logDir: string;
  /** Absolute paths of the three trail files. */
  paths: { audit: string; security: string; app: string };
  /** Rotation size (0: no rotation) and write mode of every trail file. */
  file: { maxBytes: number; buffered: boolean };
  /** When rotated segments are deleted: audit.jsonl and security.jsonl, and app.log. */
  retention: { audit: RetentionSettings; app: RetentionSettings };
  /** gzip rotated segments this long after their last write; null: never. */
  compressAfterMs: number | null;
  /** Low-disk watermark in bytes free (0: off). */
  minFreeBytes: number;
  /** Watch the log folder for trail files deleted, moved or truncated under the writer. */
  watch: boolean;
  /** The trail's `service` field ("" when none is configured anywhere). */
  service: string;
  hostname: string;
  currency: string;
  limits: NormalizeLimits;
  /** The compiled redaction rules; null when `redact: false`. */
  redact: Redactor | null;
  fsync: boolean;
  rateLimit: RateLimitSettings;
  /** Hash-chain sealing of audit lines: null when off; `key` for HMAC; a signing key for checkpoints. */
  integrity: IntegritySettings | null;
  /** The OTLP path, null when off. */
  otlp: OtlpSettings | null;
  console: ConsoleTarget | null;
  onAudit: ((entry: AuditEntry) => unknown) | null;
  /** More processors for auditx's own provider, after its own. */
  processors: readonly LogRecordProcessor[];
  /** The caller's provider to emit into, instead of auditx's own. */
  loggerProvider: LoggerProvider | null;
  /** The Resource of auditx's own provider. */
  resource: Resource;
  /** Whether the logger writes its own start, stop and configuration changes to the trail. */
  auditLifecycle: boolean;
  /** Shipping of audit.jsonl into a PostgreSQL store, null when off. */
  ship: ShipSettings | null;
}

function nonNegative(name: keyof AuditLoggerOptions, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new AuditConfigError(`${name} must be a number >= 0, got ${JSON.stringify(value)}`);
  }
  return value;
}

function positive(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new AuditConfigError(`${name} must be a number > 0, got ${JSON.stringify(value)}`);
  }
  return value;
}

function retentionSettings(options: AuditLoggerOptions): RetentionSettings {
  const retention = options.retention;
  if (retention !== undefined && (retention === null || typeof retention !== "object")) {
    throw new AuditConfigError("retention must be an object: { days, maxBytes }");
  }
  const policy: RetentionSettings = {};
  if (retention?.days !== undefined) policy.days = positive("retention.days", retention.days, 0);
  if (retention?.maxBytes !== undefined) policy.maxBytes = positive("retention.maxBytes", retention.maxBytes, 0);
  if (options.backupCount !== undefined && options.backupCount > 0) policy.keep = Math.floor(options.backupCount);
  return policy;
}

function compressAfter(option: AuditLoggerOptions["compress"]): number | null {
  if (option === false) return null;
  if (option === undefined || option === true) return DEFAULT_COMPRESS_AFTER_MS;
  if (typeof option !== "object" || option === null) throw new AuditConfigError("compress must be true, false or { afterMs }");
  if (option.afterMs === undefined) return DEFAULT_COMPRESS_AFTER_MS;
  if (typeof option.afterMs !== "number" || !Number.isFinite(option.afterMs) || option.afterMs < 0) {
    throw new AuditConfigError(`compress.afterMs must be a number >= 0, got ${JSON.stringify(option.afterMs)}`);
  }
  return option.afterMs;
}

function integritySettings(option: AuditLoggerOptions["integrity"]): IntegritySettings | null {
  if (!option) return null;
  const given = typeof option === "object" ? option : {};
  if (given.key !== undefined && (typeof given.key !== "string" || given.key === "")) {
    throw new AuditConfigError("integrity.key must be a non-empty string");
  }
  const forward = given.forwardSecure;
  return {
    key: given.key,
    signingKey: given.signingKey === undefined ? undefined : loadPrivateKey(given.signingKey),
    signingKeyPath:
      typeof given.signingKey === "string" && !given.signingKey.includes("-----BEGIN") ? resolve(given.signingKey) : undefined,
    checkpoints: {
      intervalMs: positive("integrity.checkpoints.intervalMs", given.checkpoints?.intervalMs, DEFAULT_CHECKPOINT_INTERVAL_MS),
      records: Math.floor(positive("integrity.checkpoints.records", given.checkpoints?.records, DEFAULT_CHECKPOINT_RECORDS)),
    },
    forwardSecure: forward
      ? {
          epochMs: positive("integrity.forwardSecure.epochMs", typeof forward === "object" ? forward.epochMs : undefined, DEFAULT_EPOCH_MS),
        }
      : null,
  };
}

function rateLimitSettings(options: AuditLoggerOptions["rateLimit"] = {}): RateLimitSettings {
  return {
    maxAttempts: Math.max(1, Math.floor(options.maxAttempts ?? DEFAULT_RATE_LIMIT.maxAttempts)),
    windowMs: Math.max(1, Math.floor(options.windowMs ?? DEFAULT_RATE_LIMIT.windowMs)),
    maxKeys: Math.max(1, Math.floor(options.maxKeys ?? DEFAULT_RATE_LIMIT.maxKeys)),
  };
}

/**
 * A trail file name: a plain name inside logDir (rotation puts its segments
 * beside it, and every reader lists them by this name).
 */
export function trailFileName(name: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || value === "" || value === "." || value === ".." || /[/\\]/.test(value) || value.includes("\0")) {
    throw new AuditConfigError(`${name} must be a file name inside logDir (no folder), got ${JSON.stringify(value)}`);
  }
  return value;
}

function trailFiles(options: AuditLoggerOptions): { audit: string; security: string; app: string } {
  const files = {
    audit: trailFileName("auditLogFile", options.auditLogFile, DEFAULT_TRAIL_FILES.audit),
    security: trailFileName("securityLogFile", options.securityLogFile, DEFAULT_TRAIL_FILES.security),
    app: trailFileName("appLogFile", options.appLogFile, DEFAULT_TRAIL_FILES.app),
  };
  if (new Set([files.audit, files.security, files.app]).size < 3) {
    throw new AuditConfigError(
      `auditLogFile, securityLogFile and appLogFile must be three different files, got ${JSON.stringify(Object.values(files))}`,
    );
  }
  return files;
}

/**
 * Console output: the option, else AUDITX_CONSOLE (off with 0/false/off/no),
 * else on, as in the original.
 */
function consoleTarget(option: AuditLoggerOptions["console"], env: NodeJS.ProcessEnv): ConsoleTarget | null {
  if (option !== undefined) {
    if (option === false) return null;
    if (option === true) return process.stdout;
    if (option === null || typeof option !== "object" || typeof option.write !== "function") {
      throw new AuditConfigError("console must be true, false or a stream with write()");
    }
    return option;
  }
  const setting = (env.AUDITX_CONSOLE ?? "").trim().toLowerCase();
  if (setting === "") return process.stdout;
  if (["0", "false", "off", "no"].includes(setting)) return null;
  if (["1", "true", "on", "yes"].includes(setting)) return process.stdout;
  throw new AuditConfigError(`AUDITX_CONSOLE must be on or off (1/0, true/false, yes/no), got ${JSON.stringify(env.AUDITX_CONSOLE)}`);
}

/** The trail's service name: the option, else OTEL_SERVICE_NAME, else a service.name in OTEL_RESOURCE_ATTRIBUTES. */
function serviceOf(options: AuditLoggerOptions, resource: Resource, env: NodeJS.ProcessEnv): string {
  if (options.serviceName) return options.serviceName;
  if (env.OTEL_SERVICE_NAME) return env.OTEL_SERVICE_NAME;
  const fromResource = resource.attributes[ATTR_SERVICE_NAME];
  return typeof fromResource === "string" && fromResource !== DEFAULT_SERVICE_NAME ? fromResource : "";
}

/** Validates the options and resolves every setting; throws AuditConfigError on a bad option. */
export function resolveSettings(options: AuditLoggerOptions = {}, env: NodeJS.ProcessEnv = process.env): Readonly<AuditSettings> {
  if (options.logDir !== undefined && (typeof options.logDir !== "string" || options.logDir === "")) {
    throw new AuditConfigError("logDir must be a non-empty string");
  }
  if (options.onAudit !== undefined && typeof options.onAudit !== "function") throw new AuditConfigError("onAudit must be a function");
  const logDir = resolve(options.logDir ?? DEFAULT_LOG_DIR);
  const maxBytes = nonNegative("maxFileBytes", options.maxFileBytes, DEFAULT_MAX_FILE_BYTES);
  const backupCount = nonNegative("backupCount", options.backupCount, Number.POSITIVE_INFINITY);
  const maxStringLength = nonNegative("maxStringLength", options.maxStringLength, DEFAULT_LIMITS.maxStringLength);
  const resource = createAuditResource({ serviceName: options.serviceName, hostname: options.hostname });
  const files = trailFiles(options);
  const settings: AuditSettings = {
    logDir,
    paths: {
      audit: join(logDir, files.audit),
      security: join(logDir, files.security),
      app: join(logDir, files.app),
    },
    // backupCount 0 disables rotation, as in the original (and Python's RotatingFileHandler).
    file: { maxBytes: backupCount === 0 ? 0 : maxBytes, buffered: options.buffered ?? false },
    retention: {
      audit: retentionSettings(options),
      app: {
        keep: options.backupCount !== undefined && options.backupCount > 0 ? Math.floor(options.backupCount) : DEFAULT_APP_LOG_BACKUPS,
      },
    },
    compressAfterMs: compressAfter(options.compress),
    minFreeBytes: nonNegative("minFreeBytes", options.minFreeBytes, DEFAULT_MIN_FREE_BYTES),
    watch: options.watch ?? true,
    service: serviceOf(options, resource, env),
    hostname: options.hostname ?? osHostname(),
    currency: options.currency ?? DEFAULT_CURRENCY,
    limits: { ...DEFAULT_LIMITS, maxStringLength },
    redact: Redactor.compile(options.redact),
    fsync: options.fsync ?? false,
    rateLimit: rateLimitSettings(options.rateLimit),
    integrity: integritySettings(options.integrity),
    otlp: isOtlpEnabled(options.otlp, env) ? resolveOtlpSettings(options.otlp === undefined ? true : (options.otlp as true)) : null,
    console: consoleTarget(options.console, env),
    onAudit: options.onAudit ?? null,
    processors: Object.freeze([...(options.processors ?? [])]),
    loggerProvider: options.loggerProvider ?? null,
    resource,
    auditLifecycle: options.auditLifecycle ?? true,
    ship: resolveShipSettings(options.ship),
  };
  if (typeof settings.auditLifecycle !== "boolean") throw new AuditConfigError("auditLifecycle must be a boolean");
  return Object.freeze(settings);
}

/**
 * The effective configuration, as the logger's start and configuration
 * entries record it: every setting that changes what is written or where,
 * and no secret (an integrity or HMAC key, a collector's credentials or
 * header values are never in it; OTLP headers are listed by name).
 */
export function describeSettings(settings: Readonly<AuditSettings>): JsonObject {
  const { otlp } = settings;
  return {
    logDir: settings.logDir,
    files: { audit: basename(settings.paths.audit), security: basename(settings.paths.security), app: basename(settings.paths.app) },
    maxFileBytes: settings.file.maxBytes,
    retention: { audit: { ...settings.retention.audit }, app: { ...settings.retention.app } },
    compressAfterMs: settings.compressAfterMs,
    buffered: settings.file.buffered,
    fsync: settings.fsync,
    service: settings.service,
    hostname: settings.hostname,
    currency: settings.currency,
    maxStringLength: settings.limits.maxStringLength,
    rateLimit: { ...settings.rateLimit },
    integrity: settings.integrity ? (settings.integrity.key ? "hmac-sha256" : "sha256") : false,
    redact: settings.redact ? settings.redact.describe() : false,
    otlp: otlp
      ? {
          endpoint: otlp.endpoint,
          headers: otlp.headerNames,
          maxQueueSize: otlp.maxQueueSize,
          maxExportBatchSize: otlp.maxExportBatchSize,
          scheduledDelayMillis: otlp.scheduledDelayMillis,
        }
      : false,
    console: settings.console !== null,
    onAudit: settings.onAudit !== null,
    processors: settings.processors.length,
    loggerProvider: settings.loggerProvider ? "the caller's" : "auditx's own",
  };
}
