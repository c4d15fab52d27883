/**
 * The heavy work of the JSONL index, as jobs a worker thread runs (or the
 * main thread, in slices, when there is no worker): building chunks from a
 * range of a plain segment or from a whole `.gz` segment, and checking which
 * lines of some ranges contain a text.
 */
import { createHash } from "node:crypto";
import { createReadStream, readSync } from "node:fs";
import { createGunzip } from "node:zlib";
import { foldAscii } from "../../internal/foldAscii.js";
import { exceedsDepth } from "../viewableEntry.js";
import { CHUNK_MAX_ENTRIES, ChunkBuilder, type ChunkData, type HintLists, hintSets, learnHints } from "./Chunk.js";
import { type LineReader, LineStoreReader, LineStoreWriter, PlainReader } from "./LineStore.js";
import { firstLine, overlongLine, parseLines } from "./lines.js";
import type { Slicer } from "./Slicer.js";
import { TextSearch } from "./TextSearch.js";
import { valuesContain } from "./text.js";

const READ_BYTES = 4 * 1024 * 1024;
/** Content bytes per chunk a job builds (a chunk also ends at CHUNK_MAX_ENTRIES). */
export const CHUNK_BYTES = 32 * 1024 * 1024;
/** Bytes hashed at a segment's head and before its indexed end, to know it again. */
export const HEAD_BYTES = 4096;
export const TAIL_BYTES = 64 * 1024;

export interface RangeJob {
  kind: "range";
  /** A descriptor of the main thread's (worker threads share the process's descriptors). */
  fd: number;
  start: number;
  end: number;
  /** The segment is finished: a last line without newline counts. */
  finished: boolean;
  maxLineBytes: number;
  /** What earlier chunks found about the fields. */
  hints: HintLists;
}

export interface GzipJob {
  kind: "gzip";
  path: string;
  /** Where to write the line store of the segment's content. */
  storePath: string;
  maxLineBytes: number;
  /** What earlier chunks found about the fields. */
  hints: HintLists;
}

export interface GzipResult {
  /** Content bytes (uncompressed). */
  size: number;
  head: string;
  tail: string;
}

export interface VerifyJob {
  kind: "verify";
  source: { fd: number } | { store: string };
  /** [start, end) pairs of content offsets, each holding whole lines. */
  ranges: number[];
  q: string;
}

export type Job = RangeJob | GzipJob | VerifyJob;

export function digest(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex").slice(0, 32);
}

/** Whether a value of the entry holds an object or array (only then can it nest deep): most entries are told without allocating. */
function nestsTwice(entry: Record<string, unknown>): boolean {
  for (const key in entry) {
    const value = entry[key];
    if (value === null || typeof value !== "object") continue;
    for (const inner in value) {
      const item = (value as Record<string, unknown>)[inner];
      if (item !== null && typeof item === "object") return true;
    }
  }
  return false;
}

/** A ChunkBuilder that counts malformed lines and reports when full. */
function sinkFor(builder: ChunkBuilder, maxBytes: number) {
  return {
    entry: (offset: number, entry: Record<string, unknown>) => {
      if (nestsTwice(entry) && exceedsDepth(entry)) builder.deep++;
      builder.add(offset, entry);
    },
    malformed: () => {
      builder.malformed++;
    },
    line: (offset: number, buffer: Buffer, start: number, end: number) => builder.addLine(offset, buffer, start, end),
    get full() {
      return builder.count >= CHUNK_MAX_ENTRIES || (builder.count > 0 && builder.end - builder.start >= maxBytes);
    },
  };
}

/**
 * Builds one chunk from [start, end) of a plain segment; it covers
 * [start, chunk.end), which is less than the range when the chunk filled up
 * (the caller builds the rest as another chunk).
 */
export async function buildRange(job: RangeJob, slicer: Slicer): Promise<ChunkData> {
  const builder = new ChunkBuilder(job.start, hintSets(job.hints));
  const sink = sinkFor(builder, Number.POSITIVE_INFINITY);
  let buffer = Buffer.allocUnsafe(Math.min(READ_BYTES, Math.max(1, job.end - job.start)));
  let position = job.start;
  while (position < job.end && !sink.full) {
    const want = Math.min(buffer.length, job.end - position);
    const read = readSync(job.fd, buffer, 0, want, position);
    if (read === 0) break;
    const atEnd = position + read >= job.end;
    let consumed = parseLines(buffer, read, position, atEnd && job.finished, sink);
    if (consumed === 0 && !atEnd && !sink.full) {
      // A line longer than the buffer: grow up to maxLineBytes; past that it is indexed from its first and last bytes.
      if (buffer.length < job.maxLineBytes) {
        buffer = Buffer.allocUnsafe(Math.min(job.maxLineBytes, buffer.length * 2));
        continue;
      }
      // (The range ends at a line's end, or the segment's: the line is whole.)
      const overlong = overlongLine(job.fd, position, buffer.subarray(0, read), job.end, job.maxLineBytes, buffer);
      builder.add(position, overlong.entry);
      builder.truncated++;
      consumed = overlong.end - position;
    }
    if (consumed === 0) break;
    position += consumed;
    builder.end = position;
    await slicer.pause();
  }
  return builder.seal();
}

