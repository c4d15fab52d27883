/**
 * An append-only trail file kept open on an O_APPEND descriptor, rotated by
 * size under a lock shared by every process writing the same folder.
 *
 * Each `write()` is one write(2) of whole lines, so lines never interleave or
 * tear between processes. The file is not stat'ed per call: its size is
 * tracked from our own writes and re-read with fstat every `checkBytes` of
 * them or every `checkIntervalMs`, which is also when a rotation done by
 * another process is noticed and the file reopened. Lines written in between
 * land in the renamed file (the newest backup): nothing is lost.
 */
import { closeSync, fstatSync, fsync, fsyncSync, mkdirSync, openSync, renameSync, statSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { AuditWriteError } from "../entry/errors.js";
import { withFileLock } from "../internal/fileLock.js";

export interface RotatingFileOptions {
  path: string;
  /** Size at which the file rotates; 0 disables rotation. */
  maxBytes: number;
  /** Backups kept (path.1 … path.N); 0 disables rotation, as in Python's RotatingFileHandler. */
  backupCount: number;
  /** Gather lines and write them once per event-loop turn (or 64 KiB) instead of once per call. */
  buffered?: boolean;
}

/** The oldest backup a rotation dropped: what the trail lost, for the record of it. */
export interface PrunedBackup {
  path: string;
  bytes: number;
  /** Its last write: the newest entry it held is about this old. */
  modified: Date;
  backupCount: number;
}

const BUFFER_LIMIT = 64 * 1024;
const CHECK_INTERVAL_MS = 1000;
const APPEND_FLAGS = "a";

export class RotatingFile {
  readonly path: string;
  private readonly maxBytes: number;
  private readonly backupCount: number;
  private readonly buffered: boolean;
  /** Own writes between two fstat checks: small enough that others' rotations are seen early. */
  private readonly checkBytes: number;
  private fd = -1;
  private ino = 0;
  private size = 0;
  private bytesSinceCheck = 0;
  private lastCheck = 0;
  private pending = "";
  private flushScheduled = false;
  private syncWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  /** fsync(2) calls in flight, and descriptors whose close waits for them (closing would fail them with EBADF). */
  private syncsInFlight = 0;
  private retiredFds: number[] = [];
  /** Rotations this process performed. */
  rotations = 0;
  closed = false;

  constructor(options: RotatingFileOptions) {
    this.path = options.path;
    this.backupCount = Math.max(0, Math.floor(options.backupCount));
    this.maxBytes = this.backupCount > 0 ? Math.max(0, Math.floor(options.maxBytes)) : 0;
    this.buffered = options.buffered ?? false;
    this.checkBytes = this.maxBytes > 0 ? Math.max(4096, Math.min(64 * 1024, Math.floor(this.maxBytes / 8))) : Number.POSITIVE_INFINITY;
  }

  /** Appends whole lines (newline-terminated). Throws AuditWriteError when they cannot be written. */
  write(text: string): void {
    if (this.closed) throw new AuditWriteError(`${this.path}: the logger is shut down`, this.path);
    if (this.buffered) {
      this.pending += text;
      if (this.pending.length >= BUFFER_LIMIT) this.flushPending();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flushPendingContained());
      }
      return;
    }
    this.writeNow(text);
  }

  private writeNow(text: string): void {
    if (this.fd < 0) this.open();
    else {
      try {
        this.checkRotation();
      } catch (error) {
        // The path cannot even be stat'ed (its folder replaced by a file, say): a typed error, like a failed write.
        throw error instanceof AuditWriteError ? error : this.writeError(error);
      }
    }
    let written: number;
    try {
      written = writeSync(this.fd, text);
    } catch (error) {
      // The descriptor may be stale (folder removed, disk replaced): retry once on a fresh one.
      this.closeFd();
      try {
        this.open();
        written = writeSync(this.fd, text);
      } catch (retryError) {
        throw this.writeError(retryError ?? error);
      }
    }
    const expected = Buffer.byteLength(text);
    if (written < expected) {
      // Disk full mid-line: end the torn line so the next one starts clean, then report.
      try {
        writeSync(this.fd, "\n");
      } catch {}
      throw new AuditWriteError(`${this.path}: short write (${written} of ${expected} bytes)`, this.path);
    }
    this.size += written;
    this.bytesSinceCheck += written;
  }

  private checkRotation(): void {
    const sizeDue = this.maxBytes > 0 && this.size >= this.maxBytes;
    if (!sizeDue && this.bytesSinceCheck < this.checkBytes) {
      const now = Date.now();
      if (now - this.lastCheck < CHECK_INTERVAL_MS) return;
    }
    const now = Date.now();
    this.lastCheck = now;
    this.bytesSinceCheck = 0;
    const onDisk = statSync(this.path, { throwIfNoEntry: false });
    if (!onDisk || onDisk.ino !== this.ino) {
      // Another process rotated (or the file was removed): follow it.
      this.reopen();
      return;
    }
    this.size = fstatSync(this.fd).size;
    if (this.maxBytes > 0 && this.size >= this.maxBytes) this.rotate();
  }

  private rotate(): void {
    let locked: boolean;
    try {
      locked = withFileLock(`${this.path}.lock`, () => this.rotateLocked());
    } catch (error) {
      // The file cannot be (re)opened: the write fails as it would anyway.
      if (error instanceof AuditWriteError) throw error;
      // A rotation that fails (a backup slot taken by a folder, a lock file that cannot be
      // made) must not cost records: keep appending to the current file, report it, and
      // try again after another maxBytes.
      this.size = 0;
      const code = (error as NodeJS.ErrnoException)?.code;
      this.onBackgroundError?.(
        new AuditWriteError(`cannot rotate audit trail ${this.path}${code ? ` (${code})` : ""}`, this.path, { cause: error }),
      );
      return;
    }
    // Lock held too long by a stuck process: keep writing to the current file rather than lose lines.
    if (!locked) this.size = 0;
  }

  /** Renames the file to .1 (shifting the backups) unless another process did, then reopens; runs under the lock. */
  private rotateLocked(): void {
    const onDisk = statSync(this.path, { throwIfNoEntry: false });
    let pruned: PrunedBackup | null = null;
    // Under the lock, rotate only if nobody did it since our check.
    if (onDisk && onDisk.ino === this.ino && onDisk.size >= this.maxBytes) {
      const free = this.firstFreeBackup();
      // All slots taken: the oldest backup is overwritten by the shift, so the trail loses it.
      if (free === this.backupCount) {
        const oldest = statSync(`${this.path}.${free}`, { throwIfNoEntry: false });
        if (oldest?.isFile())
          pruned = { path: `${this.path}.${free}`, bytes: oldest.size, modified: oldest.mtime, backupCount: this.backupCount };
      }
      // Shift only up to the first free slot: with a large backupCount, trying every
      // slot would cost backupCount renames per rotation, under the lock.
      for (let i = free - 1; i >= 1; i--) {
        try {
          renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
        }
      }
      renameSync(this.path, `${this.path}.1`);
      this.rotations++;
    }
    this.reopen();
    if (pruned) {
      try {
        this.onPrune?.(pruned);
      } catch {
        // The owner's record of it failed: the rotation itself is done.
      }
    }
  }

  /**
   * The first free backup slot, or backupCount when all are taken (its file is
   * then the one dropped). Backups are numbered without gaps, so a binary
   * search finds it in log2(backupCount) stats.
   */
  private firstFreeBackup(): number {
    let low = 1;
    let high = this.backupCount;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (statSync(`${this.path}.${middle}`, { throwIfNoEntry: false })) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private open(): void {
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      this.fd = openSync(this.path, APPEND_FLAGS, 0o640);
      const stat = fstatSync(this.fd);
      this.ino = stat.ino;
      this.size = stat.size;
      this.bytesSinceCheck = 0;
      this.lastCheck = Date.now();
    } catch (error) {
      this.closeFd();
      throw this.writeError(error);
    }
  }

  private reopen(): void {
    const previous = this.fd;
    this.fd = -1;
    try {
      this.open();
    } finally {
      if (previous >= 0) {
        // Make what went to the old file durable before letting go of it (waiters of sync() rely on it).
        if (this.syncWaiters.length > 0) {
          try {
            fsyncSync(previous);
          } catch {}
        }
        this.release(previous);
      }
    }
  }

  private closeFd(): void {
    if (this.fd >= 0) this.release(this.fd);
    this.fd = -1;
  }

  /** Closes a descriptor we let go of, or defers that while an fsync may be running on it. */
  private release(fd: number): void {
    if (this.syncsInFlight > 0) {
      this.retiredFds.push(fd);
      return;
    }
    try {
      closeSync(fd);
    } catch {}
  }

  private writeError(error: unknown): AuditWriteError {
    const code = (error as NodeJS.ErrnoException)?.code;
    return new AuditWriteError(`cannot write audit trail ${this.path}${code ? ` (${code})` : ""}`, this.path, { cause: error });
  }

  private flushPending(): void {
    if (this.pending === "") return;
    const text = this.pending;
    this.pending = "";
    this.writeNow(text);
  }

  private flushPendingContained(): void {
    this.flushScheduled = false;
    try {
      this.flushPending();
    } catch (error) {
      // Those lines are lost: whoever waits for them to be durable (alog* with fsync) must hear it.
      const waiters = this.takeSyncWaiters();
      if (waiters.length > 0) {
        const wrapped = error instanceof AuditWriteError ? error : this.writeError(error);
        for (const waiter of waiters) waiter.reject(wrapped);
      }
      this.onBackgroundError?.(error as Error);
    }
  }

  /** Where errors no caller sees go (buffered writes, failed rotations); set by the owner. */
  onBackgroundError?: (error: Error) => void;
  /** Called when a rotation of this process dropped the oldest backup (all backupCount slots were taken). */
  onPrune?: (pruned: PrunedBackup) => void;

  /** Writes buffered lines now (synchronously). */
  flushSync(): void {
    this.flushPending();
  }

  /**
   * Resolves once everything written so far is on stable storage. Calls in the
   * same event-loop turn share one fsync (group commit).
   */
  sync(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.syncWaiters.push({ resolve, reject });
      if (this.syncWaiters.length === 1) setImmediate(() => this.runSync());
    });
  }

  private runSync(): void {
    const fail = (waiters: typeof this.syncWaiters, error: unknown) => {
      const wrapped = this.writeError(error);
      for (const waiter of waiters) waiter.reject(wrapped);
    };
    try {
      // Waiters stay registered during this write, so a rotation it causes fsyncs the old file for them.
      this.flushPending();
    } catch (error) {
      fail(this.takeSyncWaiters(), error);
      return;
    }
    const waiters = this.takeSyncWaiters();
    if (waiters.length === 0) return; // close() served them already
    if (this.fd < 0) {
      for (const waiter of waiters) waiter.resolve();
      return;
    }
    this.syncsInFlight++;
    fsync(this.fd, (error) => {
      if (--this.syncsInFlight === 0) {
        for (const fd of this.retiredFds.splice(0)) this.release(fd);
      }
      if (error) fail(waiters, error);
      else for (const waiter of waiters) waiter.resolve();
    });
  }

  private takeSyncWaiters(): typeof this.syncWaiters {
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    return waiters;
  }

  /** Flushes and closes; later writes throw. */
  close(): void {
    if (this.closed) return;
    try {
      this.flushPending();
    } finally {
      this.closed = true;
      // sync() waiters not served yet: their lines must be durable before the descriptor goes.
      const waiters = this.takeSyncWaiters();
      if (waiters.length > 0) {
        try {
          if (this.fd >= 0) fsyncSync(this.fd);
          for (const waiter of waiters) waiter.resolve();
        } catch (error) {
          const wrapped = this.writeError(error);
          for (const waiter of waiters) waiter.reject(wrapped);
        }
      }
      this.closeFd();
    }
  }
}
