/**
 * Keeps an eye on a log folder while its files are written: watches it
 * (fs.watch) so that a trail file deleted, moved or truncated under a writer
 * is noticed at once, checks every file each second as the fallback (network
 * file systems, a watcher that died, an idle writer), and measures the disk's
 * free space against the low-disk watermark. None of this runs per log call.
 *
 * A folder watch makes the kernel queue an event for every write(2) into the
 * folder (about a microsecond each). While the writers write fast, their own
 * checks (every 64 KiB) notice a vanished file as quickly, so the watch is
 * paused then and resumed when writing slows down: it costs nothing where it
 * would cost most, and gives promptness where the writes are sparse.
 */
import { type FSWatcher, statfsSync, watch } from "node:fs";
import { basename } from "node:path";
import { performance } from "node:perf_hooks";
import type { RotatingFile } from "./RotatingFile.js";

export interface DiskSpace {
  /** Bytes free for this process's writes in the log folder's file system. */
  freeBytes: number;
  /** Below the watermark. */
  low: boolean;
}

export interface TrailMonitorOptions {
  dir: string;
  files: RotatingFile[];
  /** Watch the folder (default true); the periodic check runs either way. */
  watch: boolean;
  /** The low-disk watermark, in bytes free (0: none). */
  minFreeBytes: number;
  /** Called when the free space crosses the watermark, either way. */
  onDiskSpace?: (space: DiskSpace) => void;
  /** Called every tick (about once a second), after the checks. */
  onTick?: () => void;
}

const TICK_MS = 1000;
/** Above this write rate (bytes a second, all files) the writers' own checks are frequent enough: the watch pauses. */
const BUSY_BYTES_PER_SECOND = 256 * 1024;
/** A write to a trail file is also an event: checks for those are spaced out (a truncation shows only as one). */
const CHANGE_CHECK_DELAY_MS = 100;

export class TrailMonitor {
  private watcher: FSWatcher | null = null;
  private readonly timer: NodeJS.Timeout;
  private readonly byName = new Map<string, RotatingFile>();
  private readonly scheduled = new Map<RotatingFile, NodeJS.Timeout>();
  private closed = false;
  /** The watch is paused while writing is fast (see above). */
  private paused = false;
  private rateSince = performance.now();
  private rateBytes = 0;
  /** The free space as last measured (undefined until it could be). */
  disk: DiskSpace | undefined;

  constructor(private readonly options: TrailMonitorOptions) {
    for (const file of options.files) {
      this.byName.set(basename(file.path), file);
      file.onCheck = () => this.noteWrites();
    }
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
    this.ensureWatcher();
    this.checkDisk();
  }

  /** Measures the free space now; reports a crossing of the watermark. */
  checkDisk(): DiskSpace | undefined {
    let freeBytes: number;
    try {
      const stats = statfsSync(this.options.dir);
      freeBytes = stats.bavail * stats.bsize;
    } catch {
      return this.disk; // no folder yet
    }
    const low = this.options.minFreeBytes > 0 && freeBytes < this.options.minFreeBytes;
    const crossed = this.disk ? this.disk.low !== low : low;
    this.disk = { freeBytes, low };
    if (crossed) this.options.onDiskSpace?.(this.disk);
    return this.disk;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    for (const timer of this.scheduled.values()) clearTimeout(timer);
    this.scheduled.clear();
    this.watcher?.close();
    this.watcher = null;
  }

  /** Bytes written by all files since the rate was last taken. */
  private writtenSince(): number {
    let total = 0;
    for (const file of this.options.files) total += file.written;
    return total - this.rateBytes;
  }

  /** At each file's check (from the write path): pause the watch as soon as writing is fast. */
  private noteWrites(): void {
    if (this.paused || !this.watcher) return;
    const elapsed = performance.now() - this.rateSince;
    if (elapsed >= 50 && (this.writtenSince() * 1000) / elapsed > BUSY_BYTES_PER_SECOND) {
      this.paused = true;
      this.watcher.close();
      this.watcher = null;
    }
  }

  private takeRate(): number {
    const now = performance.now();
    const rate = (this.writtenSince() * 1000) / Math.max(1, now - this.rateSince);
    this.rateBytes += this.writtenSince();
    this.rateSince = now;
    return rate;
  }

  private tick(): void {
    if (this.closed) return;
    const rate = this.takeRate();
    if (this.paused && rate < BUSY_BYTES_PER_SECOND / 2) this.paused = false;
    this.ensureWatcher();
    for (const file of this.options.files) file.checkNow();
    this.checkDisk();
    this.options.onTick?.();
  }

  /** Whether the folder is being watched right now (not paused by fast writing). */
  get watching(): boolean {
    return this.watcher !== null;
  }

  private ensureWatcher(): void {
    if (!this.options.watch || this.watcher || this.closed || this.paused) return;
    try {
      this.watcher = watch(this.options.dir, { persistent: false }, (eventType, name) => {
        const file = name === null ? undefined : this.byName.get(name);
        if (file) this.scheduleCheck(file, eventType === "rename" ? 0 : CHANGE_CHECK_DELAY_MS);
      });
      this.watcher.on("error", () => {
        this.watcher?.close();
        this.watcher = null;
      });
    } catch {
      this.watcher = null; // no folder yet: the next tick retries
    }
  }

  private scheduleCheck(file: RotatingFile, delayMs: number): void {
    if (this.closed || this.scheduled.has(file)) return;
    const timer = setTimeout(() => {
      this.scheduled.delete(file);
      file.checkNow(true);
    }, delayMs);
    timer.unref();
    this.scheduled.set(file, timer);
  }
}
