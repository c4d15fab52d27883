/**
 * One trail of one log folder as the shipper's journal: its segments (the
 * live file, rotated and compressed ones, legacy numbered backups) matched
 * to the cursor by fingerprint, read from the cursor's offsets in batches of
 * COPY rows, and the backlog (bytes, lines, age of the oldest line) not yet
 * in the store.
 */
import { isUtf8 } from "node:buffer";
import type { FileHandle } from "node:fs/promises";
import { timestampMillis } from "../internal/timestampMillis.js";
import { listTrailSegments, type TrailSegment } from "../trail/segments.js";
import { type CopyRow, copyRowOf, type RowDefaults } from "./copyRow.js";
import { LineReader } from "./LineReader.js";
import type { SegmentCursor, ShipCursor } from "./ShipCursor.js";
import { gunzipFrom, openSegment } from "./segmentFile.js";
import { segmentFingerprint } from "./segmentFingerprint.js";

export interface JournalOptions {
  logDir: string;
  /** The trail file shipped (default audit.jsonl: every entry; security.jsonl holds copies of some). */
  trail?: string;
  /** Longest line read; longer ones are skipped and counted (default 16 MiB). */
  maxLineBytes?: number;
  /**
   * A rotated segment that has not changed for this long is finished: its
   * last line is read even without a newline, and it is not looked at again
   * (default 5 s: writers in other processes notice a rotation within 1 s).
   */
  settleMs?: number;
  /** Values for lines that lack them (the service of a folder of one service). */
  defaults?: RowDefaults;
}

/** Lines read from one segment, ready to COPY, and where the cursor goes once they are stored. */
export interface JournalBatch {
  key: string;
  segment: string;
  rows: CopyRow[];
  /** Malformed, torn or overlong lines in the batch: counted, never stored. */
  skipped: number;
  /** Newline-terminated lines consumed (for the backlog count). */
  consumedLines: number;
  end: number;
  /** The segment is finished and read to its end with this batch. */
  done: boolean;
}

export interface JournalBacklog {
  /** Bytes of the trail not yet shipped. */
  bytes: number;
  /** Lines not yet shipped (counted in the bytes above; compressed segments once decompressed). */
  records: number;
  /** Segments with something left to ship. */
  segments: number;
  /** Entry time of the oldest line not yet shipped (epoch ms), or null when there is none. */
  oldestMillis: number | null;
}

interface Tracked {
  key: string;
  segment: TrailSegment;
  size: number;
  ino: number;
  mtimeMs: number;
  cursor: SegmentCursor;
  /**
   * Where reading goes on: past the cursor by the batches handed out and not
   * committed yet (stored, but not yet known to be on the server's disk).
   */
  read: { offset: number; done: boolean };
  final: boolean;
  reader: LineReader | null;
  /** Lines counted in [cursor.offset, countedTo). */
  pendingLines: number;
  countedTo: number;
}

/** A segment that vanished before it was shipped to its end. */
export interface LostSegment {
  name: string;
  offset: number;
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
/** A segment missing from the listing this long is gone (a listing may miss a file while it is being renamed). */
const VANISHED_AFTER_MS = 30_000;
/** Lines parsed before yielding to the event loop: the in-process shipper shares it with the application. */
const LINES_PER_SLICE = 2000;

/** countedTo of a compressed segment once counted. */
const COUNTED_WHOLE = Number.MAX_SAFE_INTEGER;

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Newlines in [from, to) of an open segment's content (a compressed one: from `from` to its end). */
async function countNewlines(handle: FileHandle, compressed: boolean, from: number, to: number): Promise<{ lines: number; end: number }> {
  let lines = 0;
  if (compressed) {
    let position = 0;
    const content = gunzipFrom(handle);
    try {
      for await (const chunk of content as AsyncIterable<Buffer>) {
        const skip = Math.max(0, Math.min(chunk.length, from - position));
        for (let at = chunk.indexOf(10, skip); at >= 0; at = chunk.indexOf(10, at + 1)) lines++;
        position += chunk.length;
        if (position % (64 * 1024 * 1024) < chunk.length) await yieldToLoop();
      }
    } finally {
      content.destroy();
    }
    return { lines, end: position };
  }
  const buffer = Buffer.allocUnsafe(1024 * 1024);
  let position = from;
  while (position < to) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, to - position), position);
    if (bytesRead === 0) break;
    const chunk = buffer.subarray(0, bytesRead);
    for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) lines++;
    position += bytesRead;
  }
  return { lines, end: position };
}

