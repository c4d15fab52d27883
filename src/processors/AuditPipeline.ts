import { join, resolve } from "node:path";
import type { LogRecordProcessor } from "@opentelemetry/sdk-logs";
import type { AuditLoggerOptions } from "../api/options.js";
import { AppLogExporter } from "../exporters/AppLogExporter.js";
import { IntegrityChain } from "../exporters/IntegrityChain.js";
import { JsonlFileExporter } from "../exporters/JsonlFileExporter.js";
import { createOtlpProcessor, isOtlpEnabled, type OtlpExportStats, type OtlpProcessorHandle } from "../exporters/otlp.js";
import type { PipelineLink } from "../internal/emitSlot.js";
import type { AuditHub } from "./AuditHub.js";
import { CallbackProcessor } from "./CallbackProcessor.js";
import { ConsoleProcessor } from "./ConsoleProcessor.js";
import { ContainedProcessor } from "./ContainedProcessor.js";
import { HubProcessor } from "./HubProcessor.js";
import { AuditRecordFilter } from "./recordFilter.js";
import { StreamRouter } from "./StreamRouter.js";

/** What a logger has done since start: `logger.stats()`. */
export interface AuditStats {
  logDir: string;
  written: { audit: number; security: number; app: number };
  rotations: number;
  errors: { write: number; onAudit: number; console: number; hub: number; report: number; processors?: number };
  otlp?: OtlpExportStats;
}

export const DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024;
export const DEFAULT_BACKUP_COUNT = 5;

/**
 * The set of auditx sinks behind one log folder: the trail files and the
 * processors that feed them, the callback, the hub, the console and OTLP.
 */
export class AuditPipeline implements PipelineLink {
  readonly logDir: string;
  readonly audit: JsonlFileExporter;
  readonly security: JsonlFileExporter;
  readonly app: AppLogExporter;
  readonly hub = new HubProcessor();
  readonly processors: LogRecordProcessor[];
  private readonly callback?: CallbackProcessor;
  private readonly console?: ConsoleProcessor;
  private readonly otlp?: OtlpProcessorHandle;
  private readonly otlpFilter?: AuditRecordFilter;
  private readonly extra: ContainedProcessor[] = [];
  private readonly counts = { audit: 0, security: 0, app: 0 };
  readonly errors = { write: 0, report: 0 };

  constructor(options: AuditLoggerOptions = {}) {
    this.logDir = resolve(options.logDir ?? "logs");
    const fileOptions = {
      maxBytes: options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES,
      backupCount: options.backupCount ?? DEFAULT_BACKUP_COUNT,
      buffered: options.buffered ?? false,
    };
    this.audit = new JsonlFileExporter({ path: join(this.logDir, "audit.jsonl"), ...fileOptions });
    this.security = new JsonlFileExporter({ path: join(this.logDir, "security.jsonl"), ...fileOptions });
    this.app = new AppLogExporter({ path: join(this.logDir, "app.log"), ...fileOptions });
    for (const file of [this.audit.file, this.security.file]) {
      file.onBackgroundError = (error) => {
        this.errors.write++;
        this.report("trail file", error);
      };
    }
    // app.log's own failures are only counted: a report would go to app.log, fail again next turn, forever.
    this.app.file.onBackgroundError = () => {
      this.errors.write++;
    };
    const chain = options.integrity
      ? new IntegrityChain(typeof options.integrity === "object" ? options.integrity.key : undefined)
      : undefined;
    const router = new StreamRouter({
      audit: this.audit,
      security: this.security,
      app: this.app,
      counts: this.counts,
      link: this,
      chain,
      beforeClose: () => Promise.all([this.callback?.shutdown(), this.otlpFilter?.shutdown()]),
    });
    const processors: LogRecordProcessor[] = [router];
    if (options.onAudit) {
      this.callback = new CallbackProcessor(options.onAudit, (source, error) => this.report(source, error));
      processors.push(this.callback);
    }
    processors.push(this.hub);
    if (options.console) {
      const target = options.console === true ? process.stdout : options.console;
      this.console = new ConsoleProcessor(target, (source, error) => this.report(source, error));
      processors.push(this.console);
    }
    if (isOtlpEnabled(options.otlp)) {
      this.otlp = createOtlpProcessor(options.otlp === undefined ? true : (options.otlp as true), (message) =>
        this.notice("otlp", message),
      );
      this.otlpFilter = new AuditRecordFilter(this.otlp.processor);
      processors.push(this.otlpFilter);
    }
    for (const processor of options.processors ?? []) {
      const contained = new ContainedProcessor(processor, (source, error) => this.report(source, error));
      this.extra.push(contained);
      processors.push(contained);
    }
    this.processors = processors;
  }

