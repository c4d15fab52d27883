/**
 * The settings of the OTLP path, resolved once: the options first, then the
 * standard OTEL_* variables, then the defaults.
 */
import { getNumberFromEnv, getStringFromEnv } from "@opentelemetry/core";
import { CompressionAlgorithm, type OTLPExporterNodeConfigBase } from "@opentelemetry/otlp-exporter-base";
import { convertLegacyHttpOptions } from "@opentelemetry/otlp-exporter-base/node-http";
import { AuditConfigError } from "../entry/errors.js";
import { displayUrl, urlSecrets } from "../internal/displayUrl.js";
import { SecretScrubber } from "../internal/SecretScrubber.js";

/** OTLP/HTTP export to an OpenTelemetry Collector or a SIEM. */
export interface OtlpOptions {
  /** The logs endpoint (default from OTEL_EXPORTER_OTLP_LOGS_ENDPOINT / _ENDPOINT, else http://localhost:4318/v1/logs). */
  url?: string;
  headers?: Record<string, string>;
  compression?: "gzip" | "none";
  /** Per-export timeout in ms. */
  timeoutMillis?: number;
  /** BatchLogRecordProcessor settings. */
  maxQueueSize?: number;
  maxExportBatchSize?: number;
  scheduledDelayMillis?: number;
  exportTimeoutMillis?: number;
  /** Longest wait of flush()/shutdown() for the collector, even when it hangs (default 5000). */
  flushTimeoutMillis?: number;
  /** Shortest interval between two app.log reports of failed or dropped exports (default 60 000). */
  reportIntervalMillis?: number;
}

/** Defaults of the OTLP path; OTEL_BLRP_* variables and the options override them. */
const OTLP_DEFAULTS = {
  maxQueueSize: 2048,
  maxExportBatchSize: 512,
  scheduledDelayMillis: 1000,
  exportTimeoutMillis: 30_000,
  flushTimeoutMillis: 5000,
  reportIntervalMillis: 60_000,
} as const;

/** Whether OTLP export is on: the option, else OTEL_LOGS_EXPORTER=otlp. */
export function isOtlpEnabled(option: boolean | OtlpOptions | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  if (option !== undefined) return option !== false;
  return (env.OTEL_LOGS_EXPORTER ?? "").split(",").some((name) => name.trim().toLowerCase() === "otlp");
}

function positiveInteger(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new AuditConfigError(`otlp.${name} must be a number > 0, got ${JSON.stringify(value)}`);
  }
  return Math.ceil(value);
}

