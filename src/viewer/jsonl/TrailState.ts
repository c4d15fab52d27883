import { fstatSync, openSync, type Stats, statSync } from "node:fs";
import { join } from "node:path";
import { listTrailSegments, segmentRotatedAt } from "../../trail/segments.js";
import { Chunk, type ChunkView, type HintLists, learnHints } from "./Chunk.js";
import { closeQuietly, Segment } from "./Segment.js";

export interface TrailIndexOptions {
  /** Entries kept; past it the oldest are forgotten, 10% at a time. */
  maxEntries: number;
  /** Longest line read whole; longer ones are indexed and shown from their first and last bytes, and counted as truncated. */
  maxLineBytes: number;
}

/** A chunk as queries see it: with its segment, and the first entry still kept. */
export interface Part {
  view: ChunkView;
  segment: Segment;
  first: number;
}

/** A file of the trail as listed now. */
export interface ListedFile {
  name: string;
  path: string;
  live: boolean;
  compressed: boolean;
  key: string;
  size: number;
}

/**
 * What the index of one trail holds: its segments in trail order (each with
 * its chunks), the entries forgotten for maxEntries, and what the builds,
 * the file follower, the queries and the cache share about them. Its
 * methods keep the invariants: segments known by inode, entries in trail
 * order, at most maxEntries kept.
 */
export class TrailState {
  readonly segments: Segment[] = [];
  readonly byKey = new Map<string, Segment>();
  /** Chunks whose oldest entries are forgotten: the first one kept. */
  readonly trimmed = new Map<ChunkView, number>();
  /** Fields found raw, or templated, in earlier chunks: later builds start them so. */
  readonly hints = { raw: new Set<string>(), template: new Set<string>() };
  /** A `.gz` segment being built -> the plain segment it replaces (served until then). */
  readonly replacing = new Map<Segment, Segment>();
  /** Where each segment's entries forgotten for maxEntries end, and how many. */
  readonly evictedUpTo = new Map<Segment, { end: number; count: number }>();
  /** Digests of a `.gz` segment's content and file, from its build or the cache. */
  readonly gzipDigests = new Map<Segment, { head: string; tail: string; fileHead: string; fileTail: string }>();
  /** The cache file each chunk was read from or written to. */
  readonly written = new WeakMap<ChunkView, string>();
  /** Chunks read back from the cache, and built from the files (by jobs), since start. */
  readonly chunkCounts = { loaded: 0, built: 0 };
  /** Bumped whenever entries are forgotten or a segment is dropped; exports stop on it. */
  generation = 0;
  /** Entries forgotten in chunks that are still kept (trimmed). */
  evictedEntries = 0;
  /**
   * Entries removed with their segment since start (deleted by retention, or
   * read again after a truncation in place): like forgotten ones, they keep
   * their place in the trail's cursor count.
   */
  dropped = 0;
  closed = false;
  /** When the first build listed the files: a segment rotated since holds lines written while the trail was followed. */
  followedSince = Number.POSITIVE_INFINITY;
  /** Something changed since the cache was written. */
  dirty = false;

  constructor(
    readonly dir: string,
    readonly baseName: string,
    readonly options: TrailIndexOptions,
  ) {}

  /** Whether a segment was rotated (named) after the first build listed the files: not one copied in from elsewhere. */
  rotatedWhileFollowed(segment: Segment): boolean {
    const rotatedAt = segmentRotatedAt(this.baseName, segment.name);
    return rotatedAt !== undefined && rotatedAt >= this.followedSince;
  }

  /** The hints, as a build job takes them. */
  hintLists(): HintLists {
    return { raw: [...this.hints.raw], template: [...this.hints.template] };
  }

  get evicted(): number {
    let count = this.evictedEntries;
    for (const { count: forgotten } of this.evictedUpTo.values()) count += forgotten;
    return count;
  }

  /** The trail cursor before the first entry kept: the entries forgotten or removed before it. */
  get cursorBase(): number {
    return this.evicted + this.dropped;
  }

  /** Entries kept in the segments up to and including `segment`, in trail order. */
  entriesThrough(segment: Segment): number {
    let count = 0;
    for (const listed of this.segments) {
      for (const view of listed.views()) count += view.count - (this.trimmed.get(view) ?? 0);
      if (listed === segment) break;
    }
    return count;
  }

  /** Entries of one segment kept: indexed, not forgotten. */
  keptIn(segment: Segment): number {
    let count = 0;
    for (const view of segment.views()) count += view.count - (this.trimmed.get(view) ?? 0);
    return count;
  }

  /** Entries kept: indexed, not forgotten. */
  get count(): number {
    let count = 0;
    for (const segment of this.segments) for (const view of segment.views()) count += view.count - (this.trimmed.get(view) ?? 0);
    return count;
  }

  /** The chunks with entries, newest first. */
  parts(): Part[] {
    const parts: Part[] = [];
    for (let s = this.segments.length - 1; s >= 0; s--) {
      const segment = this.segments[s]!;
      const views = segment.views();
      for (let v = views.length - 1; v >= 0; v--) {
        const view = views[v]!;
        const first = this.trimmed.get(view) ?? 0;
        if (view.count > first) parts.push({ view, segment, first });
      }
    }
    return parts;
  }

