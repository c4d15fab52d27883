import { basename } from "node:path";
import type { LogRecordProcessor } from "@opentelemetry/sdk-logs";
import { AppLogExporter } from "../exporters/AppLogExporter.js";
import { JsonlFileExporter } from "../exporters/JsonlFileExporter.js";
import { IntegrityChain } from "../integrity/IntegrityChain.js";
import { createOtlpProcessor, type OtlpProcessorHandle } from "../otlp/createOtlpProcessor.js";
import type { OtlpExportStats } from "../otlp/OtlpExportProcessor.js";
import type { AuditHub } from "../processors/AuditHub.js";
import { AuditRecordFilter } from "../processors/AuditRecordFilter.js";
import { CallbackProcessor } from "../processors/CallbackProcessor.js";
import { ConsoleProcessor } from "../processors/ConsoleProcessor.js";
import { ContainedProcessor } from "../processors/ContainedProcessor.js";
import { HubProcessor } from "../processors/HubProcessor.js";
import { StreamRouter } from "../processors/StreamRouter.js";
import type { AuditSettings } from "./settings.js";
import { type ShipStats, startTrailShipper, type TrailShipper } from "./shipping.js";

/** What a logger has done since start: `logger.stats()`. */
export interface AuditStats {
  logDir: string;
  written: { audit: number; security: number; app: number };
  rotations: number;
  errors: { write: number; onAudit: number; console: number; hub: number; report: number; processors?: number };
  otlp?: OtlpExportStats;
  /** Shipping into the PostgreSQL store, when `ship` is on. */
  ship?: ShipStats;
}

/**
 * The set of auditx sinks behind one log folder: the trail files and the
 * processors that feed them, the callback, the hub, the console and OTLP.
 */
export class AuditPipeline {
  readonly logDir: string;
  readonly audit: JsonlFileExporter;
  readonly security: JsonlFileExporter;
  readonly app: AppLogExporter;
  readonly hub = new HubProcessor();
  readonly processors: LogRecordProcessor[];
  /** The hash chain sealing audit lines, when integrity is on. */
  readonly chain?: IntegrityChain;
  private readonly router: StreamRouter;
  private readonly callback?: CallbackProcessor;
  private readonly console?: ConsoleProcessor;
  private readonly otlp?: OtlpProcessorHandle;
  private readonly otlpFilter?: AuditRecordFilter;
  private readonly extra: ContainedProcessor[] = [];
  private readonly shipper?: TrailShipper;
  readonly errors = { write: 0, report: 0 };

  constructor(settings: Readonly<AuditSettings>) {
    this.logDir = settings.logDir;
    this.audit = new JsonlFileExporter({ path: settings.paths.audit, ...settings.file });
    this.security = new JsonlFileExporter({ path: settings.paths.security, ...settings.file });
    this.app = new AppLogExporter({ path: settings.paths.app, ...settings.file });
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
    if (settings.integrity) this.chain = new IntegrityChain(settings.integrity.key);
    this.router = new StreamRouter({
      audit: this.audit,
      security: this.security,
      app: this.app,
      chain: this.chain,
      beforeClose: () => Promise.all([this.callback?.shutdown(), this.otlpFilter?.shutdown()]),
      afterClose: async () => this.shipper?.close(settings.ship?.drainMs ?? 0),
    });
    const processors: LogRecordProcessor[] = [this.router];
    if (settings.onAudit) {
      this.callback = new CallbackProcessor(settings.onAudit, (source, error) => this.report(source, error));
      processors.push(this.callback);
    }
    processors.push(this.hub);
    if (settings.console) {
      this.console = new ConsoleProcessor(settings.console, (source, error) => this.report(source, error));
      processors.push(this.console);
    }
    if (settings.otlp) {
      this.otlp = createOtlpProcessor(settings.otlp, (message) => this.notice("otlp", message));
      this.otlpFilter = new AuditRecordFilter(this.otlp.processor);
      processors.push(this.otlpFilter);
    }
    for (const processor of settings.processors) {
      const contained = new ContainedProcessor(processor, (source, error) => this.report(source, error));
      this.extra.push(contained);
      processors.push(contained);
    }
    this.processors = processors;
    if (settings.ship) {
      this.shipper = startTrailShipper(settings.ship, {
        logDir: settings.logDir,
        trail: basename(settings.paths.audit),
        hostname: settings.hostname,
        report: (level, message) =>
          this.writeReport(level === "error" ? "ERROR" : level === "warning" ? "WARNING" : "INFO", `shipping: ${message}`),
      });
    }
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
      this.app.write({ millis: Date.now(), level, user: "auditx", method: "N/A", message, custom: false });
    } catch {
      this.errors.report++;
    }
  }

  connectHub(hub: AuditHub): () => void {
    return this.hub.connect(hub);
  }

  /** Whether the trail files are closed (the provider running these processors was shut down). */
  get closed(): boolean {
    return this.audit.file.closed;
  }

  /** Resolves once the named streams' files are on stable storage. */
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
      written: { ...this.router.written },
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
    if (this.shipper) stats.ship = this.shipper.stats();
    return stats;
  }
}
