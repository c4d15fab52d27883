/**
 * A lock file shared by every process writing one log folder, taken only
 * around a rotation: O_EXCL create, short sleeps while another holds it, and
 * a stale lock (holder died mid-rotation) broken after `staleMs`.
 */
import { randomBytes } from "node:crypto";
import { closeSync, fstatSync, linkSync, openSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread for `ms` without spinning (rotation is rare and short). */
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

export interface FileLockOptions {
  /** Longest wait before giving up (default 1 s): the wait blocks the writing thread. */
  timeoutMs?: number;
  /** Age after which a lock is considered abandoned (default 10 s). */
  staleMs?: number;
}

/** Runs `fn` holding the lock; returns false (without running it) if the lock could not be had in time. */
export function withFileLock(lockPath: string, fn: () => void, options: FileLockOptions = {}): boolean {
  const timeoutMs = options.timeoutMs ?? 1000;
  const staleMs = options.staleMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  let ownIno: number;
  for (;;) {
    try {
      const fd = openSync(lockPath, "wx");
      try {
        ownIno = fstatSync(fd).ino;
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
    // Only our own lock: had it been broken as stale, the file there now is another holder's.
    if (statSync(lockPath, { throwIfNoEntry: false })?.ino === ownIno) {
      try {
        unlinkSync(lockPath);
      } catch {
        // Gone meanwhile: nothing left to release.
      }
    }
  }
  return true;
}

/**
 * Removes the lock if it is older than `staleMs`. Two waiters may find the
 * same stale lock; the slower one must not remove the fresh lock the faster
 * one has taken since. So the lock is first renamed aside (atomic) and
 * checked: if it is not the stale file that was seen, it goes back.
 */
function breakIfStale(lockPath: string, staleMs: number): void {
  const seen = statSync(lockPath, { throwIfNoEntry: false });
  if (!seen || Date.now() - seen.mtimeMs <= staleMs) return;
  const aside = `${lockPath}.stale-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    renameSync(lockPath, aside);
  } catch {
    return; // Another waiter broke it first.
  }
  const moved = statSync(aside, { throwIfNoEntry: false });
  if (moved && (moved.ino !== seen.ino || moved.mtimeMs !== seen.mtimeMs)) {
    try {
      linkSync(aside, lockPath);
    } catch {
      // The place was taken in the instant it was empty: that holder has it now.
    }
  }
  try {
    unlinkSync(aside);
  } catch {
    // Nothing to clean up.
  }
}
