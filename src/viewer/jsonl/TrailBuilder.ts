import { existsSync, openSync, readSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Chunk, learnHints } from "./Chunk.js";
import type { ChunkRecord, SegmentRecord, TrailCache } from "./IndexCache.js";
import type { JobPool } from "./JobPool.js";
import { CHUNK_BYTES, digest, HEAD_BYTES, TAIL_BYTES } from "./jobs.js";
import { closeQuietly, type Segment } from "./Segment.js";
import { SLICE_MS, Slicer } from "./Slicer.js";
import type { TrailState } from "./TrailState.js";

/** Chunk files read from the cache at once. */
const PARALLEL_LOADS = 8;
let temporaryCount = 0;

/**
 * Builds the index of a trail: at start from the cache for the segments it
 * still matches (same inode or name, size, digests of the head and of the
 * end) and by jobs on the worker threads for the rest, newest segments
 * first; later for what the follower hands it (large appends, new
 * segments, `.gz` segments).
 */
export class TrailBuilder {
  /** The first build is done. */
  built = false;
  /** Line stores being written by builds: not stale, though no manifest names them yet. */
  readonly storesInProgress = new Set<string>();
  private readonly running = new Set<Promise<void>>();
  /** The last plan of ranges asked for (plans run one after another). */
  private planning: Promise<void> = Promise.resolve();
  /** Line stores of `.gz` segments when there is no cache folder: in the temporary folder, removed at dispose. */
  private readonly temporaryStores: string[] = [];

  constructor(
    private readonly state: TrailState,
    private readonly pool: JobPool,
    private readonly cache: TrailCache | null,
  ) {}

  /** Whether everything listed is indexed (false during the first build and while jobs run). */
  get complete(): boolean {
    return this.built && this.running.size === 0;
  }

  /**
   * The first build: the cache's chunks for the segments it still matches,
   * jobs for the rest, newest segments first. Resolves when all is indexed;
   * queries answer (partially) from the start.
   */
  async build(): Promise<void> {
    this.state.followedSince = Date.now();
    const files = this.state.listFiles();
    const manifest = this.cache ? await this.cache.load() : null;
    const records = manifest?.segments ?? [];
    for (const file of files) {
      const segment = this.state.createSegment(file);
      if (!segment) continue;
      this.state.segments.push(segment);
      this.state.byKey.set(segment.key, segment);
    }
    // What recognising and planning read of each file (its head, its end, where ranges end) is read on the
    // thread pool first: the reads on the event loop below then find it in the page cache, not on the disk.
    await Promise.all(this.state.segments.map((segment) => prefetchPlanned(segment)));
    if (this.state.closed) return;
    const loads: Array<() => Promise<void>> = [];
    let kept = 0;
    for (let s = this.state.segments.length - 1; s >= 0; s--) {
      const segment = this.state.segments[s]!;
      const record =
        records.find((r) => r.key === segment.key && r.kind === segment.kind) ??
        records.find((r) => r.name === segment.name && r.kind === segment.kind);
      if (record && this.matches(segment, record)) {
        kept += this.reuse(segment, record, kept, loads);
        continue;
      }
      if (segment.kind === "gzip") this.startGzipBuild(segment);
      else this.planRanges(segment, 0, segment.fileSize);
    }
    // Chunk files newest first, a few at a time.
    const queue = loads.slice();
    const loaders = Array.from({ length: PARALLEL_LOADS }, async () => {
      for (let load = queue.shift(); load && !this.state.closed; load = queue.shift()) await load();
    });
    this.track(Promise.all(loaders).then(() => {}));
    await this.settle();
    if (this.state.closed) return;
    this.state.enforceLimit();
    this.built = true;
    this.state.dirty = true;
  }

  /** Waits until no build runs (builds may start others). */
  async settle(): Promise<void> {
    while (this.running.size > 0 && !this.state.closed) await Promise.allSettled([...this.running]);
  }

