import { type ExportResult, ExportResultCode } from "@opentelemetry/core";
import type { LogRecordExporter, ReadableLogRecord } from "@opentelemetry/sdk-logs";
import { ATTR_HTTP_METHOD, ATTR_USER_ID } from "../api/attributes.js";
import { DEFAULT_LIMITS, normalizeValue, toText } from "../internal/normalize.js";
import { formatAppLogTime } from "../internal/timestamp.js";
import { RotatingFile, type RotatingFileOptions } from "./RotatingFile.js";

/** One app.log line before formatting. */
export interface AppMessage {
  millis: number;
  level: string;
  user: string;
  method: string;
  message: string;
  fields?: Record<string, unknown>;
}

// Every control character (C0 and C1: U+0085 NEL is a line break to many readers), and the
// Unicode line separators, could start a forged line in a text log.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const HAS_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const escapeControl = (char: string) =>
  char === "\n" ? "\\n" : char === "\r" ? "\\r" : char === "\t" ? "\\t" : `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;

/** A text field safe for one app.log line: control characters escaped, length capped. */
export function oneLine(value: unknown, maxLength = DEFAULT_LIMITS.maxStringLength): string {
  const text = toText(value, maxLength);
  return HAS_CONTROL.test(text) ? text.replace(CONTROL, escapeControl) : text;
}

/** `dd/mm/yyyy hh:mm:ss AM | user | METHOD | LEVEL | message[ | {json}]`, newline included. */
export function formatAppLine(message: AppMessage): string {
  let line = `${formatAppLogTime(message.millis)} | ${oneLine(message.user) || "SYSTEM"} | ${oneLine(message.method) || "N/A"} | ${oneLine(message.level)} | ${oneLine(message.message)}`;
  if (message.fields) {
    const fields = normalizeValue(message.fields, DEFAULT_LIMITS);
    // JSON.stringify escapes every control character, so the JSON part is one line too.
    if (fields && typeof fields === "object" && Object.keys(fields).length > 0)
      line += ` | ${JSON.stringify(fields).replace(CONTROL, escapeControl)}`;
  }
  return `${line}\n`;
}

/** Writes app.log: app messages, loggingCustom lines and reports of contained sink errors. */
export class AppLogExporter implements LogRecordExporter {
  readonly file: RotatingFile;

  constructor(options: RotatingFileOptions) {
    this.file = new RotatingFile(options);
  }

  write(message: AppMessage): void {
    this.file.write(formatAppLine(message));
  }

  export(records: ReadableLogRecord[], resultCallback: (result: ExportResult) => void): void {
    try {
      let text = "";
      for (const record of records) {
        text += formatAppLine({
          millis: record.hrTime[0] * 1000 + Math.floor(record.hrTime[1] / 1e6),
          level: record.severityText ?? "INFO",
          user: toText(record.attributes[ATTR_USER_ID], 256),
          method: toText(record.attributes[ATTR_HTTP_METHOD], 32),
          message: toText(record.body, DEFAULT_LIMITS.maxStringLength),
        });
      }
      if (text) this.file.write(text);
      resultCallback({ code: ExportResultCode.SUCCESS });
    } catch (error) {
      resultCallback({ code: ExportResultCode.FAILED, error: error as Error });
    }
  }

  async forceFlush(): Promise<void> {
    this.file.flushSync();
  }

  async shutdown(): Promise<void> {
    this.file.close();
  }
}
