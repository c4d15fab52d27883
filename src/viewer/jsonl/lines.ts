import { isUtf8 } from "node:buffer";
import { readSync } from "node:fs";
import type { TrailEntry } from "../TrailSource.js";
import { readLineEnd, TRUNCATED_PREFIX_BYTES, truncatedEntry } from "../truncatedLine.js";

/** What reading lines reports: an entry with its line's content offset (and its text), or a malformed line. */
export interface LineSink {
  /** `line` is the line's text without newline, carriage return or byte order mark (what entryIdOf reads). */
  entry(offset: number, entry: TrailEntry, line: string): void;
  malformed(): void;
  /**
   * Takes the line buffer[start, end) (valid UTF-8, without newline, carriage
   * return or byte order mark) without parsing it, when it can: false leaves
   * it to JSON.parse and entry().
   */
  line?(offset: number, buffer: Buffer, start: number, end: number): boolean;
  /** When true, reading stops before the next line (which is left unconsumed). */
  readonly full?: boolean;
}

/**
 * Parses the complete lines of buffer[0, length), the content at offset
 * `base` of its segment, and returns the bytes consumed (up to the last
 * newline; all of it with `takeUnterminated`, for a segment that will not
 * grow). Blank lines are skipped; lines that are not a JSON object, or not
 * UTF-8, are counted as malformed.
 */
export function parseLines(buffer: Buffer, length: number, base: number, takeUnterminated: boolean, sink: LineSink): number {
  const chunk = buffer.subarray(0, length);
  const checkEachLine = !isUtf8(chunk);
  let start = 0;
  for (;;) {
    if (sink.full) return start;
    const newline = chunk.indexOf(10, start);
    if (newline < 0) break;
    parseLine(chunk, start, newline, base, checkEachLine, sink);
    start = newline + 1;
  }
  if (takeUnterminated && start < length && !sink.full) {
    parseLine(chunk, start, length, base, checkEachLine, sink);
    start = length;
  }
  return start;
}

function parseLine(chunk: Buffer, start: number, end: number, base: number, checkUtf8: boolean, sink: LineSink): void {
  const lineStart = start;
  // A byte order mark at the start of a file (an editor on Windows) is not part of the first entry.
  if (base + start === 0 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) start = 3;
  let stop = end;
  if (stop > start && chunk[stop - 1] === 13) stop--;
  if (stop === start) return;
  if (checkUtf8 && !isUtf8(chunk.subarray(start, stop))) {
    sink.malformed();
    return;
  }
  if (sink.line?.(base + lineStart, chunk, start, stop)) return;
  let entry: unknown;
  const text = chunk.toString("utf8", start, stop);
  try {
    entry = JSON.parse(text);
  } catch {
    // Blank lines are not entries, nor errors.
    if (chunk.subarray(start, stop).toString("latin1").trim() !== "") sink.malformed();
    return;
  }
  if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
    sink.malformed();
    return;
  }
  sink.entry(base + lineStart, entry as TrailEntry, text);
}

/** The line at the start of `bytes` (up to its newline), without the newline, a carriage return or a byte order mark. */
export function firstLine(bytes: Buffer, atFileStart: boolean): Buffer {
  let start = 0;
  if (atFileStart && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
  let end = bytes.indexOf(10, start);
  if (end < 0) end = bytes.length;
  if (end > start && bytes[end - 1] === 13) end--;
  return bytes.subarray(start, end);
}

/**
 * A line longer than maxLineBytes at `offset` of an open file, whose first
 * bytes are in `head` (read before `scratch` is overwritten, so it may be
 * part of it): where it ends (just past its newline; at `limit` or
 * the file's end when it has none yet, `terminated` false), and its entry,
 * shown from its first and last bytes (truncatedLine). `scratch` is
 * overwritten while looking for the newline.
 */
export function overlongLine(
  fd: number,
  offset: number,
  head: Buffer,
  limit: number,
  maxLineBytes: number,
  scratch: Buffer,
): { end: number; terminated: boolean; entry: TrailEntry } {
  const prefix = head.toString("utf8", 0, Math.min(head.length, TRUNCATED_PREFIX_BYTES));
  let at = offset + head.length;
  let end = limit;
  let terminated = false;
  while (at < limit) {
    const read = readSync(fd, scratch, 0, Math.min(scratch.length, limit - at), at);
    if (read === 0) {
      end = at;
      break;
    }
    const newline = scratch.subarray(0, read).indexOf(10);
    if (newline >= 0) {
      end = at + newline + 1;
      terminated = true;
      break;
    }
    at += read;
  }
  const length = end - offset;
  return { end, terminated, entry: truncatedEntry(prefix, readLineEnd(fd, offset, length), length, maxLineBytes) };
}
