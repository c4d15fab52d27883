/**
 * The background keeper of a log folder's segments: it compresses rotated
 * segments (gzip, off the event loop) once no writer can still append to
 * them, and prunes whole segments only as an explicit retention policy says,
 * oldest first, each one announced (written into the trail) before it is
 * deleted. A legal hold stops all pruning. One process at a time does this
 * work for a folder (a lock under `.auditx/`); the others skip their turn.
 */
import { mkdirSync, statSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { acquireFileLock, type HeldLock } from "../internal/fileLock.js";
import { compressSegment } from "./compressSegment.js";
import { type LegalHold, readLegalHold } from "./legalHold.js";
import { listTrailSegments, segmentRotatedAt, type TrailSegment } from "./segments.js";

/** When whole segments of a trail may be deleted; nothing set: never. */
export interface RetentionPolicy {
  /** Delete segments whose newest entry is older than this many days. */
  days?: number;
  /** Delete the oldest segments while the trail (live file included) is larger than this. */
  maxBytes?: number;
  /** Keep at most this many rotated segments (`backupCount`, the original's meaning). */
  keep?: number;
}

/** What a segment holds, as its pruning announces it. */
export interface SegmentSummary {
  lines: number;
  /** Fragments of failed writes among them. */
  torn: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
  /** Per hash chain: its first and last sequence number in the segment and the last line's hash. */
  chains: { chainId: string; firstSeq: number; lastSeq: number; lastHash: string }[];
}

export type PruneReason = "retention.days" | "retention.maxBytes" | "backupCount";

export interface PrunedSegment {
  /** The trail's live file name (`audit.jsonl`). */
  trail: string;
  segment: TrailSegment;
  reason: PruneReason;
  /** Bytes on disk (compressed size for a `.gz`). */
  bytes: number;
  summary: SegmentSummary;
}

export interface JanitorTrail {
  baseName: string;
  retention: RetentionPolicy;
  /** Reads what a segment holds (for its announcement). */
  summarize: (segment: TrailSegment) => Promise<SegmentSummary>;
  /** Writes the pruning into the trail, durably; the segment is deleted only once this resolves. */
  announce: (pruned: PrunedSegment) => Promise<void>;
}

export interface TrailJanitorOptions {
  dir: string;
  /** auditx's state folder (`<dir>/.auditx`), where the janitor's lock lives. */
  stateDir: string;
  trails: JanitorTrail[];
  /** gzip rotated segments this long after their last write (null: never compress). */
  compressAfterMs: number | null;
  onCompressed?: (segment: string, bytesIn: number, bytesOut: number) => void;
  onPruned?: (pruned: PrunedSegment) => void;
  /** A legal hold was put on or lifted since the janitor last looked (folder-wide, reported once). */
  onHoldChange?: (hold: LegalHold | undefined) => void;
  onError?: (error: Error) => void;
}

const DAY_MS = 86_400_000;
const PERIOD_MS = 10 * 60_000;
/** A janitor lock unchanged this long is abandoned (the holder touches it between segments). */
const LOCK_STALE_MS = 5 * 60_000;
const HOLD_STATE = "legal-hold.seen";

export class TrailJanitor {
  private timer: NodeJS.Timeout | null = null;
  private timerAt = 0;
  /** Times passes were asked for (a pass now for pruning, another once a new segment may be compressed). */
  private dues: number[] = [];
  private readonly periodic: NodeJS.Timeout;
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;
  private readonly abort = new AbortController();
  /** Whether pruning is held, as last seen. */
  held = false;

  constructor(private readonly options: TrailJanitorOptions) {
    this.periodic = setInterval(() => this.schedule(0), PERIOD_MS);
    this.periodic.unref();
  }

  /** Runs a pass after `delayMs` (passes asked for at close times share one). */
  schedule(delayMs: number): void {
    if (this.closed) return;
    const due = Date.now() + Math.max(0, delayMs);
    if (!this.dues.some((other) => Math.abs(other - due) < 50)) this.dues.push(due);
    this.arm();
  }

  private arm(): void {
    if (this.closed || this.dues.length === 0) return;
    const next = Math.min(...this.dues);
    if (this.timer && this.timerAt <= next) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = next;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        const now = Date.now();
        this.dues = this.dues.filter((due) => due > now);
        this.runNow()
          .catch((error: unknown) => this.options.onError?.(error as Error))
          .finally(() => this.arm());
      },
      Math.max(0, next - Date.now()),
    );
    this.timer.unref();
  }

  /** Runs a pass now (or right after the one in progress); resolves when it is done. */
  runNow(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.pass();
        } while (this.again && !this.closed);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  /** Stops scheduling; an in-flight compression is abandoned (its partial output removed). */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.periodic);
    if (this.timer) clearTimeout(this.timer);
    this.abort.abort();
    await this.running?.catch(() => {});
  }

  private async pass(): Promise<void> {
    if (this.closed) return;
    mkdirSync(this.options.stateDir, { recursive: true });
    const lock = acquireFileLock(join(this.options.stateDir, "janitor.lock"), { purpose: "janitor", staleMs: LOCK_STALE_MS });
    if (!lock) {
      // Another process is at it; look again later in case it stops half-way.
      this.schedule(PERIOD_MS / 10);
      return;
    }
    try {
      const hold = this.noticeHold();
      for (const trail of this.options.trails) {
        if (this.closed) return;
        if (this.options.compressAfterMs !== null) await this.compress(trail, lock);
        if (!hold) await this.prune(trail, lock);
      }
    } finally {
      lock.release();
    }
  }

  /** The hold now; a change since the last pass (of any process) is reported once. */
  private noticeHold(): LegalHold | undefined {
    const hold = readLegalHold(this.options.dir);
    this.held = hold !== undefined;
    const seenPath = join(this.options.stateDir, HOLD_STATE);
    const seen = statSync(seenPath, { throwIfNoEntry: false }) !== undefined;
    if (seen === this.held) return hold;
    try {
      // The marker of having reported it: written once per hold, by whichever process notices first.
      if (hold) writeFileSync(seenPath, `${new Date().toISOString()}\n`);
      else unlinkSync(seenPath);
    } catch (error) {
      this.options.onError?.(error as Error);
      return hold;
    }
    this.options.onHoldChange?.(hold);
    return hold;
  }

  private async compress(trail: JanitorTrail, lock: HeldLock): Promise<void> {
    const due = Date.now() - (this.options.compressAfterMs ?? 0);
    for (const segment of listTrailSegments(this.options.dir, trail.baseName)) {
      if (this.closed) return;
      if (segment.live || segment.compressed || segmentRotatedAt(trail.baseName, segment.name) === undefined) continue;
      const stat = statSync(segment.path, { throwIfNoEntry: false });
      if (!stat) continue;
      if (stat.mtimeMs > due) {
        // Written to a moment ago: its turn comes once no writer can still be appending to it.
        this.schedule(stat.mtimeMs - due + 50);
        continue;
      }
      try {
        const done = await compressSegment(segment.path, { signal: this.abort.signal });
        if (done) this.options.onCompressed?.(segment.name, done.bytesIn, done.bytesOut);
      } catch (error) {
        if (this.closed) return;
        this.options.onError?.(error as Error);
      }
      touch(lock);
    }
  }

  private async prune(trail: JanitorTrail, lock: HeldLock): Promise<void> {
    const policy = trail.retention;
    if (policy.days === undefined && policy.maxBytes === undefined && policy.keep === undefined) return;
    const segments = listTrailSegments(this.options.dir, trail.baseName);
    const sizes = new Map<TrailSegment, number>();
    let total = 0;
    for (const segment of segments) {
      const size = statSync(segment.path, { throwIfNoEntry: false })?.size ?? 0;
      sizes.set(segment, size);
      total += size;
    }
    const rotated = segments.filter((segment) => !segment.live);
    const cutoff = policy.days === undefined ? undefined : Date.now() - policy.days * DAY_MS;
    for (let i = 0; i < rotated.length; i++) {
      if (this.closed) return;
      const segment = rotated[i] as TrailSegment;
      const newer = rotated.length - i - 1;
      let reason: PruneReason | undefined;
      if (policy.keep !== undefined && newer >= policy.keep) reason = "backupCount";
      else if (cutoff !== undefined && rotatedAt(this.options.dir, trail.baseName, segment) < cutoff) reason = "retention.days";
      else if (policy.maxBytes !== undefined && total > policy.maxBytes) reason = "retention.maxBytes";
      // Oldest first: once a segment stays, every newer one stays too.
      if (!reason) return;
      const bytes = sizes.get(segment) ?? 0;
      const summary = await trail.summarize(segment);
      // Closing: no announcement starts now (the writer's chain is about to close).
      if (this.closed) return;
      const pruned: PrunedSegment = { trail: trail.baseName, segment, reason, bytes, summary };
      await trail.announce(pruned);
      removeSegment(segment);
      total -= bytes;
      this.options.onPruned?.(pruned);
      touch(lock);
    }
  }
}

/** When a segment's last entry was written: its rotation time, or the file's mtime for a legacy backup. */
function rotatedAt(dir: string, baseName: string, segment: TrailSegment): number {
  return segmentRotatedAt(baseName, segment.name) ?? statSync(join(dir, segment.name), { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
}

/** Deletes both forms of a segment (a compression cut short may have left the two). */
function removeSegment(segment: TrailSegment): void {
  const dir = dirname(segment.path);
  for (const path of new Set([segment.path, join(dir, segment.id), join(dir, `${segment.id}.gz`)])) {
    try {
      unlinkSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }
}

/** Keeps a long pass's lock from looking abandoned to other processes. */
function touch(lock: HeldLock): void {
  try {
    const now = new Date();
    utimesSync(lock.path, now, now);
  } catch {
    // Lost meanwhile: the pass ends at its next step anyway.
  }
}
