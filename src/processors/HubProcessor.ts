import type { Context } from "@opentelemetry/api";
import type { LogRecordProcessor, SdkLogRecord } from "@opentelemetry/sdk-logs";
import type { AuditHub } from "./AuditHub.js";
import { carriedRecord } from "./RecordCarrier.js";

/** Publishes each audit entry to the connected hubs (live viewers); free when none is connected. */
export class HubProcessor implements LogRecordProcessor {
  private readonly hubs = new Set<AuditHub>();
  errors = 0;

  connect(hub: AuditHub): () => void {
    this.hubs.add(hub);
    return () => {
      this.hubs.delete(hub);
    };
  }

  onEmit(_record: SdkLogRecord, context?: Context): void {
    if (this.hubs.size === 0) return;
    const carried = carriedRecord(context);
    if (carried?.kind !== "audit") return;
    try {
      const dict = carried.entry.toDict();
      for (const hub of this.hubs) {
        hub.publish("audit", dict);
        if (carried.security) hub.publish("security", dict);
      }
    } catch {
      this.errors++;
    }
  }

  async forceFlush(): Promise<void> {}

  async shutdown(): Promise<void> {
    this.hubs.clear();
  }
}
