/**
 * A lock file shared by every process writing one log folder. The holder
 * writes who it is (pid, host, time) into the lock, so that a waiter can take
 * over at once from a holder that died on this host, instead of waiting for
 * the lock to age. Age is measured by the waiter's own monotonic clock from
 * the moment it first saw that very lock, so a lock whose mtime lies in the
 * future (the clock was stepped back) is still broken in time.
 */
import { randomBytes } from "node:crypto";
import { closeSync, fstatSync, linkSync, lstatSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { performance } from "node:perf_hooks";
import { threadId } from "node:worker_threads";

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread for `ms` without spinning. */
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/** What a lock file says about its holder. */
export interface LockHolder {
  pid: number;
  /** The worker thread (0: the main thread): threads of one process are holders of their own. */
  thread: number;
  host: string;
  /** When the lock was taken (ms since the epoch, the holder's clock). */
  since: number;
  /** What the lock is held for ("rotate", "janitor", ...). */
  purpose: string;
}

export interface FileLockOptions {
  /** Longest wait for a live holder before giving up (default 0: try once, never block). */
  timeoutMs?: number;
  /** A lock seen unchanged this long (by the waiter's clock) is abandoned (default 10 s). */
  staleMs?: number;
  /** Written into the lock for whoever finds it taken. */
  purpose?: string;
}

const HOST = hostname();

/** The holder a lock file names, or undefined when it cannot be read (being written, or not ours). */
export function readLockHolder(lockPath: string): LockHolder | undefined {
  try {
    const text = readFileSync(lockPath, "utf8");
    // Older auditx wrote only its pid: a holder on this host.
    if (/^\d+\n?$/.test(text)) return { pid: Number(text.trim()), thread: 0, host: HOST, since: 0, purpose: "" };
    const holder = JSON.parse(text) as Partial<LockHolder>;
    if (typeof holder.pid !== "number" || typeof holder.host !== "string") return undefined;
    return {
      pid: holder.pid,
      thread: Number(holder.thread) || 0,
      host: holder.host,
      since: Number(holder.since) || 0,
      purpose: String(holder.purpose ?? ""),
    };
  } catch {
    return undefined;
  }
}

/** Whether a process of this host is running (a process we may not signal still runs). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Whether the holder is certainly gone: a process of this host that no longer runs. */
export function isHolderDead(holder: LockHolder | undefined): boolean {
  return holder !== undefined && holder.host === HOST && holder.pid !== process.pid && !isProcessAlive(holder.pid);
}

/** Locks this process has seen taken, by path: which file (ino + mtime) and since when (monotonic). */
const firstSeen = new Map<string, { key: string; at: number }>();

/** How long (by our clock) the lock now at `lockPath` has been there unchanged. */
function observedAge(lockPath: string, key: string): number {
  const now = performance.now();
  const seen = firstSeen.get(lockPath);
  if (seen?.key === key) return now - seen.at;
  if (firstSeen.size > 1000) firstSeen.clear();
  firstSeen.set(lockPath, { key, at: now });
  return 0;
}

/** Takes the lock if it is free; returns the inode of our lock file, or undefined when it is taken. */
function tryCreate(lockPath: string, purpose: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(lockPath, "wx", 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return undefined;
    throw error;
  }
  try {
    const holder: LockHolder = { pid: process.pid, thread: threadId, host: HOST, since: Date.now(), purpose };
    writeSync(fd, `${JSON.stringify(holder)}\n`);
    return fstatSync(fd).ino;
  } finally {
    closeSync(fd);
  }
}

/** A lock this process holds. */
export interface HeldLock {
  readonly path: string;
  /** Whether it was taken over from a holder that died or was stale. */
  readonly tookOver: LockHolder | "stale" | undefined;
  release(): void;
}

/**
 * Takes the lock: at once when free or abandoned (its holder died on this host,
 * or it stayed unchanged `staleMs`); otherwise waits up to `timeoutMs` for it.
 * Returns undefined when a live holder keeps it.
 */
export function acquireFileLock(lockPath: string, options: FileLockOptions = {}): HeldLock | undefined {
  const timeoutMs = options.timeoutMs ?? 0;
  const staleMs = options.staleMs ?? 10_000;
  const purpose = options.purpose ?? "";
  const deadline = performance.now() + timeoutMs;
  let delay = 1;
  let tookOver: HeldLock["tookOver"];
  // Bounded even when the lock keeps changing hands under us.
  for (let attempt = 0; attempt < 1000; attempt++) {
    const ino = tryCreate(lockPath, purpose);
    if (ino !== undefined) {
      firstSeen.delete(lockPath);
      return {
        path: lockPath,
        tookOver,
        release: () => releaseIfOurs(lockPath, ino),
      };
    }
    const broken = breakIfAbandoned(lockPath, staleMs);
    if (broken) {
      if (broken !== "gone") tookOver = broken;
      continue;
    }
    if (performance.now() >= deadline) return undefined;
    sleepSync(delay);
    delay = Math.min(delay * 2, 20);
  }
  return undefined;
}

/** Runs `fn` holding the lock; returns false (without running it) if a live holder keeps it. */
export function withFileLock(lockPath: string, fn: () => void, options: FileLockOptions = {}): boolean {
  const lock = acquireFileLock(lockPath, options);
  if (!lock) return false;
  try {
    fn();
  } finally {
    lock.release();
  }
  return true;
}

/** Removes the lock only if it is still our own: had it been broken as stale, the file there now is another holder's. */
function releaseIfOurs(lockPath: string, ino: number): void {
  if (lstatSync(lockPath, { throwIfNoEntry: false })?.ino !== ino) return;
  try {
    unlinkSync(lockPath);
  } catch {
    // Gone meanwhile: nothing left to release.
  }
}

/**
 * Breaks the lock when its holder died on this host, or when we have seen it
 * unchanged for `staleMs`. Two waiters may judge the same lock abandoned; the
 * slower must not remove the fresh lock the faster has taken since. So the
 * lock is first renamed aside (atomic) and checked: if it is not the file
 * that was judged, it goes back. Returns who was displaced, or undefined.
 */
function breakIfAbandoned(
  lockPath: string,
  staleMs: number,
  abandoned: (holder: LockHolder | undefined) => boolean = isHolderDead,
): LockHolder | "stale" | "gone" | undefined {
  const seen = lstatSync(lockPath, { throwIfNoEntry: false });
  if (!seen) return "gone"; // released meanwhile: try again at once
  const holder = readLockHolder(lockPath);
  const key = `${seen.ino}:${seen.mtimeMs}:${seen.size}`;
  let verdict: LockHolder | "stale" | undefined;
  const age = Date.now() - seen.mtimeMs;
  if (abandoned(holder)) verdict = holder;
  // Old by its mtime, or (an mtime in the future: the clock was stepped back) unchanged that long by our own clock.
  else if (age > staleMs || observedAge(lockPath, key) > staleMs) verdict = "stale";
  if (!verdict) return undefined;
  const aside = `${lockPath}.stale-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    renameSync(lockPath, aside);
  } catch {
    return "gone"; // another waiter broke it first: try again
  }
  const moved = lstatSync(aside, { throwIfNoEntry: false });
  if (moved && `${moved.ino}:${moved.mtimeMs}:${moved.size}` !== key) {
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
  firstSeen.delete(lockPath);
  return verdict;
}

/** Lock paths this process holds for a long time (writer slots): never judged abandoned by this process. */
const heldHere = new Set<string>();

/**
 * A lock held for as long as the process uses what it guards (a writer's
 * identity, say): only a holder that died on this host loses it, never by age.
 */
export function acquireLongLivedLock(lockPath: string, purpose: string): HeldLock | undefined {
  if (heldHere.has(lockPath)) return undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const ino = tryCreate(lockPath, purpose);
    if (ino !== undefined) {
      heldHere.add(lockPath);
      return {
        path: lockPath,
        tookOver: undefined,
        release: () => {
          heldHere.delete(lockPath);
          releaseIfOurs(lockPath, ino);
        },
      };
    }
    // Our own thread in a lock it does not hold: left by an earlier logger of this thread that never released it.
    const abandoned = (holder: LockHolder | undefined) =>
      isHolderDead(holder) || (holder?.host === HOST && holder.pid === process.pid && holder.thread === threadId);
    if (!abandoned(readLockHolder(lockPath))) return undefined;
    if (!breakIfAbandoned(lockPath, Number.POSITIVE_INFINITY, abandoned)) return undefined;
  }
  return undefined;
}