export class Journal {
  readonly logDir: string;
  readonly trail: string;
  private readonly maxLineBytes: number;
  private readonly settleMs: number;
  private readonly defaults: RowDefaults;
  private tracked: Tracked[] = [];
  private readonly byKey = new Map<string, Tracked>();
  /** Fingerprints by inode (a renamed segment keeps it) and compression. */
  private readonly fingerprints = new Map<string, string>();
  private readonly missingSince = new Map<string, number>();
  /** Bytes of segments whose first line is not complete yet. */
  private unidentifiedBytes = 0;

  constructor(
    options: JournalOptions,
    readonly cursor: ShipCursor,
  ) {
    this.logDir = options.logDir;
    this.trail = options.trail ?? "audit.jsonl";
    this.maxLineBytes = Math.max(1024, options.maxLineBytes ?? 16 * 1024 * 1024);
    this.settleMs = Math.max(0, options.settleMs ?? 5000);
    this.defaults = options.defaults ?? {};
  }

  /**
   * Lists the segments and matches them to the cursor. Returns the segments
   * that vanished before they were shipped to the end (a retention policy
   * that did not wait for the shipper).
   */
  async scan(now = Date.now()): Promise<LostSegment[]> {
    const listed = listTrailSegments(this.logDir, this.trail);
    const next: Tracked[] = [];
    const seen = new Set<string>();
    const keyCounts = new Map<string, number>();
    this.unidentifiedBytes = 0;
    for (const segment of listed) {
      // Inode, size, time and first line all through one descriptor: the name may be another file a moment later.
      const opened = await openSegment(segment.path).catch(() => null);
      if (!opened) continue; // renamed or removed since the listing: the next scan finds it under its new name
      const info = { ino: opened.ino, size: opened.size, mtimeMs: opened.mtimeMs };
      const final = segment.compressed || (!segment.live && now - info.mtimeMs >= this.settleMs);
      let fingerprint: string | null;
      try {
        fingerprint = await this.fingerprint(opened.handle, segment.compressed, info.ino, final);
      } catch {
        fingerprint = null;
      } finally {
        await opened.handle.close().catch(() => undefined);
      }
      if (fingerprint === null) {
        if (!segment.compressed) this.unidentifiedBytes += info.size;
        continue;
      }
      // Two segments with the same first line (a copy) are told apart by their order.
      const twin = keyCounts.get(fingerprint) ?? 0;
      keyCounts.set(fingerprint, twin + 1);
      const key = twin === 0 ? fingerprint : `${fingerprint}~${twin}`;
      seen.add(key);
      let tracked = this.byKey.get(key);
      const cursor = this.cursor.segment(key) ?? { name: segment.name, offset: 0, lines: 0, skipped: 0, done: false };
      cursor.name = segment.name;
      if (!tracked || tracked.segment.path !== segment.path || tracked.segment.compressed !== segment.compressed) {
        // New, renamed or compressed: the reader reopens on the new file where reading had got to.
        await tracked?.reader?.close().catch(() => undefined);
        tracked = {
          key,
          segment,
          size: 0,
          ino: 0,
          mtimeMs: 0,
          cursor,
          read: tracked?.read ?? { offset: cursor.offset, done: cursor.done },
          final,
          reader: null,
          pendingLines: tracked?.pendingLines ?? 0,
          countedTo: tracked?.countedTo ?? cursor.offset,
        };
      }
      tracked.segment = segment;
      tracked.size = info.size;
      tracked.ino = info.ino;
      tracked.mtimeMs = info.mtimeMs;
      tracked.final = final;
      this.cursor.set(key, tracked.cursor);
      next.push(tracked);
    }
    for (const old of this.tracked) if (!seen.has(old.key)) await old.reader?.close().catch(() => undefined);
    this.tracked = next;
    this.byKey.clear();
    for (const tracked of next) this.byKey.set(tracked.key, tracked);
    await this.countPending();
    return this.forgetVanished(seen, now);
  }

