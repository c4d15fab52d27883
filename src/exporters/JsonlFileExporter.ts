import { type ExportResult, ExportResultCode } from "@opentelemetry/core";
import type { LogRecordExporter, ReadableLogRecord } from "@opentelemetry/sdk-logs";
import { entryToJsonLine } from "../entry/jsonl.js";
import { entryFromLogRecord } from "../entry/otel.js";
import { RotatingFile, type RotatingFileOptions } from "../trail/RotatingFile.js";

/**
 * Writes audit entries as JSON Lines to a rotating file. The stream router
 * calls `writeLine` on the hot path; `export` makes it a regular OTel
 * LogRecordExporter for use behind any processor.
 */
export class JsonlFileExporter implements LogRecordExporter {
  readonly file: RotatingFile;

  constructor(options: RotatingFileOptions) {
    this.file = new RotatingFile(options);
  }

  get path(): string {
    return this.file.path;
  }

  /** Writes one line already in trail form (see entryToJsonLine). */
  writeLine(line: string): void {
    this.file.write(line);
  }

  export(records: ReadableLogRecord[], resultCallback: (result: ExportResult) => void): void {
    try {
      let text = "";
      for (const record of records) text += entryToJsonLine(entryFromLogRecord(record));
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