  /**
   * Writes a contained error of a sink to app.log (never throws: if app.log
   * itself fails, the error is only counted).
   */
  report(source: string, error: unknown): void {
    let message: string;
    try {
      message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    } catch {
      // A thrown value whose toString throws says nothing more than this.
      message = "(an unprintable value)";
    }
    this.writeReport("ERROR", `${source} failed: ${message}`);
  }

  /** A sink's notice that is not a failure of its own (an OTLP backlog, say), as a WARNING in app.log. */
  notice(source: string, message: string): void {
    this.writeReport("WARNING", `${source}: ${message}`);
  }

  private writeReport(level: string, message: string): void {
    try {
      this.app.write({ millis: Date.now(), level, user: "auditx", method: "N/A", message });
    } catch {
      this.errors.report++;
    }
  }

  connectHub(hub: AuditHub): () => void {
    return this.hub.connect(hub);
  }

  sync(streams: "audit" | "all"): Promise<void> {
    const files = streams === "audit" ? [this.audit.file, this.security.file] : [this.audit.file, this.security.file, this.app.file];
    return Promise.all(files.map((file) => file.sync())).then(() => undefined);
  }

  /** Writes out buffered lines now (the exit path). */
  flushFilesSync(): void {
    for (const file of [this.audit.file, this.security.file, this.app.file]) {
      try {
        file.flushSync();
      } catch {
        this.errors.write++;
      }
    }
  }

  stats(): AuditStats {
    const stats: AuditStats = {
      logDir: this.logDir,
      written: { ...this.counts },
      rotations: this.audit.file.rotations + this.security.file.rotations + this.app.file.rotations,
      errors: {
        write: this.errors.write,
        onAudit: this.callback?.errors ?? 0,
        console: this.console?.errors ?? 0,
        hub: this.hub.errors,
        report: this.errors.report,
      },
    };
    if (this.extra.length > 0) stats.errors.processors = this.extra.reduce((sum, processor) => sum + processor.errors, 0);
    if (this.otlp) stats.otlp = this.otlp.stats();
    return stats;
  }
}

const PIPELINE = Symbol.for("auditx.pipeline");

/** Processors returned by createAuditProcessors: an array to spread into any LoggerProvider. */
export type AuditProcessors = LogRecordProcessor[] & { readonly [PIPELINE]: AuditPipeline };

/**
 * auditx's processors (trail files, onAudit, hub, console, OTLP) for a
 * LoggerProvider of your own or NodeSDK's `logRecordProcessors`; then
 * `configure({ loggerProvider })` makes the audit API emit into it.
 */
export function createAuditProcessors(options: AuditLoggerOptions = {}): AuditProcessors {
  const pipeline = new AuditPipeline(options);
  const processors = [...pipeline.processors];
  Object.defineProperty(processors, PIPELINE, { value: pipeline });
  return processors as AuditProcessors;
}

/** The pipeline behind processors made by createAuditProcessors, if they were. */
export function pipelineOf(processors: LogRecordProcessor[] | undefined): AuditPipeline | undefined {
  return (processors as Partial<AuditProcessors> | undefined)?.[PIPELINE];
}
