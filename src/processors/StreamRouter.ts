import type { Context } from "@opentelemetry/api";
import type { LogRecordProcessor, SdkLogRecord } from "@opentelemetry/sdk-logs";
import { ATTR_HTTP_METHOD, ATTR_USER_ID, Stream } from "../api/attributes.js";
import { entryFromLogRecord, entryToJsonLine, isSecurityLevel, streamOfRecord } from "../api/entrySchema.js";
import type { AppLogExporter } from "../exporters/AppLogExporter.js";
import type { IntegrityChain } from "../exporters/IntegrityChain.js";
import type { JsonlFileExporter } from "../exporters/JsonlFileExporter.js";
import { EMIT_SLOT, type EmitSlot, type PipelineLink } from "../internal/emitSlot.js";
import { toText } from "../internal/normalize.js";
import { isAuditxRecord } from "./recordFilter.js";

export interface StreamRouterTargets {
  audit: JsonlFileExporter;
  security: JsonlFileExporter;
  app: AppLogExporter;
  counts: { audit: number; security: number; app: number };
  link: PipelineLink;
  /** Sinks that may still report to app.log while shutting down: the files close after them. */
  beforeClose?: () => Promise<unknown>;
  /** Seals each audit line into a hash chain when `integrity` is on. */
  chain?: IntegrityChain;
}

/**
 * Routes each auditx record to its trail file, synchronously: audit.jsonl for
 * every audit record, security.jsonl as well for SECURITY/CRITICAL, app.log
 * for app messages. It runs first and lets AuditWriteError through, so a
 * record that did not reach the trail reaches no other sink and the caller
 * sees the error.
 */
export class StreamRouter implements LogRecordProcessor {
  constructor(private readonly targets: StreamRouterTargets) {}

  onEmit(record: SdkLogRecord, context?: Context): void {
    const slot = context?.getValue(EMIT_SLOT) as EmitSlot | undefined;
    const { audit, security, app, counts, link, chain } = this.targets;
    if (slot) {
      slot.handledBy = link;
      if (slot.kind === "app") {
        app.write(slot.message);
        counts.app++;
        return;
      }
      const { entry } = slot;
      const line = chain ? chain.seal(entry, entryToJsonLine(entry)) : entryToJsonLine(entry);
      audit.writeLine(line);
      chain?.commit(entry);
      counts.audit++;
      if (slot.security) {
        security.writeLine(line);
        counts.security++;
      }
      return;
    }
    // A record from other code: only those that declare an auditx stream belong in the trail.
    if (!isAuditxRecord(record)) return;
    if (streamOfRecord(record) === Stream.APP) {
      app.write({
        millis: record.hrTime[0] * 1000 + Math.floor(record.hrTime[1] / 1e6),
        level: record.severityText ?? "INFO",
        user: toText(record.attributes[ATTR_USER_ID], 256),
        method: toText(record.attributes[ATTR_HTTP_METHOD], 32),
        message: toText(record.body, 32 * 1024),
      });
      counts.app++;
      return;
    }
    const entry = entryFromLogRecord(record);
    const line = chain ? chain.seal(entry, entryToJsonLine(entry)) : entryToJsonLine(entry);
    audit.writeLine(line);
    chain?.commit(entry);
    counts.audit++;
    if (isSecurityLevel(entry.level)) {
      security.writeLine(line);
      counts.security++;
    }
  }

  async forceFlush(): Promise<void> {
    const { audit, security, app } = this.targets;
    await Promise.all([audit.forceFlush(), security.forceFlush(), app.forceFlush()]);
  }

  async shutdown(): Promise<void> {
    const { audit, security, app, beforeClose } = this.targets;
    await beforeClose?.().catch(() => {});
    await Promise.all([audit.shutdown(), security.shutdown(), app.shutdown()]);
  }
}
