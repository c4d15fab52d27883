import { closeSync, read } from "node:fs";
import { entryIdOf } from "../../entry/entryId.js";
import type { TrailEntry } from "../TrailSource.js";
import { TRUNCATED_PREFIX_BYTES, TRUNCATED_SUFFIX_BYTES, truncatedEntry } from "../truncatedLine.js";
import { type Chunk, ChunkBuilder, type ChunkView, type FieldHints } from "./Chunk.js";
import type { VerifyJob } from "./jobs.js";
import { type LineReader, LineStoreReader, PlainReader } from "./LineStore.js";
import { firstLine } from "./lines.js";

export type SegmentKind = "plain" | "gzip";

let nextUid = 1;

/**
 * One file of a trail (the live file, a rotated segment, a `.gz` segment)
 * and its index: sealed chunks in content order, and for a plain file that
 * may still grow, an open chunk at its end. A plain file is known by its
 * inode, so that a rename (rotation) keeps everything; a `.gz` segment reads
 * its lines from the line store its build wrote.
 */
export class Segment {
  readonly uid = nextUid++;
  /** dev:ino of the file now read. */
  key: string;
  live = false;
  /** Chunks in content order (their ranges do not overlap; gaps are still being built). */
  chunks: Chunk[] = [];
  open: ChunkBuilder | null = null;
  /** Content up to this offset is indexed, or being built. */
  plannedEnd = 0;
  /** Bumped when the index of the segment is thrown away (truncated in place): late build results are ignored. */
  epoch = 0;
  /** Size of the file when last looked at (compressed size for `.gz`). */
  fileSize = 0;
  /** Uncompressed size of a `.gz` segment, once built. */
  contentSize = -1;
  /** Listings the file was missing from. */
  missing = 0;
  /** Lines skipped outside any chunk (too long for the tail reader). */
  skippedLines = 0;
  /** Build jobs in flight. */
  building = 0;
  /** A build failed (a corrupt `.gz`): the message, until the file changes. */
  error: string | null = null;
  /** Lines longer than this are read from their first and last bytes only (see truncatedLine). */
  maxLineBytes = 16 * 1024 * 1024;
  private reader: LineReader | null = null;
  private holds = 0;
  private closed = false;

  constructor(
    public name: string,
    /** Where the file is now (its name changes with rotation). */
    public path: string,
    key: string,
    public kind: SegmentKind,
    /** The descriptor of a plain file (-1 for `.gz`). */
    public fd: number,
    /** The line store of a `.gz` segment, once built. */
    public storePath: string | null = null,
  ) {
    this.key = key;
    if (fd >= 0) this.reader = new PlainReader(fd);
  }

  /** The chunks and the open chunk, in content order. */
  views(): ChunkView[] {
    return this.open ? [...this.chunks, this.open] : this.chunks;
  }

  get count(): number {
    let count = this.open?.count ?? 0;
    for (const chunk of this.chunks) count += chunk.count;
    return count;
  }

  get malformed(): number {
    let malformed = this.skippedLines + (this.open?.malformed ?? 0);
    for (const chunk of this.chunks) malformed += chunk.malformed;
    return malformed;
  }

  /** Lines longer than maxLineBytes, and entries nested too deep to show as is (see truncatedLine, viewableEntry). */
  get oversized(): { truncated: number; deep: number } {
    let truncated = this.open?.truncated ?? 0;
    let deep = this.open?.deep ?? 0;
    for (const chunk of this.chunks) {
      truncated += chunk.truncated;
      deep += chunk.deep;
    }
    return { truncated, deep };
  }

  /** Content bytes indexed (chunks and open chunk). */
  get indexedBytes(): number {
    let bytes = this.open ? this.open.end - this.open.start : 0;
    for (const chunk of this.chunks) bytes += chunk.end - chunk.start;
    return bytes;
  }

  /** Adds a sealed chunk in content order. */
  insert(chunk: Chunk): void {
    let at = this.chunks.length;
    while (at > 0 && this.chunks[at - 1]!.start > chunk.start) at--;
    this.chunks.splice(at, 0, chunk);
  }

  /** The open chunk, started at plannedEnd when there is none. */
  openChunk(hints: FieldHints): ChunkBuilder {
    this.open ??= new ChunkBuilder(this.plannedEnd, hints);
    return this.open;
  }

  /** Switches a `.gz` segment to its line store (built, or found in the cache). */
  useStore(storePath: string, key: string, fileSize: number): void {
    const reader = new LineStoreReader(storePath);
    this.dropReader();
    this.reader = reader;
    this.storePath = storePath;
    this.kind = "gzip";
    this.key = key;
    this.fileSize = fileSize;
    this.contentSize = reader.size;
  }

  /** Drops the whole index of the segment (its file changed under it). */
  reset(): void {
    this.chunks = [];
    this.open = null;
    this.plannedEnd = 0;
    this.skippedLines = 0;
    this.epoch++;
  }

  /** Where a verify job reads the lines. */
  verifySource(): VerifyJob["source"] | null {
    if (this.closed) return null;
    if (this.kind === "gzip") return this.storePath && this.reader ? { store: this.storePath } : null;
    return this.fd >= 0 ? { fd: this.fd } : null;
  }

