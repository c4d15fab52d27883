/**
 * The options of a logger resolved once, at construction (as pino resolves
 * its options): validated, defaults applied, the environment read. Every part
 * of the logger and its pipeline reads these frozen settings; no default lives
 * anywhere else.
 */
import { hostname as osHostname } from "node:os";
import { join, resolve } from "node:path";
import type { Resource } from "@opentelemetry/resources";
import type { LoggerProvider, LogRecordProcessor } from "@opentelemetry/sdk-logs";
import type { AuditEntry } from "../entry/AuditEntry.js";
import { ATTR_SERVICE_NAME } from "../entry/attributes.js";
import { AuditConfigError } from "../entry/errors.js";
import { DEFAULT_LIMITS, type NormalizeLimits } from "../entry/normalize.js";
import { createAuditResource, DEFAULT_SERVICE_NAME } from "../otlp/resource.js";
import { isOtlpEnabled, type OtlpSettings, resolveOtlpSettings } from "../otlp/settings.js";
import type { ConsoleTarget } from "../processors/ConsoleProcessor.js";
import type { AuditLoggerOptions } from "./options.js";
import { resolveShipSettings, type ShipSettings } from "./shipping.js";

export const DEFAULT_LOG_DIR = "logs";
const DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024;
const DEFAULT_BACKUP_COUNT = 5;
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

export interface AuditSettings {
  /** Absolute path of the trail folder. */
  logDir: string;
  /** Absolute paths of the three trail files. */
  paths: { audit: string; security: string; app: string };
  file: { maxBytes: number; backupCount: number; buffered: boolean };
  /** The trail's `service` field ("" when none is configured anywhere). */
  service: string;
  hostname: string;
  currency: string;
  limits: NormalizeLimits;
  fsync: boolean;
  rateLimit: RateLimitSettings;
  /** Hash-chain sealing of audit lines: null when off; `key` for HMAC. */
  integrity: { key?: string } | null;
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
  const backupCount = nonNegative("backupCount", options.backupCount, DEFAULT_BACKUP_COUNT);
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
    file: { maxBytes, backupCount, buffered: options.buffered ?? false },
    service: serviceOf(options, resource, env),
    hostname: options.hostname ?? osHostname(),
    currency: options.currency ?? DEFAULT_CURRENCY,
    limits: { ...DEFAULT_LIMITS, maxStringLength },
    fsync: options.fsync ?? false,
    rateLimit: rateLimitSettings(options.rateLimit),
    integrity: options.integrity ? (typeof options.integrity === "object" ? { key: options.integrity.key } : {}) : null,
    otlp: isOtlpEnabled(options.otlp, env) ? resolveOtlpSettings(options.otlp === undefined ? true : (options.otlp as true)) : null,
    console: consoleTarget(options.console, env),
    onAudit: options.onAudit ?? null,
    processors: Object.freeze([...(options.processors ?? [])]),
    loggerProvider: options.loggerProvider ?? null,
    resource,
    ship: resolveShipSettings(options.ship),
  };
  return Object.freeze(settings);
}