  private async fingerprint(handle: FileHandle, compressed: boolean, ino: number, final: boolean): Promise<string | null> {
    const cacheKey = `${ino}:${compressed ? "gz" : "plain"}`;
    const cached = this.fingerprints.get(cacheKey);
    if (cached) return cached;
    const fingerprint = await segmentFingerprint(handle, compressed, final);
    // Only a complete first line is cached: a live file's first line may still be growing.
    if (fingerprint !== null) {
      if (this.fingerprints.size > 10_000) this.fingerprints.clear();
      this.fingerprints.set(cacheKey, fingerprint);
    }
    return fingerprint;
  }

  /** Counts the lines appended since the last scan (a compressed segment once, whole). */
  private async countPending(): Promise<void> {
    for (const tracked of this.tracked) {
      if (tracked.cursor.done) {
        tracked.pendingLines = 0;
        continue;
      }
      if (tracked.countedTo < tracked.cursor.offset && tracked.countedTo !== COUNTED_WHOLE) {
        tracked.countedTo = tracked.cursor.offset;
        tracked.pendingLines = 0;
      }
      if (tracked.segment.compressed) {
        // Compressed segments do not grow: counted once, from the cursor's offset.
        if (tracked.countedTo === COUNTED_WHOLE) continue;
        const opened = await openSegment(tracked.segment.path, tracked.ino).catch(() => null);
        if (!opened) continue;
        try {
          tracked.pendingLines = (await countNewlines(opened.handle, true, tracked.cursor.offset, COUNTED_WHOLE)).lines;
          tracked.countedTo = COUNTED_WHOLE;
        } catch {
          tracked.pendingLines = 0;
        } finally {
          await opened.handle.close().catch(() => undefined);
        }
        continue;
      }
      if (tracked.size > tracked.countedTo) {
        // Gone or renamed since the listing: the next scan sorts it out.
        const opened = await openSegment(tracked.segment.path, tracked.ino).catch(() => null);
        if (!opened) continue;
        try {
          const { lines, end } = await countNewlines(opened.handle, false, tracked.countedTo, tracked.size);
          tracked.pendingLines += lines;
          tracked.countedTo = end;
        } catch {
          // Unreadable now: counted at the next scan.
        } finally {
          await opened.handle.close().catch(() => undefined);
        }
      }
    }
  }

  private forgetVanished(seen: Set<string>, now: number): LostSegment[] {
    const lost: LostSegment[] = [];
    const gone: string[] = [];
    for (const [key, segment] of Object.entries(this.cursor.data.segments)) {
      if (seen.has(key)) {
        this.missingSince.delete(key);
        continue;
      }
      const since = this.missingSince.get(key) ?? now;
      this.missingSince.set(key, since);
      if (now - since < VANISHED_AFTER_MS) continue;
      this.missingSince.delete(key);
      gone.push(key);
      if (!segment.done) lost.push({ name: segment.name, offset: segment.offset });
    }
    this.cursor.forget(gone);
    return lost;
  }

  /** Whether a segment has lines to read or must still be marked finished. */
  private hasWork(tracked: Tracked): boolean {
    if (tracked.read.done) return false;
    if (tracked.segment.compressed || tracked.final) return true;
    return tracked.size > tracked.read.offset;
  }

  /**
   * The next lines to ship: from the oldest segment with any, up to
   * `maxRows` rows or about `maxBytes`. Null when everything is shipped.
   */
  async next(maxRows: number, maxBytes: number): Promise<JournalBatch | null> {
    for (const tracked of this.tracked) {
      if (!this.hasWork(tracked)) continue;
      // A reader goes on from the last batch it handed out (stored or not yet); rewind() starts over from the cursor.
      if (!tracked.reader) {
        // The file must still be the one fingerprinted under this name; the reader then keeps it open across renames.
        const opened = await openSegment(tracked.segment.path, tracked.ino);
        if (!opened) continue;
        tracked.reader = LineReader.open(opened.handle, tracked.segment.compressed, tracked.read.offset, this.maxLineBytes);
      }
      const start = tracked.reader.offset;
      const chunk = await tracked.reader.next(maxRows, maxBytes, tracked.final);
      const rows: CopyRow[] = [];
      let skipped = chunk.overlong;
      const consumedLines = chunk.lines.length + chunk.overlong;
      for (let i = 0; i < chunk.lines.length; i++) {
        if (i > 0 && i % LINES_PER_SLICE === 0) await yieldToLoop();
        const result = this.parse(chunk.lines[i] as Buffer, start === 0 && i === 0);
        if (result === "malformed") skipped++;
        else if (result !== null) rows.push(result);
      }
      const done = tracked.final && chunk.exhausted;
      if (chunk.end === start && !done) continue;
      tracked.read = { offset: chunk.end, done };
      return { key: tracked.key, segment: tracked.segment.name, rows, skipped, consumedLines, end: chunk.end, done };
    }
    return null;
  }

