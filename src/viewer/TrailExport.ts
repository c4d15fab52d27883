import type { ServerResponse } from "node:http";
import { setImmediate as nextTurn } from "node:timers/promises";
import { TRAIL_FIELDS } from "../entry/fields.js";
import type { TrailEntry } from "./TrailSource.js";

export type ExportFormat = "csv" | "jsonl";

/** CSV columns: the trail's fields in order, then any other fields as one JSON object. */
export const CSV_COLUMNS = TRAIL_FIELDS;
const KNOWN = new Set<string>(CSV_COLUMNS);

/**
 * Text a spreadsheet would run as a formula: one starting with = + - @ (or a
 * tab or carriage return), also after leading spaces or line breaks, which
 * spreadsheets skip before looking for a formula.
 */
const FORMULA = /^[\s\u00a0\u2028\u2029\ufeff]*[=+\-@\uff1d\uff0b\uff0d\uff20]|^[\t\r]/;

/** One CSV cell: quoted when needed; text that a spreadsheet would run as a formula gets a leading apostrophe. */
export function csvCell(value: unknown): string {
  if (value === undefined || value === null) return "";
  let text = typeof value === "object" ? JSON.stringify(value) : String(value);
  if (typeof value === "string" && FORMULA.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvRow(entry: TrailEntry): string {
  const cells = CSV_COLUMNS.map((column) => csvCell(entry[column]));
  const other: TrailEntry = {};
  let hasOther = false;
  for (const key of Object.keys(entry)) {
    if (!KNOWN.has(key)) {
      other[key] = entry[key];
      hasOther = true;
    }
  }
  cells.push(hasOther ? csvCell(other) : "");
  return `${cells.join(",")}\r\n`;
}

/**
 * Streams every entry matching the filter, newest first, as CSV (UTF-8 with a
 * byte order mark, for spreadsheets) or JSONL. Waits for the client to drain
 * and stops when it goes away, so a large export holds one batch in memory.
 */
export async function writeExport(
  response: ServerResponse,
  batches: (signal: AbortSignal) => AsyncIterable<TrailEntry[]>,
  format: ExportFormat,
  source: string,
): Promise<void> {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").slice(0, 15);
  response.setHeader("Content-Type", format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8");
  response.setHeader("Content-Disposition", `attachment; filename="auditx-${source}-${stamp}.${format}"`);
  let closed = false;
  const gone = new AbortController();
  response.on("close", () => {
    closed = true;
    gone.abort();
  });
  if (format === "csv") response.write(`\uFEFF${[...CSV_COLUMNS, "other"].join(",")}\r\n`);
  for await (const batch of batches(gone.signal)) {
    if (closed) return;
    let chunk = "";
    for (const entry of batch) chunk += format === "csv" ? csvRow(entry) : `${JSON.stringify(entry)}\n`;
    if (!response.write(chunk)) await drained(response);
    // Other requests go between two batches.
    else await nextTurn();
  }
  if (!closed) response.end();
}

/** Resolves when the response can take more, or is gone. */
function drained(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off("drain", done);
      response.off("close", done);
      resolve();
    };
    response.on("drain", done);
    response.on("close", done);
  });
}