  private track(build: Promise<void>): Promise<void> {
    const tracked = build
      .catch(() => {})
      .finally(() => {
        this.running.delete(tracked);
        this.state.dirty = true;
      });
    this.running.add(tracked);
    return tracked;
  }

  /** Whether a cached segment is this file as it was indexed: same size (or grown), same head and tail bytes. */
  private matches(segment: Segment, record: SegmentRecord): boolean {
    try {
      if (segment.kind === "gzip") {
        if (record.fileSize !== segment.fileSize || !record.store || !this.cache) return false;
        if (!existsSync(join(this.cache.dir, record.store))) return false;
        const digests = fileDigests(segment.path, segment.fileSize);
        return digests.head === record.fileHead && digests.tail === record.fileTail;
      }
      if (segment.fileSize < record.contentEnd) return false;
      const head = segment.read(0, Math.min(HEAD_BYTES, record.contentEnd));
      const tail = segment.read(Math.max(0, record.contentEnd - TAIL_BYTES), record.contentEnd);
      return head !== null && tail !== null && digest(head) === record.head && digest(tail) === record.tail;
    } catch {
      return false;
    }
  }

  /** Takes a cached segment's chunks (loaded by `loads`, newest first) and plans what was appended; returns the entries kept. */
  private reuse(segment: Segment, record: SegmentRecord, kept: number, loads: Array<() => Promise<void>>): number {
    const cache = this.cache!;
    if (segment.kind === "gzip") {
      try {
        segment.useStore(join(cache.dir, record.store!), segment.key, segment.fileSize);
      } catch {
        this.startGzipBuild(segment);
        return 0;
      }
      this.state.gzipDigests.set(segment, { head: record.head, tail: record.tail, fileHead: record.fileHead!, fileTail: record.fileTail! });
    }
    segment.skippedLines = record.skippedLines ?? 0;
    segment.plannedEnd = record.contentEnd;
    const epoch = segment.epoch;
    let evictedEnd = 0;
    let evictedCount = 0;
    let keptHere = 0;
    const chunks = [...record.chunks].sort((a, b) => b.start - a.start);
    for (const chunk of chunks) {
      if (chunk.file === "" || kept + keptHere >= this.state.options.maxEntries) {
        // Older than what maxEntries keeps: counted, not loaded.
        evictedEnd = Math.max(evictedEnd, chunk.end);
        evictedCount += chunk.count;
        continue;
      }
      keptHere += chunk.count;
      loads.push(() => this.loadChunk(segment, chunk, epoch));
    }
    if (evictedCount > 0) this.state.evictedUpTo.set(segment, { end: evictedEnd, count: evictedCount });
    // Ranges no chunk covers (a build stopped halfway), then what was appended.
    if (segment.kind === "plain") {
      const covered = [...record.chunks].sort((a, b) => a.start - b.start);
      let at = evictedEnd;
      for (const chunk of covered) {
        if (chunk.end <= at) continue;
        if (chunk.start > at) this.startRange(segment, at, chunk.start, true);
        at = chunk.end;
      }
      if (at < record.contentEnd) this.startRange(segment, at, record.contentEnd, true);
      this.planRanges(segment, record.contentEnd, segment.fileSize);
    }
    return keptHere;
  }

  private async loadChunk(segment: Segment, record: ChunkRecord, epoch: number): Promise<void> {
    try {
      const chunk = new Chunk(await this.cache!.loadChunk(record.file));
      if (chunk.start !== record.start || chunk.end !== record.end) throw new Error("chunk file does not match");
      if (this.state.closed || segment.epoch !== epoch) return;
      segment.insert(chunk);
      this.state.chunkCounts.loaded++;
      this.state.written.set(chunk, record.file);
      learnHints(this.state.hints, chunk.data);
    } catch {
      // Unreadable: index that range again.
      if (this.state.closed || segment.epoch !== epoch) return;
      if (segment.kind === "plain") this.startRange(segment, record.start, record.end, true);
      else {
        this.state.release(segment, false);
        segment.reset();
        this.startGzipBuild(segment);
      }
    }
  }

