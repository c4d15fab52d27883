import type { Context } from "@opentelemetry/api";
import type { LogRecordProcessor, SdkLogRecord } from "@opentelemetry/sdk-logs";
import type { AuditEntry } from "../entry/AuditEntry.js";
import { formatAppLogTime } from "../internal/timestamp.js";
import { oneLine } from "../trail/appLogLine.js";
import { carriedRecord } from "./RecordCarrier.js";

const LEVEL_COLOURS: Record<string, string> = {
  DEBUG: "\x1b[90m",
  INFO: "\x1b[36m",
  NORMAL: "\x1b[36m",
  AUDIT: "\x1b[32m",
  WARNING: "\x1b[33m",
  ERROR: "\x1b[31m",
  SECURITY: "\x1b[35m",
  CRITICAL: "\x1b[41m\x1b[97m",
};
const RESET = "\x1b[0m";
const DIM = "\x1b[2m";

export interface ConsoleTarget {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** Whether to colour: a TTY, and neither NO_COLOR nor FORCE_COLOR=0 set (FORCE_COLOR forces it). */
function useColour(target: ConsoleTarget, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== "0" && env.FORCE_COLOR !== "false";
  return target.isTTY === true;
}

function amountText(entry: AuditEntry): string {
  if (entry.amount === null) return "";
  return ` | ${entry.amount.toLocaleString("en-US")}${entry.currency ? ` ${oneLine(entry.currency, 16)}` : ""}`;
}

/** The one-line summary of an entry, as the original printed it. */
function formatConsoleLine(entry: AuditEntry, colour: boolean): string {
  const level = entry.level.padEnd(8);
  const where = [entry.module, entry.action]
    .filter(Boolean)
    .map((part) => oneLine(part, 64))
    .join(".");
  const subject = [entry.referenceNo, entry.entityType && entry.entityId ? `${entry.entityType}:${entry.entityId}` : ""]
    .filter(Boolean)
    .map((part) => oneLine(part, 128))
    .join(" ");
  const failed = entry.success ? "" : " ✗";
  const time = formatAppLogTime(Date.parse(entry.timestamp) || Date.now());
  const text = `${time} | ${oneLine(entry.user, 64) || "SYSTEM"}${entry.branchId ? `@${oneLine(entry.branchId, 64)}` : ""} | ${where || "-"} | ${oneLine(entry.description, 512)}${subject ? ` | ${subject}` : ""}${amountText(entry)}${failed}`;
  if (!colour) return `[${level}] ${text}\n`;
  return `${LEVEL_COLOURS[entry.level] ?? ""}[${level}]${RESET} ${DIM}${time}${RESET}${text.slice(time.length)}\n`;
}

/** Prints a coloured one-line summary of each audit record (and app message); its errors are contained. */
export class ConsoleProcessor implements LogRecordProcessor {
  private readonly colour: boolean;
  errors = 0;

  constructor(
    private readonly target: ConsoleTarget = process.stdout,
    private readonly report?: (source: string, error: unknown) => void,
  ) {
    this.colour = useColour(target);
  }

  onEmit(_record: SdkLogRecord, context?: Context): void {
    const carried = carriedRecord(context);
    if (!carried) return;
    try {
      if (carried.kind === "audit") this.target.write(formatConsoleLine(carried.entry, this.colour));
      else {
        const { message } = carried;
        const level = message.level.padEnd(8);
        const head = this.colour ? `${LEVEL_COLOURS[message.level] ?? ""}[${level}]${RESET}` : `[${level}]`;
        this.target.write(
          `${head} ${formatAppLogTime(message.millis)} | ${oneLine(message.user) || "SYSTEM"} | ${oneLine(message.message, 512)}\n`,
        );
      }
    } catch (error) {
      // Reported once: a broken stdout would otherwise add a line to app.log per record.
      if (this.errors++ === 0) this.report?.("console", error);
    }
  }

  async forceFlush(): Promise<void> {}

  async shutdown(): Promise<void> {}
}
