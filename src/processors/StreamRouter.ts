import type { Context } from "@opentelemetry/api";
import type { LogRecordProcessor, SdkLogRecord } from "@opentelemetry/sdk-logs";
import { Stream } from "../entry/attributes.js";
import { entryToJsonLine } from "../entry/jsonl.js";
import {
  appMessageFromLogRecord,
  entryFieldsFromLogRecord,
  isAuditxRecord,
  isCheckpointRecord,
  isSecurityLevel,
  replaceEntryAttributes,
  streamOfRecord,
} from "../entry/otel.js";
import type { Redactor } from "../entry/redaction/Redactor.js";
import type { AppLogExporter } from "../exporters/AppLogExporter.js";
import type { JsonlFileExporter } from "../exporters/JsonlFileExporter.js";
import type { IntegrityChain } from "../integrity/IntegrityChain.js";
import { carriedRecord } from "./RecordCarrier.js";

export interface StreamRouterTargets {
  audit: JsonlFileExporter;
  security: JsonlFileExporter;
  app: AppLogExporter;
  /** Seals the audit lines of records from other code when `integrity` is on (the audit API seals its own). */
  chain?: IntegrityChain;
  /** The logger's redaction rules, for records from other code (the audit API redacts its own). */
  redact?: Redactor | null;
  /** Sinks that may still report to app.log while shutting down: the files close after them. */
  beforeClose?: () => Promise<unknown>;
  /** Readers of the trail files that finish once every line is written (the shipper): run after the files close. */
  afterClose?: () => Promise<unknown>;
}

/**
 * Routes each auditx record to its trail file, synchronously: audit.jsonl for
 * every audit record, security.jsonl as well for SECURITY/CRITICAL, app.log
 * for app messages. It runs first and lets AuditWriteError through, so a
 * record that did not reach the trail reaches no other sink and the caller
 * sees the error.
 */
export class StreamRouter implements LogRecordProcessor {
  /** Lines written per stream since start. */
  readonly written = { audit: 0, security: 0, app: 0 };

  constructor(private readonly targets: StreamRouterTargets) {}

  onEmit(record: SdkLogRecord, context?: Context): void {
    const carried = carriedRecord(context);
    if (carried?.kind === "app") {
      this.targets.app.write(carried.message);
      this.written.app++;
    } else if (carried?.kind === "audit") {
      this.writeAudit(carried.line, carried.security);
    } else if (!carried && isAuditxRecord(record) && !isCheckpointRecord(record)) {
      // A record from other code: only those that declare an auditx stream belong in the trail.
      this.routeForeign(record);
    }
  }

  private routeForeign(record: SdkLogRecord): void {
    if (streamOfRecord(record) === Stream.APP) {
      this.targets.app.write(appMessageFromLogRecord(record));
      this.written.app++;
      return;
    }
    const entry = entryFieldsFromLogRecord(record);
    const { chain, redact } = this.targets;
    if (redact) {
      // This router runs first: every later processor (onAudit, OTLP) reads the record redacted.
      redact.redactEntry(entry);
      replaceEntryAttributes(record, entry);
    }
    if (!chain) {
      this.writeAudit(entryToJsonLine(entry), isSecurityLevel(entry.level));
      return;
    }
    this.writeAudit(chain.seal(entry), isSecurityLevel(entry.level));
    chain.commit(entry);
  }

  /** Writes one audit line (already sealed when integrity is on) to audit.jsonl, and security.jsonl too when `security`. */
  writeAudit(line: string, security: boolean): void {
    this.targets.audit.writeLine(line);
    this.written.audit++;
    if (security) {
      this.targets.security.writeLine(line);
      this.written.security++;
    }
  }

  async forceFlush(): Promise<void> {
    const { audit, security, app } = this.targets;
    await Promise.all([audit.forceFlush(), security.forceFlush(), app.forceFlush()]);
  }

  async shutdown(): Promise<void> {
    const { audit, security, app, beforeClose, afterClose } = this.targets;
    await beforeClose?.().catch(() => {});
    await Promise.all([audit.shutdown(), security.shutdown(), app.shutdown()]);
    await afterClose?.().catch(() => {});
  }
}
