import { basename, join } from "node:path";
import type { LogRecordProcessor } from "@opentelemetry/sdk-logs";
import { AuditEntry } from "../entry/AuditEntry.js";
import { AuditAction, LogLevel } from "../entry/enums.js";
import { AuditConfigError } from "../entry/errors.js";
import { entryToJsonLine } from "../entry/jsonl.js";
import { isSecurityLevel } from "../entry/otel.js";
import { AppLogExporter } from "../exporters/AppLogExporter.js";
import { JsonlFileExporter } from "../exporters/JsonlFileExporter.js";
import { DIGEST_FILE } from "../integrity/CheckpointLedger.js";
import { IntegrityChain } from "../integrity/IntegrityChain.js";
import type { SignedRecord } from "../integrity/signedRecord.js";
import { summarizeSegment } from "../integrity/summarizeSegment.js";
import { TrailSealer } from "../integrity/TrailSealer.js";
import { stateDirOf } from "../integrity/TrailState.js";
import { createOtlpProcessor, type OtlpProcessorHandle } from "../otlp/createOtlpProcessor.js";
import type { OtlpExportStats } from "../otlp/OtlpExportProcessor.js";
import type { AuditHub } from "../processors/AuditHub.js";
import { AuditRecordFilter } from "../processors/AuditRecordFilter.js";
import { CallbackProcessor } from "../processors/CallbackProcessor.js";
import { ConsoleProcessor } from "../processors/ConsoleProcessor.js";
import { ContainedProcessor } from "../processors/ContainedProcessor.js";
import { HubProcessor } from "../processors/HubProcessor.js";
import { StreamRouter } from "../processors/StreamRouter.js";
import type { LegalHold } from "../trail/legalHold.js";
import { RotatingFile, type TrailFileEvent } from "../trail/RotatingFile.js";
import { SpaceReserve } from "../trail/SpaceReserve.js";
import { type JanitorTrail, type PrunedSegment, TrailJanitor } from "../trail/TrailJanitor.js";
import { type DiskSpace, TrailMonitor } from "../trail/TrailMonitor.js";
import { type OwnEntry, ownEntryFields } from "./ownEntry.js";
import type { AuditSettings } from "./settings.js";
import { type ShipStats, startTrailShipper, type TrailShipper } from "./shipping.js";

/** What a logger has done since start: `logger.stats()`. */
export interface AuditStats {
  logDir: string;
  written: { audit: number; security: number; app: number };
  rotations: number;
  errors: { write: number; onAudit: number; console: number; hub: number; report: number; processors?: number };
  /** The trail's segments and incidents (this process's share). */
  trail: {
    /** Rotated segments gzip-compressed, and whole segments pruned (each announced in the trail first). */
    compressed: number;
    pruned: number;
    prunedBytes: number;
    /** Writes that failed part-way (their callers got AuditWriteError); the fragment was ended with a newline. */
    tornWrites: number;
    /** Trail files deleted, moved away or truncated while in use, each reported as a SECURITY entry. */
    incidents: { removed: number; renamed: number; truncated: number };
    /** Whether a legal hold stops pruning. */
    legalHold: boolean;
  };
  /** Free space in the log folder against the low-disk watermark (`minFreeBytes`). */
  disk?: { freeBytes: number; minFreeBytes: number; low: boolean };
  /** This writer's hash chain (integrity on). */
  integrity?: { chainId: string; seq: number; resumed: boolean; checkpoints: number };
  otlp?: OtlpExportStats;
  /** Shipping into the PostgreSQL store, when `ship` is on. */
  ship?: ShipStats;
}

/** How the pipeline writes an entry of its own, and hands a checkpoint to OTLP, through the logger bound to it. */
export interface PipelineOwner {
  /** Undefined when the logger is already shutting down (the pipeline then writes the entry itself). */
  writeOwnEntry(own: OwnEntry): AuditEntry | undefined;
  emitCheckpoint(line: string, record: SignedRecord): void;
}

