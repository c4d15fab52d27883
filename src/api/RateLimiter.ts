import type { RateLimitSettings } from "./settings.js";

interface Attempts {
  count: number;
  windowStart: number;
  /** The window this key is counted in (checkRateLimit may give its own). */
  windowMs: number;
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

  /** Records one attempt; returns the attempts of `key` in its current window (of `windowMs`, default the setting's). */
  hit(key: string, now = Date.now(), windowMs = this.windowMs): Readonly<Attempts> {
    let attempts = this.table.get(key);
    if (attempts && now - attempts.windowStart >= windowMs) attempts = undefined;
    if (attempts) this.table.delete(key);
    else {
      attempts = { count: 0, windowStart: now, windowMs };
      this.makeRoom(now);
    }
    attempts.count++;
    attempts.windowMs = windowMs;
    // Re-insert so Map order is least-recently-touched first.
    this.table.set(key, attempts);
    return attempts;
  }

  /** Records an attempt and tells whether it is still within `limit` (default maxAttempts) in the window. */
  check(key: string, now = Date.now(), limit = this.maxAttempts, windowMs = this.windowMs): boolean {
    return this.hit(key, now, windowMs).count <= limit;
  }

  /** The attempts of `key` in its current window, without counting one: 0 when none. */
  peek(key: string, now = Date.now()): number {
    const attempts = this.table.get(key);
    return attempts && now - attempts.windowStart < attempts.windowMs ? attempts.count : 0;
  }

  /** When the current window of `key` ends (epoch ms), or 0 when it has none. */
  windowEnd(key: string, now = Date.now()): number {
    const attempts = this.table.get(key);
    return attempts && now - attempts.windowStart < attempts.windowMs ? attempts.windowStart + attempts.windowMs : 0;
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
      if (now - attempts.windowStart >= attempts.windowMs) this.table.delete(key);
      else break;
    }
    while (this.table.size >= this.maxKeys) {
      const oldest = this.table.keys().next().value as string;
      this.table.delete(oldest);
    }
  }
}
