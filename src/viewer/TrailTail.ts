import { type FSWatcher, watch } from "node:fs";

/**
 * Calls `refresh` when the log folder changes: fs.watch for promptness, and a
 * poll as the fallback that always works (network file systems, a folder
 * created later, watchers that die).
 */
export class TrailTail {
  private watcher: FSWatcher | null = null;
  private readonly poll: NodeJS.Timeout;
  private scheduled: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly dir: string,
    private readonly refresh: () => Promise<void>,
    pollIntervalMs: number,
  ) {
    this.poll = setInterval(() => {
      this.ensureWatcher();
      this.schedule(0);
    }, pollIntervalMs);
    this.poll.unref();
    this.ensureWatcher();
  }

  close(): void {
    this.closed = true;
    clearInterval(this.poll);
    if (this.scheduled) clearTimeout(this.scheduled);
    this.watcher?.close();
    this.watcher = null;
  }

  private ensureWatcher(): void {
    if (this.watcher || this.closed) return;
    try {
      this.watcher = watch(this.dir, { persistent: false }, () => this.schedule(15));
      this.watcher.on("error", () => {
        this.watcher?.close();
        this.watcher = null;
      });
    } catch {
      this.watcher = null; // no folder yet: the poll retries
    }
  }

  /** Coalesces bursts of events into one refresh. */
  private schedule(delayMs: number): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = setTimeout(() => {
      this.scheduled = null;
      this.refresh().catch(() => {});
    }, delayMs);
    this.scheduled.unref();
  }
}
