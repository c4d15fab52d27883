/**
 * The records of the files `auditx import` reads (JSON Lines or CSV, plain or
 * gzip-compressed, or standard input), and the ids of the entries a trail
 * already holds from earlier imports.
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { listTrailSegments } from "../trail/segments.js";
import { csvRecords, type SourceRecord } from "./csvRecords.js";

export { SourceError, type SourceRecord } from "./csvRecords.js";

export type SourceFormat = "jsonl" | "csv";

/** The format a file name implies, or undefined. */
export function formatOfName(name: string): SourceFormat | undefined {
  const plain = name.toLowerCase().replace(/\.gz$/, "");
  if (plain.endsWith(".csv")) return "csv";
  if (/\.(jsonl|ndjson|json|log)$/.test(plain)) return "jsonl";
  return undefined;
}

/** The text of a file ("-" for standard input), decompressed when its name ends in .gz. */
function openText(path: string): Readable {
  const raw = path === "-" ? process.stdin : createReadStream(path);
  const stream = path.toLowerCase().endsWith(".gz") ? raw.pipe(createGunzip()) : raw;
  if (stream !== raw) raw.on("error", (error: Error) => stream.destroy(error));
  stream.setEncoding("utf8");
  return stream;
}

async function* jsonlRecords(stream: Readable): AsyncGenerator<SourceRecord> {
  let row = 0;
  for await (const line of createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })) {
    row++;
    const text = line.trim();
    if (text === "") continue;
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch {
      yield { row, problem: "is not JSON" };
      continue;
    }
    if (record === null || typeof record !== "object" || Array.isArray(record)) yield { row, problem: "is not a JSON object" };
    else yield { row, record: record as Record<string, unknown> };
  }
}

/** The records of a file in the given format. */
export function readRecords(path: string, format: SourceFormat): AsyncGenerator<SourceRecord> {
  const stream = openText(path);
  return format === "csv" ? csvRecords(stream) : jsonlRecords(stream);
}

/**
 * The ids of the entries of a trail that were imported (they carry
 * metadata.imported), including its rotated and compressed segments: an
 * import run again skips the records these ids show were imported already.
 */
export async function importedIds(logDir: string, baseName: string): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const segment of listTrailSegments(logDir, baseName)) {
    let stream: Readable;
    try {
      stream = openText(segment.path);
    } catch {
      continue;
    }
    try {
      for await (const line of createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })) {
        if (!line.includes('"imported":')) continue;
        try {
          const dict = JSON.parse(line) as { id?: unknown; metadata?: { imported?: unknown } };
          if (typeof dict.id === "string" && dict.metadata?.imported) ids.add(dict.id);
        } catch {
          // A malformed line is no entry: nothing was imported by it.
        }
      }
    } catch (error) {
      // A segment removed by retention or rotated away while being read has nothing more to say.
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }
  return ids;
}