  /** Keeps the descriptor open while a job uses it. */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      if (this.holds > 0) return;
      for (const fd of this.deferredClose.splice(0)) closeQuietly(fd);
      if (this.closed) this.closeFile();
    };
  }

  /**
   * Reads content [start, end) of a plain segment once on the thread pool,
   * so that reading it right after on the event loop finds it in the page
   * cache instead of waiting for the disk. Errors are left to that read.
   */
  async prefetch(start: number, end: number): Promise<void> {
    if (this.kind !== "plain" || this.fd < 0 || this.closed || end <= start) return;
    const release = this.hold();
    try {
      const buffer = Buffer.allocUnsafe(Math.min(end - start, PREFETCH_BYTES));
      for (let at = start; at < end; ) {
        const bytes = await new Promise<number>((resolve) =>
          read(this.fd, buffer, 0, Math.min(buffer.length, end - at), at, (error, count) => resolve(error ? 0 : count)),
        );
        if (bytes === 0) break;
        at += bytes;
      }
    } finally {
      release();
    }
  }

  /** Content bytes [start, end), or null when the segment cannot be read. */
  read(start: number, end: number): Buffer | null {
    if (!this.reader || this.closed) return null;
    try {
      return this.reader.read(start, end);
    } catch {
      return null;
    }
  }

  /**
   * The entries at these indexes of one of the segment's chunks, in the given
   * order (null where unreadable), each with its `id`: the line's own, or the
   * one derived from the line when it has none.
   */
  readEntries(view: ChunkView, indexes: number[]): Array<{ line: Buffer; entry: TrailEntry } | null> {
    const result: Array<{ line: Buffer; entry: TrailEntry } | null> = new Array(indexes.length).fill(null);
    const overlong = (index: number) => lineEnd(view, index) - view.start - view.offsets[index]! > this.maxLineBytes;
    indexes.forEach((index, position) => {
      if (overlong(index)) result[position] = this.readOverlong(view, index);
    });
    // Read runs of neighbouring lines at once: a page is usually one run.
    const order = indexes
      .map((index, position) => ({ index, position }))
      .filter(({ index }) => !overlong(index))
      .sort((a, b) => a.index - b.index);
    for (let k = 0; k < order.length; ) {
      let last = k;
      while (last + 1 < order.length && order[last + 1]!.index - order[last]!.index <= 4) last++;
      const first = order[k]!.index;
      const runEnd = lineEnd(view, order[last]!.index);
      const bytes = this.read(view.start + view.offsets[first]!, runEnd);
      for (let j = k; j <= last; j++) {
        const { index, position } = order[j]!;
        if (!bytes) continue;
        const from = view.offsets[index]! - view.offsets[first]!;
        const line = firstLine(
          bytes.subarray(from, lineEnd(view, index) - view.start - view.offsets[first]!),
          view.start + view.offsets[index]! === 0,
        );
        try {
          const text = line.toString("utf8");
          const entry = JSON.parse(text) as TrailEntry;
          if (entry.id === undefined) entry.id = entryIdOf(entry, text);
          result[position] = { line, entry };
        } catch {
          // changed under us: unreadable
        }
      }
      k = last + 1;
    }
    return result;
  }

  /** A line longer than maxLineBytes: its entry from its first and last bytes, as it was indexed. */
  private readOverlong(view: ChunkView, index: number): { line: Buffer; entry: TrailEntry } | null {
    const start = view.start + view.offsets[index]!;
    const end = lineEnd(view, index);
    const head = this.read(start, start + TRUNCATED_PREFIX_BYTES);
    const tail = this.read(Math.max(start, end - TRUNCATED_SUFFIX_BYTES), end);
    if (!head || !tail) return null;
    const entry = truncatedEntry(head.toString("utf8"), tail.toString("utf8"), end - start, this.maxLineBytes);
    // Its line, for an id derived from it, is what was read of it.
    return { line: head, entry };
  }

  close(): void {
    this.closed = true;
    if (this.holds === 0) this.closeFile();
  }

  private dropReader(): void {
    if (this.reader && this.kind === "gzip") this.reader.close();
    if (this.kind === "plain" && this.fd >= 0) {
      const fd = this.fd;
      this.fd = -1;
      // Jobs may still read the old descriptor: close it once they are done.
      if (this.holds === 0) closeQuietly(fd);
      else this.deferredClose.push(fd);
    }
    this.reader = null;
  }

  private readonly deferredClose: number[] = [];

  private closeFile(): void {
    this.dropReader();
    for (const fd of this.deferredClose.splice(0)) closeQuietly(fd);
  }
}

/** Bytes read at once by prefetch(). */
const PREFETCH_BYTES = 1024 * 1024;

/** Content offset just past the line of entry i (where the next line starts, or the chunk's end). */
export function lineEnd(view: ChunkView, i: number): number {
  return i + 1 < view.count ? view.start + view.offsets[i + 1]! : view.end;
}

export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}
