import { fstatSync, readSync } from "node:fs";
import { entryIdOf } from "../../entry/entryId.js";
import type { TrailEntry } from "../TrailSource.js";
import { exceedsDepth } from "../viewableEntry.js";
import { overlongLine, parseLines } from "./lines.js";
import type { Segment } from "./Segment.js";
import { SLICE_MS, Slicer } from "./Slicer.js";
import type { TrailBuilder } from "./TrailBuilder.js";
import type { TrailState } from "./TrailState.js";

const TAIL_READ_BYTES = 1024 * 1024;
/** Appended content up to this is read here (and pushed live); more is built by jobs on the workers. */
const TAIL_READ_LIMIT = 64 * 1024 * 1024;
/** Listings a still-linked file may be absent from before it is forgotten (readdir can miss a file being renamed). */
const MISSING_LISTINGS_BEFORE_FORGET = 3;
/** Entries of a newly found `.gz` segment told at once. */
const TELL_BATCH = 1000;

/**
 * Follows the files of a trail once its first build is done: appends (read
 * here, in slices, and told to listeners: the live feed), renames by inode
 * (rotation), a segment replaced by its `.gz`, truncation in place, deleted
 * segments. What is large goes to the builder.
 */
export class TrailFollower {
  private readonly listeners = new Set<(entries: TrailEntry[], cursor: number) => void>();
  private running: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly state: TrailState,
    private readonly builder: TrailBuilder,
  ) {}

  /**
   * Calls `listener` with the entries each refresh finds appended (not those
   * of builds), each with its `id` (derived for a line without one), and the
   * trail cursor of the last of them.
   */
  onAppend(listener: (entries: TrailEntry[], cursor: number) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Resolves once a refresh running now is done. */
  async idle(): Promise<void> {
    await this.running?.catch(() => {});
  }

  /**
   * Brings the index up to date with the files. Calls made while one runs are
   * folded into one more pass, so refreshes never overlap.
   */
  refresh(notify = true): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.refreshOnce(notify, new Slicer(SLICE_MS));
        } while (this.again && !this.state.closed);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  private async refreshOnce(notify: boolean, slicer: Slicer): Promise<void> {
    if (this.state.closed || !this.builder.built) return;
    const files = this.state.listFiles();
    const seen = new Set<Segment>();
    const order: Segment[] = [];
    const fresh: Segment[] = [];
    for (const file of files) {
      let segment = this.state.byKey.get(file.key);
      if (!segment) {
        const created = this.state.createSegment(file);
        if (!created) continue;
        segment = created;
        this.state.byKey.set(segment.key, segment);
        fresh.push(segment);
      }
      // (A plain file compressed before it could be opened is taken as its `.gz`: keep that one's name.)
      if (segment.key === file.key) {
        segment.name = file.name;
        segment.path = file.path;
        segment.live = file.live;
      }
      segment.missing = 0;
      if (!seen.has(segment)) order.push(segment);
      seen.add(segment);
    }
    // A `.gz` segment that appeared for a plain one that is gone replaces it once built: the plain one serves until then.
    // One rotated while followed whose plain form was never read here (rotated and compressed between two passes)
    // holds entries nobody was told of: they are told once it is built, before anything newer is read, so that each
    // writer's order holds. (One rotated before, copied in from an archive, is history: indexed, not told.)
    const gzips: Array<{ segment: Segment; announce: boolean }> = [];
    for (const segment of fresh) {
      if (segment.kind !== "gzip") continue;
      const plainName = segment.name.slice(0, -3);
      const plain = this.state.segments.find((s) => s.kind === "plain" && s.name === plainName && !seen.has(s));
      if (plain) {
        this.state.replacing.set(segment, plain);
        order.splice(order.indexOf(segment), 0, plain);
        seen.add(plain);
      }
      gzips.push({ segment, announce: !plain && notify && this.state.rotatedWhileFollowed(segment) });
    }
    // Sizes taken newest segment first, read up to them oldest first: a writer that wrote to a
    // rotated segment and then to the next one has both lines read, in that order, in this pass.
    const sizes = new Map<Segment, number>();
    const snapshot = [...order].reverse().concat([...this.state.segments].reverse().filter((s) => !seen.has(s)));
    for (const segment of snapshot) {
      if (segment.kind !== "plain" || segment.fd < 0) continue;
      try {
        sizes.set(segment, fstatSync(segment.fd).size);
      } catch {
        // unreadable: skipped below
      }
    }
    // (A copy: forgetting one takes it out of the list, which would skip the next.)
    for (const segment of [...this.state.segments]) {
      if (seen.has(segment) || [...this.state.replacing.values()].includes(segment)) continue;
      // A listing taken during a rename may miss a file that is still there:
      // forgetting it would index it again as new. Forget only what was deleted
      // (no link left), or what stays away from several listings (moved elsewhere).
      let deleted = true;
      if (segment.kind === "plain") {
        try {
          deleted = fstatSync(segment.fd).nlink === 0;
        } catch {
          // unreadable: treat as deleted
        }
        // Its new lines first: they are older than the live file's. A deleted file will
        // not grow any more, so its last line counts even without a newline.
        if (deleted) segment.live = false;
        await this.readAppended(segment, notify, slicer, sizes.get(segment));
      }
      if (deleted || ++segment.missing >= MISSING_LISTINGS_BEFORE_FORGET) this.state.forget(segment);
      else {
        // Still there somewhere: keep its place among the others.
        const next = this.state.segments.slice(this.state.segments.indexOf(segment) + 1).find((s) => order.includes(s));
        order.splice(next ? order.indexOf(next) : order.length, 0, segment);
      }
    }
    this.state.segments.splice(0, this.state.segments.length, ...order);
    // Built once in their place among the segments: what they hold is counted, and told, where it belongs.
    const announced = new Map<Segment, Promise<void>>();
    for (const { segment, announce } of gzips) {
      const build = this.builder.startGzipBuild(segment, announce ? () => this.tellBuilt(segment) : undefined);
      if (announce) announced.set(segment, build);
    }
    for (const segment of order) {
      if (this.state.closed) return;
      const build = announced.get(segment);
      if (build) {
        await build;
        continue;
      }
      if (segment.kind !== "plain" || segment.fd < 0) continue;
      const size = sizes.get(segment);
      if (size === undefined) continue;
      segment.fileSize = size;
      if (size < segment.plannedEnd) {
        // Truncated in place (copytruncate): index it again from the start.
        this.state.release(segment, true);
        segment.reset();
        this.state.generation++;
      }
      if (size <= segment.plannedEnd) continue;
      // A large segment met already rotated is built on the workers, unless it was rotated while followed
      // (it holds lines written since the last pass, to be told).
      const copiedIn = fresh.includes(segment) && !segment.live && !this.state.rotatedWhileFollowed(segment);
      if (size - segment.plannedEnd > TAIL_READ_LIMIT || (copiedIn && size > TAIL_READ_BYTES))
        this.builder.planRanges(segment, segment.plannedEnd, size);
      else await this.readAppended(segment, notify, slicer, size);
    }
    for (const segment of order) if (!segment.live && segment.building === 0) this.state.seal(segment);
    this.state.enforceLimit();
  }

  /**
   * Reads what was appended to a plain segment, up to `end` when given, into
   * its open chunk (sealing it when full), telling listeners.
   */
  private async readAppended(segment: Segment, notify: boolean, slicer: Slicer, end?: number): Promise<void> {
    if (segment.kind !== "plain" || segment.fd < 0) return;
    const finished = !segment.live;
    let buffer = Buffer.allocUnsafe(TAIL_READ_BYTES);
    let position = segment.plannedEnd;
    const collected: TrailEntry[] | null = notify && this.listeners.size > 0 ? [] : null;
    for (;;) {
      const want = end === undefined ? buffer.length : Math.min(buffer.length, end - position);
      if (want <= 0) break;
      let read: number;
      try {
        read = readSync(segment.fd, buffer, 0, want, position);
      } catch {
        break;
      }
      if (read === 0) break;
      const atEnd = read < want || (end !== undefined && position + read >= end);
      const builder = segment.openChunk(this.state.hints);
      const sink = {
        entry: (offset: number, entry: TrailEntry, line: string) => {
          if (exceedsDepth(entry)) builder.deep++;
          builder.add(offset, entry);
          if (collected) {
            // Indexed as written; the live copy carries the id every source gives.
            if (entry.id === undefined) entry.id = entryIdOf(entry, line);
            collected.push(entry);
          }
        },
        malformed: () => {
          builder.malformed++;
        },
        get full() {
          return builder.full;
        },
      };
      let consumed = parseLines(buffer, read, position, atEnd && finished, sink);
      if (consumed === 0 && !atEnd && !builder.full) {
        // A line longer than the buffer: grow up to maxLineBytes; past that it is indexed from its first and last bytes.
        const { maxLineBytes } = this.state.options;
        if (buffer.length < maxLineBytes) {
          buffer = Buffer.allocUnsafe(Math.min(maxLineBytes, buffer.length * 2));
          continue;
        }
        const overlong = overlongLine(
          segment.fd,
          position,
          buffer.subarray(0, read),
          end ?? Number.POSITIVE_INFINITY,
          maxLineBytes,
          buffer,
        );
        // A line still being written (no newline yet in the live file) is indexed once it is whole.
        if (!overlong.terminated && !finished) break;
        builder.add(position, overlong.entry);
        builder.truncated++;
        collected?.push(overlong.entry);
        consumed = overlong.end - position;
      }
      position += consumed;
      builder.end = position;
      segment.plannedEnd = position;
      if (builder.full) this.state.seal(segment);
      if (collected && collected.length > 0) this.tell(collected.splice(0), this.state.cursorBase + this.state.entriesThrough(segment));
      if ((atEnd && !builder.full) || this.state.closed) break;
      await slicer.pause();
    }
    this.state.dirty = true;
  }

  /**
   * Tells listeners the entries of a `.gz` segment (those still kept), in
   * batches; called as its build places them in the index, so that no replay
   * reads them from the index before they are told.
   */
  private tellBuilt(segment: Segment): void {
    if (this.listeners.size === 0 || segment.error !== null || this.state.closed || !this.state.segments.includes(segment)) return;
    let cursor = this.state.cursorBase + this.state.entriesThrough(segment) - this.state.keptIn(segment);
    for (const view of segment.views()) {
      for (let from = this.state.trimmed.get(view) ?? 0; from < view.count; from += TELL_BATCH) {
        const indexes = Array.from({ length: Math.min(TELL_BATCH, view.count - from) }, (_, k) => from + k);
        // An entry unreadable now (its store changed under us) is left out; the others keep their cursors.
        let run: TrailEntry[] = [];
        for (const read of segment.readEntries(view, indexes)) {
          if (read) {
            run.push(read.entry);
            cursor++;
            continue;
          }
          if (run.length > 0) this.tell(run, cursor);
          run = [];
          cursor++;
        }
        if (run.length > 0) this.tell(run, cursor);
      }
    }
  }

  private tell(entries: TrailEntry[], cursor: number): void {
    for (const listener of this.listeners) {
      try {
        listener(entries, cursor);
      } catch {
        // A live view's failure must not stop the index.
      }
    }
  }
}