function validUrl(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new AuditConfigError(`otlp.url must be a string, got ${JSON.stringify(value)}`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // The text is not shown: a mistyped URL may still hold a password.
    throw new AuditConfigError(`otlp.url is not a URL (${value.length} characters)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new AuditConfigError(`otlp.url must be http: or https:, got ${JSON.stringify(url.protocol)} in ${displayUrl(value)}`);
  }
  return value;
}

function validHeaders(value: unknown): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new AuditConfigError("otlp.headers must be an object of strings");
  }
  const headers: Record<string, string> = {};
  for (const [name, text] of Object.entries(value)) {
    // A header value with a line break would let a value forge another header.
    if (typeof text !== "string" || /[\r\n]/.test(text) || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      throw new AuditConfigError(`otlp.headers[${JSON.stringify(name)}] must be a valid header name with a one-line string value`);
    }
    headers[name] = text;
  }
  return headers;
}

function compressionOf(value: unknown): CompressionAlgorithm | undefined {
  if (value === undefined) return undefined;
  if (value === "gzip") return CompressionAlgorithm.GZIP;
  if (value === "none") return CompressionAlgorithm.NONE;
  throw new AuditConfigError(`otlp.compression must be "gzip" or "none", got ${JSON.stringify(value)}`);
}

/** The values of an OTEL_EXPORTER_OTLP_*HEADERS variable (`name=value,...`, values percent-encoded), raw and decoded. */
function headerValuesOf(variable: string | undefined): string[] {
  if (!variable) return [];
  const values: string[] = [];
  for (const pair of variable.split(",")) {
    const equals = pair.indexOf("=");
    if (equals === -1) continue;
    const raw = pair.slice(equals + 1).trim();
    values.push(raw);
    try {
      values.push(decodeURIComponent(raw));
    } catch {
      // Kept raw only.
    }
  }
  return values;
}

function headerNamesOf(variable: string | undefined): string[] {
  if (!variable) return [];
  return variable
    .split(",")
    .map((pair) => pair.slice(0, Math.max(0, pair.indexOf("="))).trim())
    .filter((name) => name !== "");
}

/**
 * Every secret the OTLP path is configured with (the URL's user-info and
 * credential parameters, header values from the options and OTEL_* headers
 * variables), each also as its parts (the token of "Bearer <token>").
 */
function configuredSecrets(url: string, headers: Record<string, string> | undefined): string[] {
  const values = [
    ...Object.values(headers ?? {}),
    ...headerValuesOf(getStringFromEnv("OTEL_EXPORTER_OTLP_HEADERS")),
    ...headerValuesOf(getStringFromEnv("OTEL_EXPORTER_OTLP_LOGS_HEADERS")),
  ];
  const secrets = [...urlSecrets(url)];
  for (const value of values) secrets.push(value, ...value.split(/\s+/).filter((part) => part.length >= 8));
  return secrets;
}

/** The settings of the OTLP path: options first, then the standard OTEL_* variables, then the defaults. */
export function resolveOtlpSettings(option: true | OtlpOptions): OtlpSettings {
  const o: OtlpOptions = option === true ? {} : option;
  if (o === null || typeof o !== "object") throw new AuditConfigError("otlp must be true, false or an object of settings");
  const exporterConfig: OTLPExporterNodeConfigBase = {};
  const url = validUrl(o.url);
  if (url !== undefined) exporterConfig.url = url;
  const headers = validHeaders(o.headers);
  if (headers !== undefined) exporterConfig.headers = headers;
  const compression = compressionOf(o.compression);
  if (compression !== undefined) exporterConfig.compression = compression;
  if (o.timeoutMillis !== undefined) exporterConfig.timeoutMillis = positiveInteger("timeoutMillis", o.timeoutMillis, 10_000);
  // The exporter merges the same way (code, then OTEL_EXPORTER_OTLP_[LOGS_]*); this copy only tells where it sends.
  const endpoint = convertLegacyHttpOptions(exporterConfig, "LOGS", "v1/logs", {}).url;
  const maxQueueSize = positiveInteger(
    "maxQueueSize",
    o.maxQueueSize,
    getNumberFromEnv("OTEL_BLRP_MAX_QUEUE_SIZE") ?? OTLP_DEFAULTS.maxQueueSize,
  );
  const maxExportBatchSize = Math.min(
    maxQueueSize,
    positiveInteger(
      "maxExportBatchSize",
      o.maxExportBatchSize,
      getNumberFromEnv("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE") ?? OTLP_DEFAULTS.maxExportBatchSize,
    ),
  );
  const headerNames = [
    ...new Set([
      ...Object.keys(headers ?? {}),
      ...headerNamesOf(getStringFromEnv("OTEL_EXPORTER_OTLP_HEADERS")),
      ...headerNamesOf(getStringFromEnv("OTEL_EXPORTER_OTLP_LOGS_HEADERS")),
    ]),
  ];
  return {
    exporterConfig,
    endpoint: displayUrl(endpoint),
    headerNames,
    scrubber: new SecretScrubber(configuredSecrets(endpoint, headers)),
    maxQueueSize,
    maxExportBatchSize,
    scheduledDelayMillis: positiveInteger(
      "scheduledDelayMillis",
      o.scheduledDelayMillis,
      getNumberFromEnv("OTEL_BLRP_SCHEDULE_DELAY") ?? OTLP_DEFAULTS.scheduledDelayMillis,
    ),
    exportTimeoutMillis: positiveInteger(
      "exportTimeoutMillis",
      o.exportTimeoutMillis,
      getNumberFromEnv("OTEL_BLRP_EXPORT_TIMEOUT") ?? OTLP_DEFAULTS.exportTimeoutMillis,
    ),
    flushTimeoutMillis: positiveInteger("flushTimeoutMillis", o.flushTimeoutMillis, OTLP_DEFAULTS.flushTimeoutMillis),
    reportIntervalMillis: positiveInteger("reportIntervalMillis", o.reportIntervalMillis, OTLP_DEFAULTS.reportIntervalMillis),
  };
}

/** The resolved settings of the OTLP path. */
export interface OtlpSettings {
  exporterConfig: OTLPExporterNodeConfigBase;
  /** Where records go, as it may be shown (stats, messages): without user-info or credential parameters. */
  endpoint: string;
  /** The names of the headers sent (their values are never shown). */
  headerNames: string[];
  /** Removes the configured secrets from text about the OTLP path (export errors). */
  scrubber: SecretScrubber;
  maxQueueSize: number;
  maxExportBatchSize: number;
  scheduledDelayMillis: number;
  exportTimeoutMillis: number;
  flushTimeoutMillis: number;
  reportIntervalMillis: number;
}