/**
 * The set of auditx sinks behind one log folder: the trail files and the
 * processors that feed them, the callback, the hub, the console and OTLP; and
 * the trail's keepers: the folder monitor (files vanishing, free space), the
 * janitor (compression, retention) and, with integrity on, the sealer (the
 * writer's chain and checkpoints).
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
  private readonly settings: Readonly<AuditSettings>;
  private readonly stateDir: string;
  private readonly router: StreamRouter;
  private readonly callback?: CallbackProcessor;
  private readonly console?: ConsoleProcessor;
  private readonly otlp?: OtlpProcessorHandle;
  private readonly otlpFilter?: AuditRecordFilter;
  private readonly extra: ContainedProcessor[] = [];
  private readonly reserve: SpaceReserve;
  private readonly sealer?: TrailSealer;
  private readonly digest?: RotatingFile;
  private readonly monitor: TrailMonitor;
  private readonly janitor: TrailJanitor;
  private owner?: PipelineOwner;
  /** Checkpoints made before a logger was bound (the writer's first), handed to it when it binds. */
  private pendingCheckpoints: [string, SignedRecord][] = [];
  private backgroundClosed = false;
  private readonly shipper?: TrailShipper;
  readonly errors = { write: 0, report: 0 };
  private readonly counts = {
    compressed: 0,
    pruned: 0,
    prunedBytes: 0,
    incidents: { removed: 0, renamed: 0, truncated: 0 },
  };

  constructor(settings: Readonly<AuditSettings>) {
    this.settings = settings;
    this.logDir = settings.logDir;
    this.stateDir = stateDirOf(settings.logDir);
    SpaceReserve.removeAbandoned(this.stateDir);
    this.reserve = new SpaceReserve(this.stateDir);
    this.reserve.hold();
    const fileOptions = { ...settings.file, releaseSpace: () => this.reserve.release() };
    this.audit = new JsonlFileExporter({ path: settings.paths.audit, ...fileOptions });
    this.security = new JsonlFileExporter({ path: settings.paths.security, ...fileOptions });
    this.app = new AppLogExporter({ path: settings.paths.app, ...fileOptions });
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
    for (const file of [this.audit.file, this.security.file, this.app.file]) file.onEvent = (event) => this.onFileEvent(event);
    if (settings.integrity) {
      const integrity = settings.integrity;
      if (integrity.signingKey || integrity.forwardSecure) {
        this.digest = new RotatingFile({ path: join(settings.logDir, DIGEST_FILE), ...fileOptions });
        this.digest.onEvent = (event) => this.onFileEvent(event);
        this.digest.onBackgroundError = (error) => {
          this.errors.write++;
          this.report("checkpoint file", error);
        };
      }
      try {
        this.sealer = new TrailSealer({
          logDir: settings.logDir,
          stateDir: this.stateDir,
          audit: this.audit.file,
          auditBaseName: basename(settings.paths.audit),
          key: integrity.key,
          signingKey: integrity.signingKey,
          forwardSecure: integrity.forwardSecure ?? undefined,
          signingKeyPath: integrity.signingKeyPath,
          onWarning: (message) => queueMicrotask(() => this.writeReport("WARNING", message)),
          checkpoints: integrity.checkpoints,
          digest: this.digest,
          emit: (line, record) => this.emitCheckpoint(line, record),
          onError: (error) => this.report("checkpoint", error),
        });
        this.chain = this.sealer.chain;
      } catch (error) {
        if (error instanceof AuditConfigError) {
          this.reserve.release();
          throw error;
        }
        // The folder's state cannot be kept (no folder yet, read-only): seal anyway, as a writer without a past.
        this.chain = new IntegrityChain(integrity.key);
        this.errors.write++;
        queueMicrotask(() => this.report("integrity state", error));
      }
    }
    this.router = new StreamRouter({
      audit: this.audit,
      security: this.security,
      app: this.app,
      chain: this.chain,
      redact: settings.redact,
      // Background work ends first, so that what it writes (a pruning's announcement) still reaches every sink.
      beforeClose: async () => {
        await this.closeBackground();
        await Promise.all([this.callback?.shutdown(), this.otlpFilter?.shutdown()]);
      },
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

    const files = [this.audit.file, this.security.file, this.app.file];
    if (this.digest) files.push(this.digest);
    this.monitor = new TrailMonitor({
      dir: settings.logDir,
      files,
      watch: settings.watch,
      minFreeBytes: settings.minFreeBytes,
      onDiskSpace: (space) => queueMicrotask(() => this.onDiskSpace(space)),
    });
    this.janitor = new TrailJanitor({
      dir: settings.logDir,
      stateDir: this.stateDir,
      trails: this.janitorTrails(),
      compressAfterMs: settings.compressAfterMs,
      onCompressed: () => {
        this.counts.compressed++;
      },
      onPruned: (pruned) => {
        this.counts.pruned++;
        this.counts.prunedBytes += pruned.bytes;
      },
      onHoldChange: (hold) => this.onHoldChange(hold),
      onError: (error) => this.report("trail janitor", error),
    });
    // Leftovers of earlier runs (segments not yet compressed, retention due), soon after start.
    this.janitor.schedule(1000);
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

  /** The logger whose emit path the pipeline's own entries and checkpoints take. */
  bind(owner: PipelineOwner): void {
    this.owner = owner;
    for (const [line, record] of this.pendingCheckpoints.splice(0)) this.emitCheckpoint(line, record);
  }

  /**
   * Writes an entry about the trail itself (an incident, a pruning): through
   * the bound logger, so every sink sees it; without one, straight into the
   * trail files. Never throws; returns the entry when it was written.
   */
  writeOwnEntry(own: OwnEntry): AuditEntry | undefined {
    try {
      const written = this.owner?.writeOwnEntry(own);
      if (written) return written;
      if (this.closed) return undefined;
      const fields = ownEntryFields(this.settings, own);
      const line = this.chain ? this.chain.seal(fields) : entryToJsonLine(fields);
      this.router.writeAudit(line, isSecurityLevel(own.level));
      this.chain?.commit(fields);
      return new AuditEntry(fields);
    } catch (error) {
      this.errors.write++;
      this.report("auditx entry", error);
      return undefined;
    }
  }

  private emitCheckpoint(line: string, record: SignedRecord): void {
    if (!this.settings.otlp && this.settings.processors.length === 0 && !this.settings.loggerProvider) return;
    if (!this.owner) {
      if (this.pendingCheckpoints.length < 16) this.pendingCheckpoints.push([line, record]);
      return;
    }
    try {
      this.owner.emitCheckpoint(line, record);
    } catch (error) {
      this.report("checkpoint export", error);
    }
  }

  /** The trails the janitor keeps: audit and security (pruned only by retention or a set backupCount), app.log, checkpoints. */
  private janitorTrails(): JanitorTrail[] {
    const { retention } = this.settings;
    const announceInTrail = (pruned: PrunedSegment) => this.announcePruning(pruned);
    const noteInAppLog = async (pruned: PrunedSegment) => {
      this.writeReport("INFO", `${pruned.segment.name} deleted (${pruned.reason}: ${pruned.summary.lines} lines, ${pruned.bytes} bytes)`);
    };
    const trails: JanitorTrail[] = [
      { baseName: basename(this.settings.paths.audit), retention: retention.audit, summarize: summarizeSegment, announce: announceInTrail },
      {
        baseName: basename(this.settings.paths.security),
        retention: retention.audit,
        summarize: summarizeSegment,
        announce: announceInTrail,
      },
      { baseName: basename(this.settings.paths.app), retention: retention.app, summarize: summarizeSegment, announce: noteInAppLog },
    ];
    if (this.digest) trails.push({ baseName: DIGEST_FILE, retention: {}, summarize: summarizeSegment, announce: async () => {} });
    return trails;
  }

  /** The trail states its own pruning, durably, before the segment goes: verify then accepts the chains' new start. */
  private async announcePruning(pruned: PrunedSegment): Promise<void> {
    const { summary, segment } = pruned;
    const entry = this.writeOwnEntry({
      level: LogLevel.SECURITY,
      action: AuditAction.DELETE,
      event: "trail.segment_pruned",
      entityId: segment.id,
      description: `Trail segment ${segment.name} pruned (${pruned.reason}): ${summary.lines} entries from ${summary.firstTimestamp ?? "?"} to ${summary.lastTimestamp ?? "?"}`,
      details: {
        trail: pruned.trail,
        segment: segment.name,
        segment_id: segment.id,
        reason: pruned.reason,
        bytes: pruned.bytes,
        lines: summary.lines,
        torn: summary.torn,
        first_timestamp: summary.firstTimestamp ?? null,
        last_timestamp: summary.lastTimestamp ?? null,
        chains: summary.chains.map((chain) => ({
          chain_id: chain.chainId,
          first_seq: chain.firstSeq,
          last_seq: chain.lastSeq,
          last_hash: chain.lastHash,
        })),
      },
    });
    if (!entry) throw new Error(`the pruning of ${segment.name} could not be written into the trail: the segment is kept`);
    await this.sync("audit");
  }

  private onFileEvent(event: TrailFileEvent): void {
    switch (event.kind) {
      case "rotated":
        this.janitor.schedule(0);
        if (this.settings.compressAfterMs !== null) this.janitor.schedule(this.settings.compressAfterMs + 50);
        return;
      case "torn":
        this.monitor.checkDisk();
        queueMicrotask(() =>
          this.writeReport(
            "ERROR",
            `${basename(event.path)}: a write failed part-way (${event.bytes} bytes written, disk full?); ${event.closed ? "the fragment was ended with a newline" : "the fragment is ended before the next record"}`,
          ),
        );
        return;
      case "lock-taken-over":
        queueMicrotask(() =>
          this.writeReport(
            "WARNING",
            `${basename(event.path)}: took over a lock ${event.holder === "stale" ? "left unchanged too long" : `held by process ${event.holder.pid} on ${event.holder.host}, which is gone`}`,
          ),
        );
        return;
      default:
        this.counts.incidents[event.kind]++;
        // Outside the write that noticed it: an entry written from inside that write would be sealed in the middle of it.
        queueMicrotask(() => this.reportIncident(event));
    }
  }

  private reportIncident(event: Extract<TrailFileEvent, { kind: "removed" | "renamed" | "truncated" }>): void {
    const name = basename(event.path);
    const what =
      event.kind === "removed"
        ? `${name} was removed while in use`
        : event.kind === "renamed"
          ? `${name} was renamed${event.movedTo ? ` to ${event.movedTo}` : " or moved out of the folder"} while in use`
          : `${name} was truncated while in use (to ${event.bytes} bytes)`;
    const rewritten = event.rewritten > 0 ? `; ${event.rewritten} recent line(s) it took were written again` : "";
    if (name === basename(this.settings.paths.app)) {
      this.writeReport("WARNING", `${what}${rewritten}`);
      return;
    }
    this.writeReport("WARNING", `${what}${rewritten}: a new file was opened`);
    this.writeOwnEntry({
      level: LogLevel.SECURITY,
      action: AuditAction.DELETE,
      event: `trail.file_${event.kind}`,
      entityId: name,
      success: false,
      description: `${what}: a new one was opened${rewritten}`,
      details: { file: name, inode: event.inode, bytes: event.bytes, rewritten: event.rewritten, moved_to: event.movedTo ?? null },
    });
  }

  private onDiskSpace(space: DiskSpace): void {
    const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;
    if (!space.low) {
      this.reserve.hold();
      this.writeReport("INFO", `disk space recovered: ${mib(space.freeBytes)} free in ${this.logDir}`);
      return;
    }
    const message = `low disk space for the audit trail: ${mib(space.freeBytes)} free in ${this.logDir} (minFreeBytes ${mib(this.settings.minFreeBytes)})`;
    this.writeReport("WARNING", message);
    this.writeOwnEntry({
      level: LogLevel.SECURITY,
      action: AuditAction.ADJUST,
      event: "trail.disk_low",
      entityId: basename(this.settings.paths.audit),
      success: false,
      description: `Low disk space: ${mib(space.freeBytes)} free for the audit trail (watermark ${mib(this.settings.minFreeBytes)})`,
      details: { free_bytes: space.freeBytes, min_free_bytes: this.settings.minFreeBytes, log_dir: this.logDir },
    });
  }

  private onHoldChange(hold: LegalHold | undefined): void {
    this.writeOwnEntry({
      level: LogLevel.SECURITY,
      action: hold ? AuditAction.CREATE : AuditAction.DELETE,
      event: "trail.legal_hold",
      entityId: basename(this.settings.paths.audit),
      description: hold
        ? `Legal hold on the trail${hold.reason ? ` (${hold.reason})` : ""}: no segment will be pruned`
        : "Legal hold lifted: retention applies again",
      details: hold ? { on: true, since: hold.since, by: hold.by ?? null, reason: hold.reason ?? null } : { on: false },
    });
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
    if (this.closed) return;
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

  /** Writes out buffered lines now (the exit path), with the writer's last checkpoint. */
  flushFilesSync(): void {
    this.sealCloseSync("exit");
    for (const file of [this.audit.file, this.security.file, this.app.file, this.digest]) {
      try {
        file?.flushSync();
      } catch {
        this.errors.write++;
      }
    }
  }

  /** The writer's final checkpoint (before the sinks shut down, so OTLP still takes it). */
  sealCloseSync(reason = "shutdown"): void {
    if (!this.sealer || this.closed) return;
    try {
      this.sealer.close(reason);
    } catch (error) {
      this.errors.write++;
      this.report("checkpoint", error);
    }
  }

  /**
   * Stops the monitor and the janitor, letting a pruning under way finish (its
   * announcement is written before the writer's final checkpoint, and while
   * every sink still runs).
   */
  stopBackground(): Promise<void> {
    this.monitor.close();
    return this.janitor.close();
  }

  /** Stops the background work and closes the writer's chain; the files close after. */
  private async closeBackground(): Promise<void> {
    if (this.backgroundClosed) return;
    this.backgroundClosed = true;
    await this.stopBackground();
    this.sealCloseSync();
    this.digest?.close();
    this.reserve.release();
  }

  stats(): AuditStats {
    const disk = this.monitor.disk;
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
      trail: {
        compressed: this.counts.compressed,
        pruned: this.counts.pruned,
        prunedBytes: this.counts.prunedBytes,
        tornWrites: this.audit.file.tornWrites + this.security.file.tornWrites + this.app.file.tornWrites,
        incidents: { ...this.counts.incidents },
        legalHold: this.janitor.held,
      },
    };
    if (disk) stats.disk = { freeBytes: disk.freeBytes, minFreeBytes: this.settings.minFreeBytes, low: disk.low };
    if (this.chain) {
      stats.integrity = {
        chainId: this.chain.chainId,
        seq: this.chain.head().seq,
        resumed: this.sealer?.resumed ?? false,
        checkpoints: this.sealer?.written ?? 0,
      };
    }
    if (this.extra.length > 0) stats.errors.processors = this.extra.reduce((sum, processor) => sum + processor.errors, 0);
    if (this.otlp) stats.otlp = this.otlp.stats();
    if (this.shipper) stats.ship = this.shipper.stats();
    return stats;
  }
}
