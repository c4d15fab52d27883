/**
 * An append-only trail file kept open on an O_APPEND descriptor, rotated by
 * size into time-named segments under a lock shared by every process writing
 * the same folder.
 *
 * Each `write()` is one write(2) of whole lines, so lines never interleave
 * between processes. The file is not stat'ed per call: its size is tracked
 * from our own writes and checked against the path every `checkBytes` of them
 * or every second (and at once when the folder watcher reports a change).
 * That check notices a rotation by another process (reopen quietly), and a
 * file deleted, moved away or truncated under us (reopen, tell the owner, and
 * write again our own lines the file lost since the previous check, so that
 * no acknowledged record is gone). A write that fails part-way leaves a
 * fragment that is ended by a newline before anything else is written.
 */
import {
  closeSync,
  fstatSync,
  fsync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  type Stats,
  statSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { AuditWriteError } from "../entry/errors.js";
import { acquireFileLock, type LockHolder } from "../internal/fileLock.js";
import { listTrailSegments, rotatedSegmentName, segmentRotatedAt } from "./segments.js";

export interface RotatingFileOptions {
  path: string;
  /** Size at which the file rotates into a time-named segment; 0 disables rotation. */
  maxBytes: number;
  /** Gather lines and write them once per event-loop turn (or 64 KiB) instead of once per call. */
  buffered?: boolean;
  /** Blocks to give back when the disk fills mid-line, so the fragment can be ended at once. */
  releaseSpace?: () => boolean;
}

/** Something that happened to the file that its owner reports (the trail states its own incidents). */
export type TrailFileEvent =
  | { kind: "rotated"; path: string; segment: string }
  | {
      kind: "removed" | "renamed" | "truncated";
      path: string;
      /** Inode of the file we were writing. */
      inode: number;
      /** Its size when the change was noticed (bytes written to it, ours and others'). */
      bytes: number;
      /** Own lines written again to the new file because the change took them. */
      rewritten: number;
      /** Where a renamed file went, when it is still in the folder. */
      movedTo?: string;
    }
  | { kind: "torn"; path: string; bytes: number; closed: boolean }
  | { kind: "lock-taken-over"; path: string; holder: LockHolder | "stale" };

const BUFFER_LIMIT = 64 * 1024;
const CHECK_INTERVAL_MS = 1000;
/** Own bytes between two checks at most: bounds what a vanished file can take (and what is kept to rewrite). */
const MAX_CHECK_BYTES = 64 * 1024;
/** How much of a truncated file is searched for our own recent lines. */
const TRUNCATED_TAIL_BYTES = 16 * 1024 * 1024;
const TORN_RETRY_MS = 250;
/** How long a writer that found the rotation lock taken checks the path at every write. */
const LOCK_BUSY_RECHECK_MS = 50;
const APPEND_FLAGS = "a";

function isSpaceError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException)?.code;
  return code === "ENOSPC" || code === "EDQUOT" || code === "EFBIG";
}

export class RotatingFile {
  readonly path: string;
  private readonly dir: string;
  private readonly baseName: string;
  private readonly maxBytes: number;
  private readonly buffered: boolean;
  private readonly releaseSpace?: () => boolean;
  /** Own writes between two checks: small enough that others' rotations are seen early. */
  private readonly checkBytes: number;
  private fd = -1;
  private ino = 0;
  private dev = 0;
  private size = 0;
  /** File size at the last check, and own bytes written since: less on disk means the file was truncated. */
  private verifiedSize = 0;
  private bytesSinceCheck = 0;
  /** Own lines written since the last check: what a deleted or truncated file may have taken. */
  private unverified: string[] = [];
  private lastCheck = 0;
  /** Since when another process holds the rotation lock we wanted (0: it did not). */
  private lockBusySince = 0;
  /** A failed write left a fragment without its newline: the next write starts with one. */
  private tornTail = false;
  private tornTimer: NodeJS.Timeout | null = null;
  private pending = "";
  private flushScheduled = false;
  private syncWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  /** fsync(2) calls in flight, and descriptors whose close waits for them (closing would fail them with EBADF). */
  private syncsInFlight = 0;
  private retiredFds: number[] = [];
  /** Rotations this process performed. */
  rotations = 0;
  /** Bytes this process wrote to the trail file (its rate decides whether the folder watcher pays off). */
  written = 0;
  /** Writes that failed part-way (their callers got AuditWriteError). */
  tornWrites = 0;
  closed = false;