/**
 * Reads a whole `.gz` segment (any number of gzip members) as a stream:
 * writes its content to a line store and builds its chunks, handing each to
 * `onChunk` as it is sealed. Nothing is unpacked to disk.
 */
export async function buildGzip(job: GzipJob, slicer: Slicer, onChunk: (chunk: ChunkData) => void): Promise<GzipResult> {
  const store = new LineStoreWriter(job.storePath);
  const hints = { raw: new Set(job.hints.raw), template: new Set(job.hints.template) };
  let builder = new ChunkBuilder(0, hints);
  let sink = sinkFor(builder, CHUNK_BYTES);
  let pending: Buffer = Buffer.alloc(0);
  let offset = 0;
  let size = 0;
  const head = createHash("sha256");
  let headBytes = 0;
  let tail: Buffer = Buffer.alloc(0);
  const seal = () => {
    if (builder.end > builder.start || builder.count > 0) {
      const chunk = builder.seal();
      learnHints(hints, chunk);
      onChunk(chunk);
    }
    builder = new ChunkBuilder(builder.end, hints);
    sink = sinkFor(builder, CHUNK_BYTES);
  };
  const parse = (final: boolean) => {
    for (;;) {
      const consumed = parseLines(pending, pending.length, offset, final, sink);
      if (consumed > 0) {
        offset += consumed;
        builder.end = offset;
        pending = pending.subarray(consumed);
      }
      if (sink.full) {
        seal();
        continue;
      }
      if (pending.length > job.maxLineBytes) {
        // A line longer than allowed: skip it, to its newline (or the end).
        const newline = pending.indexOf(10);
        const skip = newline >= 0 ? newline + 1 : pending.length;
        offset += skip;
        pending = pending.subarray(skip);
        builder.malformed++;
        builder.end = offset;
        continue;
      }
      return;
    }
  };
  try {
    for await (const piece of createReadStream(job.path).pipe(createGunzip()) as AsyncIterable<Buffer>) {
      store.append(piece);
      size += piece.length;
      if (headBytes < HEAD_BYTES) {
        const part = piece.subarray(0, HEAD_BYTES - headBytes);
        head.update(part);
        headBytes += part.length;
      }
      tail = Buffer.concat([tail, piece]);
      if (tail.length > TAIL_BYTES * 4) tail = Buffer.from(tail.subarray(tail.length - TAIL_BYTES));
      pending = pending.length === 0 ? piece : Buffer.concat([pending, piece]);
      parse(false);
      await slicer.pause();
    }
    parse(true);
    seal();
    store.finish();
  } catch (error) {
    store.abort();
    throw error;
  }
  return {
    size,
    head: head.digest("hex").slice(0, 32),
    tail: digest(tail.subarray(Math.max(0, tail.length - TAIL_BYTES))),
  };
}

/** The start of each line in the ranges whose values contain `q` (field names do not count). */
export async function verifyRanges(job: VerifyJob, slicer: Slicer): Promise<number[]> {
  const reader: LineReader = "fd" in job.source ? new PlainReader(job.source.fd) : new LineStoreReader(job.source.store);
  const search = new TextSearch(job.q);
  const folded = foldAscii(job.q);
  const matches: number[] = [];
  try {
    for (let r = 0; r < job.ranges.length; r += 2) {
      const start = job.ranges[r]!;
      const end = job.ranges[r + 1]!;
      for (let at = start; at < end; ) {
        // Pieces cut after a newline: large on a worker, small enough for a slice on the event loop.
        let bytes = reader.read(at, Math.min(end, at + (slicer.budgetMs === Number.POSITIVE_INFINITY ? 8 * 1024 * 1024 : 256 * 1024)));
        if (bytes.length === 0) break;
        if (at + bytes.length < end) {
          const newline = bytes.lastIndexOf(10);
          if (newline >= 0) bytes = bytes.subarray(0, newline + 1);
        }
        const base = at;
        search.linesContaining(bytes, bytes.length, (lineStart, lineEnd) => {
          const line = firstLine(bytes.subarray(lineStart, lineEnd), base + lineStart === 0);
          try {
            if (valuesContain(JSON.parse(line.toString("utf8")), folded)) matches.push(base + lineStart);
          } catch {
            // not an entry
          }
        });
        at += bytes.length;
        await slicer.pause();
      }
    }
  } finally {
    reader.close();
  }
  return matches;
}