  /**
   * The trail's files now, oldest first, each with the inode it holds. The
   * listing never shows a file without every older one still on disk: a
   * follower that read a newer file first would stream a writer's lines out
   * of order (its last lines in the rotated file after its next ones in the
   * new live file). The folder is read after the live file is stat'ed, so a
   * rotation in between shows as the segment the live file became, never as
   * the next live file alone; a plain segment compressed between the folder
   * listing and its stat is taken in its `.gz` form.
   */
  listFiles(): ListedFile[] {
    const live = statQuietly(join(this.dir, this.baseName));
    const files: ListedFile[] = [];
    const keys = new Set<string>();
    for (const listed of listTrailSegments(this.dir, this.baseName)) {
      let { name, path, compressed } = listed;
      let stat = listed.live ? live : statQuietly(path);
      // Compressed since the folder was read: its `.gz` was written before the plain file went.
      const gzip = stat || compressed || listed.live ? undefined : statQuietly(`${path}.gz`);
      if (gzip) {
        name = `${name}.gz`;
        path = `${path}.gz`;
        compressed = true;
        stat = gzip;
      }
      // Gone since the folder was read (pruned, or a live file removed): nothing newer depends on it.
      if (!stat?.isFile()) continue;
      const key = `${stat.dev}:${stat.ino}`;
      // The live file stat'ed before the listing and rotated since: it is listed under its segment's name already.
      if (keys.has(key)) continue;
      keys.add(key);
      files.push({ name, path, live: listed.live, compressed, key, size: stat.size });
    }
    return files;
  }

  createSegment(file: ListedFile): Segment | null {
    if (file.compressed) {
      const segment = new Segment(file.name, file.path, file.key, "gzip", -1);
      segment.maxLineBytes = this.options.maxLineBytes;
      segment.fileSize = file.size;
      return segment;
    }
    const fd = openFile(file.path, file.key);
    if (fd === null) {
      // A rotated segment compressed since it was listed: its `.gz` holds the same lines (skipping it would let newer files be read first).
      if (file.live) return null;
      const gzip = statQuietly(`${file.path}.gz`);
      if (!gzip?.isFile()) return null;
      const name = `${file.name}.gz`;
      return this.createSegment({
        name,
        path: `${file.path}.gz`,
        live: false,
        compressed: true,
        key: `${gzip.dev}:${gzip.ino}`,
        size: gzip.size,
      });
    }
    const segment = new Segment(file.name, file.path, file.key, "plain", fd);
    segment.maxLineBytes = this.options.maxLineBytes;
    segment.fileSize = file.size;
    segment.live = file.live;
    return segment;
  }

  /**
   * Drops a segment and its index. Its entries count as removed (`dropped`),
   * unless `replaced`: another segment (its `.gz`) holds them again.
   */
  forget(segment: Segment, replaced = false): void {
    const index = this.segments.indexOf(segment);
    if (index >= 0) this.segments.splice(index, 1);
    if (this.byKey.get(segment.key) === segment) this.byKey.delete(segment.key);
    this.release(segment, !replaced);
    this.gzipDigests.delete(segment);
    segment.reset();
    segment.close();
    this.generation++;
  }

  /**
   * Takes the entries of a segment's index, kept or forgotten, out of the
   * counts before its index is thrown away; into `dropped` when they are
   * gone from the trail, so that the cursors of later entries stay as they were.
   */
  release(segment: Segment, dropped: boolean): void {
    let count = 0;
    for (const view of segment.views()) {
      const first = this.trimmed.get(view);
      if (first !== undefined) {
        this.evictedEntries -= first;
        this.trimmed.delete(view);
      }
      count += view.count;
    }
    const forgotten = this.evictedUpTo.get(segment);
    if (forgotten) {
      count += forgotten.count;
      this.evictedUpTo.delete(segment);
    }
    if (dropped) this.dropped += count;
  }

  /** Past maxEntries, forgets the oldest entries: enough to be 10% under it. */
  enforceLimit(): void {
    const max = this.options.maxEntries;
    let total = this.count;
    if (total <= max) return;
    let drop = total - max + Math.ceil(max / 10);
    for (const segment of [...this.segments]) {
      for (const view of segment.views()) {
        if (drop <= 0) break;
        const first = this.trimmed.get(view) ?? 0;
        const visible = view.count - first;
        if (visible <= drop && view !== segment.open) {
          segment.chunks.splice(segment.chunks.indexOf(view as Chunk), 1);
          this.trimmed.delete(view);
          // Its trimmed entries were counted apart: they move with the rest of it.
          this.evictedEntries -= first;
          const forgotten = this.evictedUpTo.get(segment) ?? { end: 0, count: 0 };
          this.evictedUpTo.set(segment, { end: Math.max(forgotten.end, view.end), count: forgotten.count + visible + first });
          drop -= visible;
          total -= visible;
        } else {
          const take = Math.min(drop, visible);
          this.trimmed.set(view, first + take);
          this.evictedEntries += take;
          drop -= take;
          total -= take;
        }
      }
      if (drop <= 0) break;
    }
    this.generation++;
  }

  seal(segment: Segment): void {
    const open = segment.open;
    if (!open) return;
    segment.open = null;
    if (open.end <= open.start) return;
    const chunk = new Chunk(open.seal());
    learnHints(this.hints, chunk.data);
    segment.insert(chunk);
  }
}

function statQuietly(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
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