  /**
   * Plans the build of [from, size) of a plain segment as ranges of about
   * CHUNK_BYTES cut at newlines, started newest first. A live segment's
   * unterminated last line is left for later. The planned end is set now;
   * the cuts are found in slices (a read per cut: thousands for a trail of
   * many gigabytes), so that requests are answered meanwhile.
   */
  planRanges(segment: Segment, from: number, size: number): void {
    const finished = !segment.live;
    const end = finished ? size : lastLineEnd(segment.fd, from, size);
    if (end <= from) return;
    segment.plannedEnd = end;
    const epoch = segment.epoch;
    const release = segment.hold();
    segment.building++;
    // One plan at a time, in the order asked (newest segments first): their jobs queue in that order.
    const previous = this.planning;
    const plan = this.track(
      (async () => {
        try {
          await previous;
          const slicer = new Slicer(SLICE_MS);
          // Cuts to find (reads): from a turn of their own. A range without any is started at once, as the file is small.
          if (end - from > CHUNK_BYTES) await slicer.yield();
          if (this.state.closed || segment.epoch !== epoch) return;
          const ranges: Array<[number, number]> = [];
          for (let start = from; start < end; ) {
            let stop = Math.min(end, start + CHUNK_BYTES);
            if (stop < end) stop = Math.min(end, nextLineStart(segment.fd, stop, end));
            ranges.push([start, stop]);
            start = stop;
            await slicer.pause();
            if (this.state.closed || segment.epoch !== epoch) return;
          }
          for (let r = ranges.length - 1; r >= 0; r--)
            this.startRange(segment, ranges[r]![0], ranges[r]![1], finished || r < ranges.length - 1);
        } finally {
          segment.building--;
          release();
        }
      })(),
    );
    this.planning = plan;
  }

  /** Builds [start, end) of a plain segment on a worker, as one chunk or more. */
  private startRange(segment: Segment, start: number, end: number, finished: boolean): void {
    const epoch = segment.epoch;
    const release = segment.hold();
    segment.building++;
    this.track(
      (async () => {
        try {
          for (let from = start; from < end && !this.state.closed && segment.epoch === epoch; ) {
            const data = await this.pool.buildRange({
              kind: "range",
              fd: segment.fd,
              start: from,
              end,
              finished,
              maxLineBytes: this.state.options.maxLineBytes,
              hints: this.state.hintLists(),
            });
            if (this.state.closed || segment.epoch !== epoch) return;
            segment.insert(new Chunk(data));
            this.state.chunkCounts.built++;
            learnHints(this.state.hints, data);
            this.state.enforceLimit();
            if (data.end <= from) break;
            from = data.end;
          }
        } finally {
          segment.building--;
          release();
        }
      })(),
    );
  }

  /**
   * Builds a `.gz` segment on a worker: its line store and its chunks, shown
   * all at once when done (`onBuilt` is called right then, in the same turn);
   * the promise resolves after that, or once the build failed.
   */
  startGzipBuild(segment: Segment, onBuilt?: () => void): Promise<void> {
    const epoch = segment.epoch;
    const storePath = this.cache?.writable ? this.cache.newPath("s", ".lines") : this.temporaryStorePath();
    segment.building++;
    this.storesInProgress.add(storePath);
    return this.track(
      (async () => {
        const chunks: Chunk[] = [];
        try {
          const path = segment.path;
          const result = await this.pool.buildGzip(
            { kind: "gzip", path, storePath, maxLineBytes: this.state.options.maxLineBytes, hints: this.state.hintLists() },
            (data) => chunks.push(new Chunk(data)),
          );
          if (this.state.closed || segment.epoch !== epoch) return;
          const file = fileDigests(path, segment.fileSize);
          segment.useStore(storePath, segment.key, segment.fileSize);
          segment.chunks = chunks;
          this.state.chunkCounts.built += chunks.length;
          segment.plannedEnd = result.size;
          segment.error = null;
          this.state.gzipDigests.set(segment, { head: result.head, tail: result.tail, fileHead: file.head, fileTail: file.tail });
          for (const chunk of chunks) learnHints(this.state.hints, chunk.data);
          const replaced = this.state.replacing.get(segment);
          if (replaced) {
            this.state.replacing.delete(segment);
            this.state.forget(replaced, true);
          }
          this.state.generation++;
          this.state.enforceLimit();
          try {
            onBuilt?.();
          } catch {
            // Telling live views is not the build's concern: the index stands.
          }
        } catch (error) {
          if (segment.epoch === epoch) segment.error = error instanceof Error ? error.message : String(error);
          const replaced = this.state.replacing.get(segment);
          if (replaced) {
            this.state.replacing.delete(segment);
            this.state.forget(replaced);
          }
        } finally {
          segment.building--;
          this.storesInProgress.delete(storePath);
        }
      })(),
    );
  }