  /** A row, null for a blank line, or "malformed". */
  private parse(raw: Buffer, atFileStart: boolean): CopyRow | null | "malformed" {
    let start = 0;
    let end = raw.length;
    if (atFileStart && raw.subarray(0, 3).equals(BOM)) start = 3;
    if (end > start && raw[end - 1] === 13) end--;
    if (end === start) return null;
    const bytes = raw.subarray(start, end);
    if (!isUtf8(bytes)) return "malformed";
    const text = bytes.toString("utf8");
    let dict: unknown;
    try {
      dict = JSON.parse(text);
    } catch {
      return text.trim() === "" ? null : "malformed";
    }
    if (dict === null || typeof dict !== "object" || Array.isArray(dict)) return "malformed";
    try {
      return copyRowOf(dict as Record<string, unknown>, text, this.defaults);
    } catch {
      return "malformed";
    }
  }

  /** Forgets what was read past the cursor: the next batch starts at each segment's cursor again. */
  async rewind(): Promise<void> {
    for (const tracked of this.tracked) {
      await tracked.reader?.close().catch(() => undefined);
      tracked.reader = null;
      tracked.read = { offset: tracked.cursor.offset, done: tracked.cursor.done };
    }
  }

  /** Moves the cursor past a batch the store committed, and writes it. */
  commit(batch: JournalBatch): void {
    const tracked = this.byKey.get(batch.key);
    const cursor = tracked?.cursor ?? this.cursor.segment(batch.key);
    if (!cursor) return;
    cursor.offset = batch.end;
    cursor.lines += batch.rows.length;
    cursor.skipped += batch.skipped;
    cursor.done = batch.done;
    this.cursor.data.shipped += batch.rows.length;
    this.cursor.data.skipped += batch.skipped;
    if (tracked) tracked.pendingLines = Math.max(0, tracked.pendingLines - batch.consumedLines);
    this.cursor.set(batch.key, cursor);
    this.cursor.save();
  }

  /** What is left to ship, as of the last scan. */
  async backlog(): Promise<JournalBacklog> {
    let bytes = this.unidentifiedBytes;
    let records = 0;
    let segments = 0;
    let oldest: Tracked | null = null;
    for (const tracked of this.tracked) {
      if (tracked.cursor.done) continue;
      const left = tracked.segment.compressed ? tracked.size : Math.max(0, tracked.size - tracked.cursor.offset);
      if (left === 0 && tracked.pendingLines === 0) continue;
      bytes += left;
      records += tracked.pendingLines;
      segments++;
      oldest ??= tracked.pendingLines > 0 ? tracked : null;
    }
    return { bytes, records, segments, oldestMillis: oldest ? await this.timeOfLineAt(oldest) : null };
  }

  /** The entry time of the first unshipped line of a segment (for the lag in seconds). */
  private async timeOfLineAt(tracked: Tracked): Promise<number | null> {
    let reader: LineReader | null = null;
    try {
      const opened = await openSegment(tracked.segment.path, tracked.ino);
      if (!opened) return null;
      reader = LineReader.open(opened.handle, tracked.segment.compressed, tracked.cursor.offset, this.maxLineBytes);
      const chunk = await reader.next(1, 1, tracked.final);
      const line = chunk.lines[0];
      if (!line) return null;
      const match = /"timestamp"\s*:\s*"([^"]+)"/.exec(line.toString("utf8", 0, Math.min(line.length, 4096)));
      const millis = match ? timestampMillis(match[1] as string) : Number.NaN;
      return Number.isFinite(millis) ? millis : null;
    } catch {
      return null;
    } finally {
      await reader?.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.cursor.saved();
    for (const tracked of this.tracked) await tracked.reader?.close().catch(() => undefined);
    this.tracked = [];
    this.byKey.clear();
  }
}