  constructor(options: RotatingFileOptions) {
    this.path = options.path;
    this.dir = dirname(options.path);
    this.baseName = basename(options.path);
    this.maxBytes = Math.max(0, Math.floor(options.maxBytes));
    this.buffered = options.buffered ?? false;
    this.releaseSpace = options.releaseSpace;
    this.checkBytes = this.maxBytes > 0 ? Math.max(4096, Math.min(MAX_CHECK_BYTES, Math.floor(this.maxBytes / 8))) : MAX_CHECK_BYTES;
  }

  /** Where events go (rotations, a file that vanished, torn writes); set by the owner. Called synchronously. */
  onEvent?: (event: TrailFileEvent) => void;

  /** Where errors no caller sees go (buffered writes, failed rotations); set by the owner. */
  onBackgroundError?: (error: Error) => void;

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
    else if (this.bytesSinceCheck >= this.checkBytes || (this.maxBytes > 0 && this.size >= this.maxBytes) || this.intervalDue()) {
      try {
        this.check();
      } catch (error) {
        // The path cannot even be stat'ed (its folder replaced by a file, say): a typed error, like a failed write.
        throw error instanceof AuditWriteError ? error : this.writeError(error);
      }
    }
    this.append(text);
    this.unverified.push(text);
  }

  private intervalDue(): boolean {
    return Date.now() - this.lastCheck >= CHECK_INTERVAL_MS;
  }

  /** One write(2) of `text` (after the newline a torn fragment still needs); throws AuditWriteError. */
  private append(text: string): void {
    const out = this.tornTail ? `\n${text}` : text;
    let written: number;
    try {
      written = writeSync(this.fd, out);
    } catch (error) {
      if (isSpaceError(error)) throw this.writeError(error);
      // The descriptor may be stale (folder removed, disk replaced): retry once on a fresh one.
      this.closeFd();
      try {
        this.open();
        written = writeSync(this.fd, out);
      } catch (retryError) {
        throw this.writeError(retryError ?? error);
      }
    }
    const expected = Buffer.byteLength(out);
    this.size += written;
    this.bytesSinceCheck += written;
    if (written < expected) {
      this.tearOff(written);
      throw new AuditWriteError(`${this.path}: short write (${written} of ${expected} bytes, disk full?)`, this.path);
    }
    if (this.tornTail) this.clearTorn();
  }

  /**
   * A write that stopped part-way: end the fragment with a newline now (giving
   * back the space reserve when the disk is full), or else before the next
   * record and from a timer, so no record is ever glued onto it.
   */
  private tearOff(written: number): void {
    this.tornWrites++;
    if (written === 0 && !this.tornTail) return;
    let closed = this.tryNewline();
    if (!closed && this.releaseSpace?.()) closed = this.tryNewline();
    if (!closed) {
      this.tornTail = true;
      this.tornTimer ??= setInterval(() => {
        if (this.closed || this.fd < 0 || this.tryNewline()) this.clearTorn();
      }, TORN_RETRY_MS);
      this.tornTimer.unref();
    }
    this.onEvent?.({ kind: "torn", path: this.path, bytes: written, closed });
  }

  private tryNewline(): boolean {
    try {
      if (writeSync(this.fd, "\n") !== 1) return false;
      this.size++;
      this.bytesSinceCheck++;
      this.clearTorn();
      return true;
    } catch {
      return false;
    }
  }

  private clearTorn(): void {
    this.tornTail = false;
    if (this.tornTimer) clearInterval(this.tornTimer);
    this.tornTimer = null;
  }

  /** Checks the file now, outside the write path (the folder watcher, the idle timer); never throws. */
  checkNow(force = false): void {
    if (this.closed || this.fd < 0) return;
    if (!force && !this.intervalDue() && this.bytesSinceCheck === 0) return;
    try {
      this.check();
    } catch (error) {
      this.onBackgroundError?.(error instanceof AuditWriteError ? error : this.writeError(error));
    }
  }

  /** Called at each check of the file (every `checkBytes` written or every second): the owner watches the write rate. */
  onCheck?: () => void;

  /** Compares the path with our descriptor; follows a rotation or a vanished file; rotates when due. */
  private check(): void {
    this.lastCheck = Date.now();
    this.onCheck?.();
    const onDisk = statSync(this.path, { throwIfNoEntry: false });
    const own = fstatSync(this.fd);
    if (!onDisk || onDisk.ino !== this.ino || onDisk.dev !== this.dev) {
      this.followChange(own);
      return;
    }
    if (own.size < this.verifiedSize + this.bytesSinceCheck) {
      this.recoverTruncated(own);
      return;
    }
    this.markVerified(own.size);
    if (this.maxBytes > 0 && this.size >= this.maxBytes) this.rotate();
  }

  private markVerified(size: number): void {
    this.written += this.bytesSinceCheck;
    this.size = size;
    this.verifiedSize = size;
    this.bytesSinceCheck = 0;
    this.unverified = [];
  }

  /** The path no longer names our file: another process rotated it, or it was removed or moved away. */
  private followChange(own: Stats): void {
    const lost = this.unverified;
    const inode = this.ino;
    let kind: "removed" | "renamed" | undefined;
    let movedTo: string | undefined;
    if (own.nlink === 0) kind = "removed";
    else if (!this.isRotatedSegment(own)) {
      kind = "renamed";
      movedTo = this.findInFolder(own);
    }
    this.reopen();
    if (!kind) return;
    // A removed file took our recent lines with it: they go to the new file. A moved one still holds them.
    const rewritten = kind === "removed" ? this.rewrite(lost) : 0;
    this.onEvent?.({ kind, path: this.path, inode, bytes: own.size, rewritten, movedTo });
  }

  /** The file was cut short in place (copytruncate, `> audit.jsonl`): write again our recent lines it lost. */
  private recoverTruncated(own: Stats): void {
    const lost = this.unverified;
    let tail = "";
    try {
      const length = Math.min(own.size, TRUNCATED_TAIL_BYTES);
      const buffer = Buffer.alloc(length);
      const fd = openSync(this.path, "r");
      try {
        readSync(fd, buffer, 0, length, own.size - length);
      } finally {
        closeSync(fd);
      }
      tail = buffer.toString("utf8");
    } catch {
      // Unreadable: every recent line is written again.
    }
    this.markVerified(own.size);
    const rewritten = this.rewrite(lost.filter((line) => !tail.includes(line)));
    this.onEvent?.({ kind: "truncated", path: this.path, inode: this.ino, bytes: own.size, rewritten });
  }

  private rewrite(lines: string[]): number {
    if (lines.length === 0) return 0;
    try {
      this.append(lines.join(""));
    } catch (error) {
      this.onBackgroundError?.(error as Error);
      return 0;
    }
    this.unverified.push(...lines);
    return lines.length;
  }

  /** Whether our file is now one of this trail's time-named segments (a rotation by another process). */
  private isRotatedSegment(own: Stats): boolean {
    const segments = listTrailSegments(this.dir, this.baseName);
    // Rotations since our previous check (a second ago at most) are among the newest segments.
    for (let i = segments.length - 1, looked = 0; i >= 0 && looked < 16; i--) {
      const segment = segments[i] as (typeof segments)[number];
      if (segment.live || segment.compressed || segmentRotatedAt(this.baseName, segment.name) === undefined) continue;
      looked++;
      const stat = statSync(segment.path, { throwIfNoEntry: false });
      if (stat && stat.ino === own.ino && stat.dev === own.dev) return true;
    }
    return false;
  }

  private findInFolder(own: Stats): string | undefined {
    try {
      for (const name of readdirSync(this.dir)) {
        const stat = statSync(join(this.dir, name), { throwIfNoEntry: false });
        if (stat && stat.ino === own.ino && stat.dev === own.dev) return name;
      }
    } catch {
      // The folder itself is gone.
    }
    return undefined;
  }

  private rotate(): void {
    let lock: ReturnType<typeof acquireFileLock>;
    try {
      // Never waits: a live holder is rotating this very file right now, and we follow at the next check.
      lock = acquireFileLock(`${this.path}.lock`, { purpose: "rotate" });
    } catch (error) {
      this.rotationFailed(error);
      return;
    }
    if (!lock) {
      // The holder is rotating this very file right now: look again at the next write (size stays over the
      // limit), so our lines follow it into the new file at once; a holder that keeps the lock longer than a
      // moment is followed at the usual cadence.
      const now = Date.now();
      this.lockBusySince ||= now;
      if (now - this.lockBusySince > LOCK_BUSY_RECHECK_MS) this.size = 0;
      return;
    }
    this.lockBusySince = 0;
    try {
      this.rotateLocked();
    } catch (error) {
      // The file cannot be (re)opened: the write fails as it would anyway.
      if (error instanceof AuditWriteError) throw error;
      this.rotationFailed(error);
    } finally {
      lock.release();
    }
    if (lock.tookOver) this.onEvent?.({ kind: "lock-taken-over", path: lock.path, holder: lock.tookOver });
  }

  /**
   * A rotation that fails (a segment name taken by a folder, a lock file that
   * cannot be made) must not cost records: keep appending to the current file,
   * report it, and try again after another maxBytes.
   */
  private rotationFailed(error: unknown): void {
    this.size = 0;
    const code = (error as NodeJS.ErrnoException)?.code;
    this.onBackgroundError?.(
      new AuditWriteError(`cannot rotate audit trail ${this.path}${code ? ` (${code})` : ""}`, this.path, { cause: error }),
    );
  }

  /** Renames the file to a time-named segment unless another process did, then reopens; runs under the lock. */
  private rotateLocked(): void {
    const onDisk = statSync(this.path, { throwIfNoEntry: false });
    let segment: string | undefined;
    // Under the lock, rotate only if nobody did it since our check.
    if (onDisk && onDisk.ino === this.ino && onDisk.size >= this.maxBytes) {
      segment = rotatedSegmentName(this.baseName, this.nextStamp());
      const target = join(this.dir, segment);
      if (statSync(target, { throwIfNoEntry: false })) throw Object.assign(new Error(`${target} exists`), { code: "EEXIST" });
      renameSync(this.path, target);
      this.rotations++;
    }
    this.reopen();
    if (segment) this.onEvent?.({ kind: "rotated", path: this.path, segment });
  }

  /**
   * The time a new segment is named by: now, or just after the newest segment
   * when that is not older (two rotations in one millisecond, or a clock
   * stepped back), so that names keep sorting in the order segments were made.
   */
  private nextStamp(): number {
    let newest = 0;
    for (const segment of listTrailSegments(this.dir, this.baseName)) {
      const at = segmentRotatedAt(this.baseName, segment.name);
      if (at !== undefined && at > newest) newest = at;
    }
    return Math.max(Date.now(), newest + 1);
  }

  private open(): void {
    try {
      mkdirSync(this.dir, { recursive: true });
      this.fd = openSync(this.path, APPEND_FLAGS, 0o640);
      const stat = fstatSync(this.fd);
      this.ino = stat.ino;
      this.dev = stat.dev;
      this.markVerified(stat.size);
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

  /** The open file's inode and size now (a writer's position, for its saved state); undefined when not open. */
  position(): { inode: number; size: number } | undefined {
    if (this.fd < 0) return undefined;
    try {
      return { inode: this.ino, size: fstatSync(this.fd).size };
    } catch {
      return undefined;
    }
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
      if (this.fd >= 0 && this.tornTail) this.tryNewline();
      this.clearTorn();
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
