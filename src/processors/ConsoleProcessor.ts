import type { Context } from "@opentelemetry/api";
import type { LogRecordProcessor, SdkLogRecord } from "@opentelemetry/sdk-logs";
import type { AppMessage } from "../entry/AppMessage.js";
import type { AuditEntry } from "../entry/AuditEntry.js";
import { formatAppLogTime } from "../internal/timestamp.js";
import { formatAppLine, oneLine } from "../trail/appLogLine.js";
import { carriedRecord } from "./RecordCarrier.js";

// The original's colours: level and HTTP method.
const LEVEL_COLOURS: Record<string, string> = {
  DEBUG: "\x1b[37m",
  INFO: "\x1b[36m",
  NORMAL: "\x1b[32m",
  AUDIT: "\x1b[35m",
  WARNING: "\x1b[33m",
  ERROR: "\x1b[31m",
  SECURITY: "\x1b[31m",
  CRITICAL: "\x1b[1m\x1b[31m",
};
const METHOD_COLOURS: Record<string, string> = {
  GET: "\x1b[36m",
  POST: "\x1b[32m",
  PUT: "\x1b[33m",
  PATCH: "\x1b[33m",
  DELETE: "\x1b[31m",
};
const RESET = "\x1b[0m";
const WHITE = "\x1b[37m";

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

/** Amounts as the original prints them: thousands separators and two decimals. */
const AMOUNT_FORMAT = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

function paint(text: string, colour: string | undefined, enabled: boolean): string {
  return enabled ? `${colour ?? WHITE}${text}${RESET}` : text;
}

/**
 * The original's console line of an entry:
 * `time | LEVEL | module/action | METHOD endpoint | status | description [ref] type:id 1,250,000.00 MMK | user@branch | req:12345678 | IP:ip`,
 * with "N/A" for no method and "HQ" for no branch.
 */
export function formatConsoleLine(entry: AuditEntry, colour: boolean): string {
  const time = formatAppLogTime(Date.parse(entry.timestamp) || Date.now());
  const level = paint(entry.level, LEVEL_COLOURS[entry.level], colour);
  const method = entry.method ? paint(oneLine(entry.method, 32), METHOD_COLOURS[entry.method], colour) : "N/A";
  const endpoint = entry.endpoint ? ` ${oneLine(entry.endpoint, 512)}` : "";
  const ref = entry.referenceNo ? ` [${oneLine(entry.referenceNo, 128)}]` : "";
  const entity = entry.entityType ? ` ${oneLine(entry.entityType, 64)}:${oneLine(entry.entityId, 128)}` : "";
  const amount = entry.amount === null ? "" : ` ${AMOUNT_FORMAT.format(entry.amount)} ${oneLine(entry.currency, 16)}`.trimEnd();
  const where = `${oneLine(entry.user, 64)}@${oneLine(entry.branchId, 64) || "HQ"}`;
  return (
    `${time} | ${level} | ${oneLine(entry.module, 64)}/${oneLine(entry.action, 64)} | ${method}${endpoint} | ${entry.status ?? "-"} | ` +
    `${oneLine(entry.description, 512)}${ref}${entity}${amount} | ${where} | req:${oneLine(entry.requestId.slice(0, 8))} | IP:${oneLine(entry.ip, 64)}\n`
  );
}

/** An app.log message as its app.log line, coloured as the original colours loggingCustom's. */
function formatConsoleMessage(message: AppMessage, colour: boolean): string {
  const line = formatAppLine(message);
  if (!colour) return line;
  const level = ` | ${message.level} | `;
  const at = line.indexOf(level);
  if (at === -1) return line;
  let head = line.slice(0, at);
  if (message.custom && message.method !== "N/A") {
    const methodPart = ` | ${message.method}`;
    if (head.endsWith(methodPart))
      head = `${head.slice(0, -message.method.length)}${paint(message.method, METHOD_COLOURS[message.method], true)}`;
  }
  return `${head} | ${paint(message.level, LEVEL_COLOURS[message.level], true)} | ${line.slice(at + level.length)}`;
}

/** Prints the original's one-line summary of each audit record, and app messages as their app.log line; its errors are contained. */
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
    if (!carried || carried.kind === "checkpoint") return;
    try {
      this.target.write(
        carried.kind === "audit" ? formatConsoleLine(carried.entry, this.colour) : formatConsoleMessage(carried.message, this.colour),
      );
    } catch (error) {
      // Reported once: a broken stdout would otherwise add a line to app.log per record.
      if (this.errors++ === 0) this.report?.("console", error);
    }
  }

  async forceFlush(): Promise<void> {}

  async shutdown(): Promise<void> {}
}
