/**
 * A lock file shared by every process writing one log folder, taken only
 * around a rotation: O_EXCL create, short sleeps while another holds it, and
 * a stale lock (holder died mid-rotation) broken after `staleMs`.
 */
import { closeSync, openSync, statSync, unlinkSync, writeSync } from "node:fs";

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread for `ms` without spinning (rotation is rare and short). */
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

export interface FileLockOptions {
  /** Longest wait before giving up (default 5 s). */
  timeoutMs?: number;
  /** Age after which a lock is considered abandoned (default 10 s). */
  staleMs?: number;
}

/** Runs `fn` holding the lock; returns false (without running it) if the lock could not be had in time. */
export function withFileLock(lockPath: string, fn: () => void, options: FileLockOptions = {}): boolean {
  const timeoutMs = options.timeoutMs ?? 5000;
  const staleMs = options.staleMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  for (;;) {
    try {
      const fd = openSync(lockPath, "wx");
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      breakIfStale(lockPath, staleMs);
      if (Date.now() >= deadline) return false;
      sleepSync(delay);
      delay = Math.min(delay * 2, 20);
    }
  }
  try {
    fn();
  } finally {
    try {
      unlinkSync(lockPath);
    } catch {
      // Already broken as stale by another process: nothing left to release.
    }
  }
  return true;
}

function breakIfStale(lockPath: string, staleMs: number): void {
  const stat = statSync(lockPath, { throwIfNoEntry: false });
  if (stat && Date.now() - stat.mtimeMs > staleMs) {
    try {
      unlinkSync(lockPath);
    } catch {
      // Another waiter broke it first.
    }
  }
}