  private temporaryStorePath(): string {
    const path = join(tmpdir(), `auditx-lines-${process.pid}-${++temporaryCount}.lines`);
    this.temporaryStores.push(path);
    return path;
  }

  /** Lets go of what the builds made for this run only. */
  async dispose(): Promise<void> {
    await Promise.allSettled([...this.running]);
    for (const path of this.temporaryStores.splice(0)) await rm(path, { force: true }).catch(() => {});
  }
}

/** Prefetch reads in flight at once per segment: the thread pool's size (more only queue, each a task of this thread to start). */
const PREFETCH_READS = 4;

/**
 * prefetch() of what build() reads of a plain segment: its head, its end,
 * and the line that crosses each CHUNK_BYTES (a few reads at a time).
 */
async function prefetchPlanned(segment: Segment): Promise<void> {
  if (segment.kind !== "plain") return;
  const size = segment.fileSize;
  const reads: Array<[number, number]> = [
    [0, Math.min(size, HEAD_BYTES)],
    [Math.max(0, size - TAIL_BYTES), size],
  ];
  for (let at = CHUNK_BYTES; at < size; at += CHUNK_BYTES) reads.push([at, Math.min(size, at + LINE_PROBE_BYTES)]);
  let next = 0;
  const reader = async () => {
    for (let read = reads[next++]; read; read = reads[next++]) await segment.prefetch(read[0], read[1]);
  };
  await Promise.all(Array.from({ length: PREFETCH_READS }, reader));
}

/** Digests of a file's first 4 KiB and last 64 KiB. */
function fileDigests(path: string, size: number): { head: string; tail: string } {
  const fd = openSync(path, "r");
  try {
    const head = Buffer.alloc(Math.min(HEAD_BYTES, size));
    readSync(fd, head, 0, head.length, 0);
    const tail = Buffer.alloc(Math.min(TAIL_BYTES, size));
    readSync(fd, tail, 0, tail.length, size - tail.length);
    return { head: digest(head), tail: digest(tail) };
  } finally {
    closeQuietly(fd);
  }
}

/** The content offset just past the last newline in [from, size) (from when there is none). */
function lastLineEnd(fd: number, from: number, size: number): number {
  const buffer = Buffer.allocUnsafe(64 * 1024);
  for (let end = size; end > from; ) {
    const start = Math.max(from, end - buffer.length);
    const read = readSync(fd, buffer, 0, end - start, start);
    const newline = buffer.subarray(0, read).lastIndexOf(10);
    if (newline >= 0) return start + newline + 1;
    end = start;
  }
  return from;
}

/** Read for a line's end: most lines end within it (a longer one takes more reads). */
const LINE_PROBE_BYTES = 4096;
const lineProbe = Buffer.allocUnsafe(LINE_PROBE_BYTES);

/** The offset just past the next newline at or after `position` (or `end`). */
function nextLineStart(fd: number, position: number, end: number): number {
  for (let at = position; at < end; ) {
    const read = readSync(fd, lineProbe, 0, Math.min(lineProbe.length, end - at), at);
    if (read === 0) return end;
    const newline = lineProbe.subarray(0, read).indexOf(10);
    if (newline >= 0) return at + newline + 1;
    at += read;
  }
  return end;
}
