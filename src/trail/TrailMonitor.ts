/**
 * Keeps an eye on a log folder while its files are written: watches it
 * (fs.watch) so that a trail file deleted, moved or truncated under a writer
 * is noticed at once, checks every file each second as the fallback (network
 * file systems, a watcher that died, an idle writer), and measures the disk's
 * free space against the low-disk watermark. None of this runs per log call.
 */
import { type FSWatcher, statfsSync, watch } from "node:fs";
import { basename } from "node:path";
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
/** A write to a trail file is also an event: checks for those are spaced out (a truncation shows only as one). */
const CHANGE_CHECK_DELAY_MS = 25;

export class TrailMonitor {
  private watcher: FSWatcher | null = null;
  private readonly timer: NodeJS.Timeout;
  private readonly byName = new Map<string, RotatingFile>();
  private readonly scheduled = new Map<RotatingFile, NodeJS.Timeout>();
  private closed = false;
  /** The free space as last measured (undefined until it could be). */
  disk: DiskSpace | undefined;

  constructor(private readonly options: TrailMonitorOptions) {
    for (const file of options.files) this.byName.set(basename(file.path), file);
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

  private tick(): void {
    if (this.closed) return;
    this.ensureWatcher();
    for (const file of this.options.files) file.checkNow();
    this.checkDisk();
    this.options.onTick?.();
  }

  private ensureWatcher(): void {
    if (!this.options.watch || this.watcher || this.closed) return;
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
