import type { RateLimitSettings } from "./settings.js";

interface Attempts {
  count: number;
  windowStart: number;
  /** Whether this window's escalation entry was already written. */
  alerted: boolean;
}

/**
 * Counts attempts per key (an IP, a user) in a fixed window. Bounded: at most
 * `maxKeys` keys, the least recently touched forgotten first, expired ones
 * pruned as new keys arrive.
 */
export class RateLimiter {
  readonly maxAttempts: number;
  readonly windowMs: number;
  readonly maxKeys: number;
  private readonly table = new Map<string, Attempts>();

  constructor(settings: RateLimitSettings) {
    this.maxAttempts = settings.maxAttempts;
    this.windowMs = settings.windowMs;
    this.maxKeys = settings.maxKeys;
  }

  /** Records one attempt; returns the attempt count in the current window. */
  hit(key: string, now = Date.now()): Attempts {
    let attempts = this.table.get(key);
    if (attempts && now - attempts.windowStart >= this.windowMs) attempts = undefined;
    if (attempts) this.table.delete(key);
    else {
      attempts = { count: 0, windowStart: now, alerted: false };
      this.makeRoom(now);
    }
    attempts.count++;
    // Re-insert so Map order is least-recently-touched first.
    this.table.set(key, attempts);
    return attempts;
  }

  /** Records an attempt and tells whether it is still within the limit. */
  check(key: string, now = Date.now()): boolean {
    return this.hit(key, now).count <= this.maxAttempts;
  }

  reset(key?: string): void {
    if (key === undefined) this.table.clear();
    else this.table.delete(key);
  }

  get size(): number {
    return this.table.size;
  }

  private makeRoom(now: number): void {
    if (this.table.size < this.maxKeys) return;
    for (const [key, attempts] of this.table) {
      if (now - attempts.windowStart >= this.windowMs) this.table.delete(key);
      else break;
    }
    while (this.table.size >= this.maxKeys) {
      const oldest = this.table.keys().next().value as string;
      this.table.delete(oldest);
    }
  }
}
