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
import { AuditWriteError } from "../api/errors.js";
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
  /** Rotations this process performed. */
  rotations = 0;
  /** Lines written by this process. */
  lines = 0;
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
    this.lines++;
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
    else this.checkRotation();
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
    const locked = withFileLock(`${this.path}.lock`, () => {
      const onDisk = statSync(this.path, { throwIfNoEntry: false });
      // Under the lock, rotate only if nobody did it since our check.
      if (onDisk && onDisk.ino === this.ino && onDisk.size >= this.maxBytes) {
        for (let i = this.backupCount - 1; i >= 1; i--) {
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
    });
    // Lock held too long by a stuck process: keep writing to the current file rather than lose lines.
    if (!locked) this.size = 0;
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
    this.open();
    if (previous >= 0) {
      // Make what went to the old file durable before letting go of it (waiters of sync() rely on it).
      if (this.syncWaiters.length > 0) {
        try {
          fsyncSync(previous);
        } catch {}
      }
      try {
        closeSync(previous);
      } catch {}
    }
  }

  private closeFd(): void {
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {}
    }
    this.fd = -1;
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
      this.onBackgroundError?.(error as Error);
    }
  }

  /** Where errors of background (buffered) writes go; set by the owner. */
  onBackgroundError?: (error: Error) => void;

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
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    const fail = (error: unknown) => {
      const wrapped = this.writeError(error);
      for (const waiter of waiters) waiter.reject(wrapped);
    };
    try {
      this.flushPending();
    } catch (error) {
      fail(error);
      return;
    }
    if (this.fd < 0) {
      for (const waiter of waiters) waiter.resolve();
      return;
    }
    fsync(this.fd, (error) => {
      if (error) fail(error);
      else for (const waiter of waiters) waiter.resolve();
    });
  }

  /** Flushes and closes; later writes throw. */
  close(): void {
    if (this.closed) return;
    try {
      this.flushPending();
    } finally {
      this.closed = true;
      this.closeFd();
    }
  }
}
