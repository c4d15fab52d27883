/**
 * Reads a trail segment as it was written, plain or gzip-compressed, in
 * chunks; every reader of whole segments (verify, retention, a writer's
 * restart, shippers) goes through here. A plain segment that is compressed
 * between listing and reading is read from its `.gz` instead.
 */
import { closeSync, createReadStream, fstatSync, openSync, type ReadStream, readFileSync, readSync } from "node:fs";
import type { Readable } from "node:stream";
import { createGunzip, gunzipSync } from "node:zlib";
import type { TrailSegment } from "./segments.js";

const CHUNK_BYTES = 1 << 20;

function openStream(path: string, compressed: boolean, start: number, fd?: number): Readable {
  const file: ReadStream = createReadStream(path, { fd, highWaterMark: CHUNK_BYTES, start: compressed ? 0 : start });
  if (!compressed) return file;
  const gunzip = createGunzip({ chunkSize: CHUNK_BYTES });
  file.on("error", (error) => gunzip.destroy(error));
  return file.pipe(gunzip);
}

/** Waits for the stream to open (or fail), so that ENOENT can be told apart before reading starts. */
function opened(stream: ReadStream): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once("open", () => resolve());
    stream.once("error", reject);
  });
}

/**
 * A segment to read: a listed one, or one opened already (`fd`, read and
 * closed here) — the live file opened when it was listed is read whole even
 * if a writer rotates it away meanwhile.
 */
export type SegmentToRead = Pick<TrailSegment, "path" | "compressed"> & { fd?: number };

/**
 * The uncompressed bytes of a segment, in chunks, from byte `start` of the
 * uncompressed content (a compressed segment is inflated from its start and
 * the first `start` bytes skipped).
 */
export async function* readSegmentChunks(segment: SegmentToRead, start = 0): AsyncGenerator<Buffer> {
  let { path, compressed } = segment;
  const fd = segment.fd;
  if (!compressed && fd === undefined) {
    const probe = createReadStream(path, { start: 0, end: 0 });
    try {
      await opened(probe);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      path = `${path}.gz`;
      compressed = true;
    } finally {
      probe.destroy();
    }
  }
  let skip = compressed ? start : 0;
  for await (const chunk of openStream(path, compressed, start, fd)) {
    const buffer = chunk as Buffer;
    if (skip >= buffer.length) {
      skip -= buffer.length;
      continue;
    }
    yield skip > 0 ? buffer.subarray(skip) : buffer;
    skip = 0;
  }
}

/**
 * Calls `onLine` with every line of a segment (without its newline; a last
 * line without one is passed too, flagged `unterminated`). Lines are given
 * as Buffers that are valid only during the call. With `mark`, each line is
 * flagged `marked` when it holds those bytes: one search per chunk finds
 * them, where a search per line would read every line once more.
 */
export async function forEachSegmentLine(
  segment: SegmentToRead,
  onLine: (line: Buffer, lineNo: number, unterminated: boolean, marked: boolean) => void,
  start = 0,
  mark?: Buffer,
): Promise<number> {
  let carry: Buffer | undefined;
  let lineNo = 0;
  for await (const chunk of readSegmentChunks(segment, start)) {
    let from = 0;
    if (carry) {
      // Only the line that spans two chunks is copied.
      const end = chunk.indexOf(10);
      if (end === -1) {
        carry = Buffer.concat([carry, chunk]);
        continue;
      }
      const line = Buffer.concat([carry, chunk.subarray(0, end)]);
      onLine(line, ++lineNo, false, mark !== undefined && line.indexOf(mark) !== -1);
      carry = undefined;
      from = end + 1;
    }
    let markAt = mark ? chunk.indexOf(mark, from) : -1;
    for (let at = chunk.indexOf(10, from); at !== -1; at = chunk.indexOf(10, from)) {
      // A mark holds no newline: one that starts before this line's end lies within it.
      if (markAt !== -1 && markAt < from) markAt = chunk.indexOf(mark as Buffer, from);
      onLine(chunk.subarray(from, at), ++lineNo, false, markAt !== -1 && markAt < at);
      from = at + 1;
    }
    if (from < chunk.length) carry = Buffer.from(chunk.subarray(from));
  }
  if (carry && carry.length > 0) onLine(carry, ++lineNo, true, mark !== undefined && carry.indexOf(mark) !== -1);
  return lineNo;
}

/**
 * The same, synchronously (a writer recovering its chain head at start, where
 * little is read): a compressed segment is inflated whole.
 */
export function forEachSegmentLineSync(
  segment: Pick<TrailSegment, "path" | "compressed">,
  onLine: (line: Buffer, lineNo: number, unterminated: boolean) => void,
  start = 0,
): number {
  let data: Buffer;
  let inflated = segment.compressed;
  try {
    data = inflated ? gunzipSync(readFileSync(segment.path)) : readFrom(segment.path, start);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT" || inflated) throw error;
    data = gunzipSync(readFileSync(`${segment.path}.gz`));
    inflated = true;
  }
  if (inflated) data = data.subarray(start);
  let lineNo = 0;
  let from = 0;
  for (let at = data.indexOf(10); at !== -1; at = data.indexOf(10, from)) {
    onLine(data.subarray(from, at), ++lineNo, false);
    from = at + 1;
  }
  if (from < data.length) onLine(data.subarray(from), ++lineNo, true);
  return lineNo;
}

function readFrom(path: string, start: number): Buffer {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const buffer = Buffer.allocUnsafe(Math.max(0, size - start));
    let read = 0;
    while (read < buffer.length) {
      const n = readSync(fd, buffer, read, buffer.length - read, start + read);
      if (n === 0) break;
      read += n;
    }
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}
