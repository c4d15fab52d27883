import { isUtf8 } from "node:buffer";
import { closeSync, fstatSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { readSegmentChunks } from "../trail/segmentReader.js";
import { listTrailSegments, type TrailSegment } from "../trail/segments.js";
import type { TrailEntry } from "./TrailSource.js";
import { readLineEnd, TRUNCATED_PREFIX_BYTES, truncatedEntry } from "./truncatedLine.js";
import { exceedsDepth } from "./viewableEntry.js";

/** Where the entries read from the files go. */
export interface EntrySink {
  /** An entry read from file `fileId`, its line at [offset, offset + length). */
  entry(fileId: number, offset: number, length: number, entry: TrailEntry): void;
  /** Every entry of this file is gone (deleted, or truncated and read again). */
  dropFile(fileId: number): void;
  /** A batch of reading is done: a moment to tell listeners. */
  flush(): void;
}

/** One file of the trail, known by its inode so that a rename (rotation) keeps its identity. */
interface TrackedFile {
  id: number;
  /** The segment's id (its name without `.gz`), or the live file's name. */
  name: string;
  key: string;
  fd: number;
  /** Bytes read so far: always the start of a line. */
  readOffset: number;
  malformed: number;
  /** Lines longer than maxLineBytes (indexed from their first bytes). */
  truncated: number;
  /** Entries nested deeper than the viewer shows as is. */
  deep: number;
  active: boolean;
  /** Consecutive listings the file was absent from while still linked somewhere. */
  missing: number;
}

/** Listings a still-linked file may be absent from before it is forgotten (readdir can miss a file being renamed). */
const MISSING_LISTINGS_BEFORE_FORGET = 3;
const READ_CHUNK_BYTES = 4 * 1024 * 1024;
/** Listings taken in one pass at most while rotations keep changing the folder. */
const MAX_LISTINGS = 5;

/**
 * The files of one trail (audit.jsonl or security.jsonl with its rotated
 * segments) and how far each was read. `refresh()` reads what was appended
 * since, follows renames by inode (rotation), reads a file truncated in place
 * again and forgets files that are gone, so an entry is read once and never
 * missed.
 */
export class TrailFiles {
  private readonly files = new Map<string, TrackedFile>();
  private readonly filesById = new Map<number, TrackedFile>();
  private nextFileId = 1;
  private readBuffer = Buffer.allocUnsafeSlow(READ_CHUNK_BYTES);
  private closed = false;

  constructor(
    readonly dir: string,
    readonly baseName: string,
    private readonly sink: EntrySink,
    readonly maxLineBytes: number,
  ) {}

  get malformed(): number {
    let sum = 0;
    for (const file of this.files.values()) sum += file.malformed;
    return sum;
  }

  /** Lines longer than maxLineBytes, and entries nested too deep to show as is. */
  get oversized(): { truncated: number; deep: number } {
    let truncated = 0;
    let deep = 0;
    for (const file of this.files.values()) {
      truncated += file.truncated;
      deep += file.deep;
    }
    return { truncated, deep };
  }

  descriptorOf(fileId: number): number {
    return this.filesById.get(fileId)?.fd ?? -1;
  }

  close(): void {
    this.closed = true;
    for (const file of this.files.values()) closeQuietly(file.fd);
    this.files.clear();
    this.filesById.clear();
  }

  async refresh(): Promise<void> {
    if (this.closed) return;
    const seen = new Set<TrackedFile>();
    const order: TrackedFile[] = [];
    let listing = listTrailSegments(this.dir, this.baseName);
    for (let listings = 1; ; listings++) {
      seen.clear();
      order.length = 0;
      if (!(await this.track(listing, seen, order))) return;
      // The live file is stat'ed after the listing: rotations in between make it a file newer than segments the
      // listing lacks, which the next pass would read after it. Listed again until no segment came or went.
      const again = listTrailSegments(this.dir, this.baseName);
      if (listings >= MAX_LISTINGS || sameSegments(listing, again)) break;
      listing = again;
    }
    for (const file of this.files.values()) {
      if (seen.has(file)) continue;
      // A listing taken during a rename may miss a file that is still there:
      // forgetting it would index it again as new. Forget only what was deleted
      // (no link left), or what stays away from several listings (moved elsewhere).
      let deleted = true;
      try {
        deleted = fstatSync(file.fd).nlink === 0;
      } catch {
        // unreadable: treat as deleted
      }
      // Read its new lines first: they are older than the active file's. A deleted file will
      // not grow any more, so its last line counts even without a newline.
      if (deleted) file.active = false;
      await this.readAppended(file);
      if (deleted || ++file.missing >= MISSING_LISTINGS_BEFORE_FORGET) this.forget(file);
    }
    // Sizes are taken newest file first, and the files read oldest first up to them: a writer that has not yet
    // followed a rotation appends to a segment before it writes to the newer file, so the lines a newer file holds
    // by its size have theirs in the older files by their sizes, taken after. Later lines wait for the next pass.
    const sizes = new Map<TrackedFile, number>();
    for (const file of [...order].reverse()) {
      try {
        sizes.set(file, fstatSync(file.fd).size);
      } catch {
        // unreadable: skipped in this pass
      }
    }
    for (const file of order) {
      if (this.closed) return;
      const size = sizes.get(file);
      if (size === undefined) continue;
      if (size < file.readOffset) {
        // Truncated in place (copytruncate): read it again from the start.
        this.sink.dropFile(file.id);
        file.readOffset = 0;
        file.malformed = 0;
        file.truncated = 0;
        file.deep = 0;
      }
      if (size > file.readOffset) await this.readAppended(file, size);
    }
  }

  /**
   * Tracks the files of `listing` (opening those not known yet) into `seen`, and `order` in the trail's order;
   * false when the trail was closed meanwhile.
   */
  private async track(listing: TrailSegment[], seen: Set<TrackedFile>, order: TrackedFile[]): Promise<boolean> {
    const byName = new Map<string, TrackedFile>();
    for (const file of this.files.values()) byName.set(file.name, file);
    for (const { name, id, path, live, compressed } of listing) {
      if (compressed) {
        // The same bytes as the plain segment: one read already stays readable through the descriptor held
        // (the index maps byte offsets); one found compressed is inflated once into a file of its own.
        const file = byName.get(id) ?? (await this.openCompressed(id, path));
        if (this.closed) return false;
        if (!file) continue;
        file.missing = 0;
        if (!seen.has(file)) order.push(file);
        seen.add(file);
        continue;
      }
      let key: string;
      try {
        const stat = statSync(path);
        if (!stat.isFile()) continue;
        key = `${stat.dev}:${stat.ino}`;
      } catch {
        // Renamed or removed between the listing and now: the next pass sees it. A segment compressed meanwhile
        // is taken here, in its place, as its .gz: found by the next pass, it would come after newer files.
        if (live) continue;
        const file = byName.get(id) ?? (await this.openCompressed(id, `${path}.gz`));
        if (this.closed) return false;
        if (!file) continue;
        file.missing = 0;
        if (!seen.has(file)) order.push(file);
        seen.add(file);
        continue;
      }
      let file = this.files.get(key);
      if (!file) {
        const opened = openFile(path, key);
        if (opened === null) continue;
        file = {
          id: this.nextFileId++,
          name,
          key,
          fd: opened,
          readOffset: 0,
          malformed: 0,
          truncated: 0,
          deep: 0,
          active: false,
          missing: 0,
        };
        this.files.set(key, file);
        this.filesById.set(file.id, file);
      }
      file.name = name;
      file.active = live;
      file.missing = 0;
      if (!seen.has(file)) order.push(file);
      seen.add(file);
    }
    return true;
  }

  /**
   * A compressed segment inflated into an unlinked temporary file (so the index
   * reads its entries by offset as any other's, and the space is freed when the
   * viewer closes or the segment is pruned); undefined when it cannot be read.
   */
  private async openCompressed(id: string, path: string): Promise<TrackedFile | undefined> {
    let fd: number;
    const dir = mkdtempSync(join(tmpdir(), "auditx-viewer-segment-"));
    try {
      fd = openSync(join(dir, id), "w+", 0o600);
    } catch {
      return undefined;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    try {
      let at = 0;
      for await (const chunk of readSegmentChunks({ path, compressed: true })) {
        for (let done = 0; done < chunk.length; ) done += writeSync(fd, chunk, done, chunk.length - done, at + done);
        at += chunk.length;
        if (this.closed) break;
      }
    } catch {
      closeQuietly(fd);
      return undefined; // pruned meanwhile, or damaged: the next listing decides
    }
    if (this.closed) {
      closeQuietly(fd);
      return undefined;
    }
    const file: TrackedFile = {
      id: this.nextFileId++,
      name: id,
      key: `gz:${id}`,
      fd,
      readOffset: 0,
      malformed: 0,
      active: false,
      missing: 0,
      truncated: 0,
      deep: 0,
    };
    this.files.set(file.key, file);
    this.filesById.set(file.id, file);
    return file;
  }

  private forget(file: TrackedFile): void {
    this.sink.dropFile(file.id);
    this.files.delete(file.key);
    this.filesById.delete(file.id);
    closeQuietly(file.fd);
  }

  /** Reads the complete lines past readOffset, up to `end` (and, in a finished file, a last line without newline). */
  private async readAppended(file: TrackedFile, end = Number.POSITIVE_INFINITY): Promise<void> {
    let position = file.readOffset;
    for (;;) {
      let buffer = this.readBuffer;
      let read: number;
      try {
        read = readSync(file.fd, buffer, 0, Math.min(buffer.length, end - position), position);
      } catch {
        break;
      }
      if (read <= 0) break;
      const atEnd = read < buffer.length;
      let consumed = this.readLines(file, buffer, read, position, atEnd && !file.active);
      if (consumed === 0 && !atEnd) {
        // A line longer than the buffer: grow up to maxLineBytes; past that it is indexed from its first bytes.
        if (buffer.length < this.maxLineBytes) {
          this.readBuffer = buffer = Buffer.allocUnsafeSlow(Math.min(this.maxLineBytes, buffer.length * 2));
          continue;
        }
        const prefix = buffer.toString("utf8", 0, Math.min(read, TRUNCATED_PREFIX_BYTES));
        const { end, terminated } = skipLine(file.fd, position + read, buffer);
        // A line still being written (no newline yet in the live file) is read once it is whole.
        if (!terminated && file.active) break;
        const suffix = readLineEnd(file.fd, position, end - position);
        this.sink.entry(file.id, position, end - position, truncatedEntry(prefix, suffix, end - position, this.maxLineBytes));
        file.truncated++;
        consumed = end - position;
      }
      position += consumed;
      file.readOffset = position;
      this.sink.flush();
      if (atEnd || this.closed) break;
      await yieldToEventLoop();
    }
    if (this.readBuffer.length > READ_CHUNK_BYTES) this.readBuffer = Buffer.allocUnsafeSlow(READ_CHUNK_BYTES);
  }

  /** Reads the complete lines of buffer[0, length); returns the bytes consumed. */
  private readLines(file: TrackedFile, buffer: Buffer, length: number, base: number, takeUnterminated: boolean): number {
    const chunk = buffer.subarray(0, length);
    const checkEachLine = !isUtf8(chunk);
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(10, start);
      if (newline < 0) break;
      this.readLine(file, chunk, start, newline, base, checkEachLine);
      start = newline + 1;
    }
    if (takeUnterminated && start < length) {
      this.readLine(file, chunk, start, length, base, checkEachLine);
      start = length;
    }
    return start;
  }

  private readLine(file: TrackedFile, chunk: Buffer, start: number, end: number, base: number, checkUtf8: boolean): void {
    // A byte order mark at the start of a file (an editor on Windows) is not part of the first entry.
    if (base + start === 0 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) start = 3;
    let stop = end;
    if (stop > start && chunk[stop - 1] === 13) stop--;
    if (stop === start) return;
    let entry: unknown;
    if (checkUtf8 && !isUtf8(chunk.subarray(start, stop))) {
      file.malformed++;
      return;
    }
    try {
      entry = JSON.parse(chunk.toString("utf8", start, stop));
    } catch {
      // Blank lines are not entries, nor errors.
      if (chunk.subarray(start, stop).toString("latin1").trim() !== "") file.malformed++;
      return;
    }
    if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
      file.malformed++;
      return;
    }
    if (exceedsDepth(entry)) file.deep++;
    this.sink.entry(file.id, base + start, end - start, entry as TrailEntry);
  }
}

/** Whether two listings hold the same segments (a segment compressed meanwhile is the same segment). */
function sameSegments(a: TrailSegment[], b: TrailSegment[]): boolean {
  return a.length === b.length && a.every((segment, i) => segment.id === b[i]?.id && segment.live === b[i]?.live);
}

/** Opens a file for reading and checks it is still the inode that was listed. */
function openFile(path: string, key: string): number | null {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return null;
  }
  try {
    const stat = fstatSync(fd);
    if (`${stat.dev}:${stat.ino}` === key) return fd;
  } catch {
    // fall through
  }
  closeQuietly(fd);
  return null;
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

/** The offset just past the next newline at or after `position`, or the end of the file (not terminated). */
function skipLine(fd: number, position: number, buffer: Buffer): { end: number; terminated: boolean } {
  let at = position;
  for (;;) {
    const read = readSync(fd, buffer, 0, buffer.length, at);
    if (read === 0) return { end: at, terminated: false };
    const newline = buffer.subarray(0, read).indexOf(10);
    if (newline >= 0) return { end: at + newline + 1, terminated: true };
    at += read;
  }
}
