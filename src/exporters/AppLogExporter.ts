import { type ExportResult, ExportResultCode } from "@opentelemetry/core";
import type { LogRecordExporter, ReadableLogRecord } from "@opentelemetry/sdk-logs";
import type { AppMessage } from "../entry/AppMessage.js";
import { appMessageFromLogRecord } from "../entry/otel.js";
import { formatAppLine } from "../trail/appLogLine.js";
import { RotatingFile, type RotatingFileOptions } from "../trail/RotatingFile.js";

/**
 * Writes app.log: app messages, loggingCustom lines and reports of contained
 * sink errors. The stream router calls `write` on the hot path; `export`
 * makes it a regular OTel LogRecordExporter for use behind any processor.
 */
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
      for (const record of records) text += formatAppLine(appMessageFromLogRecord(record));
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
