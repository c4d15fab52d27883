/** Brute-force detection: failed logins counted per IP, escalation, window expiry, bounded table. */
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AuditAction, type AuditLogger, createLogger, RequestContext } from "../src/index.js";
import { readJsonl, readTrail, tempDir } from "./support/core-trail.js";

let dir: string;
let cleanup: () => void;
let logger: AuditLogger;
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
});
afterEach(async () => {
  vi.useRealTimers();
  try {
    await logger.shutdown();
  } finally {
    cleanup();
  }
});

const failedLogin = (ip: string, user = "admin") =>
  logger.logSecurity("Login failed: bad password", { action: AuditAction.LOGIN, user, ip, success: false });
/** The windows run on Date.now(): a fake clock moves them without waiting. */
const passTime = (ms: number) => vi.advanceTimersByTime(ms);

describe("failed logins", () => {
  it("escalate to CRITICAL with brute_force metadata past maxAttempts, per IP", () => {
    logger = createLogger({ logDir: dir, rateLimit: { maxAttempts: 3 } });
    const entries = [1, 2, 3, 4, 5].map(() => failedLogin("203.0.113.77"));
    expect(entries.map((e) => e.level)).toEqual(["SECURITY", "SECURITY", "SECURITY", "CRITICAL", "CRITICAL"]);
    expect(entries.map((e) => e.metadata?.failed_attempts)).toEqual([1, 2, 3, 4, 5]);
    expect(entries[2].metadata?.brute_force).toBeUndefined();
    // The original's description, which SIEM rules match; the detail is in metadata.
    expect(entries[3].description).toBe("Rate limit exceeded - possible brute force");
    expect(entries[3].metadata).toMatchObject({
      brute_force: true,
      failed_attempts: 4,
      limit: 3,
      window_seconds: 60,
      rate_limit_key: "203.0.113.77",
      attempt_description: "Login failed: bad password",
    });
    expect(entries[3].success).toBe(false);
    expect(entries[3].ip).toBe("203.0.113.77");

    // Another IP has its own count.
    expect(failedLogin("198.51.100.1")).toMatchObject({ level: "SECURITY", metadata: { failed_attempts: 1 } });

    const security = readJsonl(join(dir, "security.jsonl"));
    expect(security).toHaveLength(6);
    expect(security.filter((e) => e.level === "CRITICAL").map((e) => (e.metadata as Record<string, unknown>).brute_force)).toEqual([
      true,
      true,
    ]);
    expect(readJsonl(join(dir, "audit.jsonl"))).toHaveLength(6);
  });

  it("takes the IP from the request context when the call gives none", () => {
    logger = createLogger({ logDir: dir, rateLimit: { maxAttempts: 1 } });
    const levels = RequestContext.run({ ip: "10.9.9.9" }, () =>
      [1, 2].map(() => logger.logSecurity("bad password", { success: false }).level),
    );
    expect(levels).toEqual(["SECURITY", "CRITICAL"]);
  });

  it("does not count successful logins or other security events", () => {
    logger = createLogger({ logDir: dir, rateLimit: { maxAttempts: 2 } });
    for (let i = 0; i < 10; i++) logger.logSecurity("Login ok", { user: "admin", ip: "10.0.0.5", success: true });
    for (let i = 0; i < 5; i++) logger.logSecurity("Logout", { action: AuditAction.LOGOUT, ip: "10.0.0.5", success: false });
    const first = failedLogin("10.0.0.5");
    expect(first).toMatchObject({ level: "SECURITY", metadata: { failed_attempts: 1 } });
    const ok = logger.logSecurity("Login ok", { user: "admin", ip: "10.0.0.5" });
    expect(ok.metadata).toBeUndefined();
    expect(failedLogin("10.0.0.5").metadata?.failed_attempts).toBe(2);
    expect(failedLogin("10.0.0.5").level).toBe("CRITICAL");
  });

  it("start counting again once the window has passed, not before", () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    logger = createLogger({ logDir: dir, rateLimit: { maxAttempts: 2, windowMs: 150_000 } });
    expect([1, 2, 3].map(() => failedLogin("10.1.1.1").level)).toEqual(["SECURITY", "SECURITY", "CRITICAL"]);
    passTime(149_999);
    expect(failedLogin("10.1.1.1").metadata?.failed_attempts).toBe(4);
    passTime(1);
    const fresh = failedLogin("10.1.1.1");
    expect(fresh.level).toBe("SECURITY");
    expect(fresh.metadata?.failed_attempts).toBe(1);
  });
});

describe("checkRateLimit / resetRateLimit", () => {
  it("allows maxAttempts per key, then refuses until reset", () => {
    logger = createLogger({ logDir: dir, rateLimit: { maxAttempts: 3 } });
    expect([1, 2, 3, 4, 5].map(() => logger.checkRateLimit("api-key-1"))).toEqual([true, true, true, false, false]);
    expect(logger.checkRateLimit("api-key-2")).toBe(true);
    logger.resetRateLimit("api-key-1");
    expect(logger.checkRateLimit("api-key-1")).toBe(true);
    expect(logger.checkRateLimit("api-key-2")).toBe(true);
    logger.checkRateLimit("api-key-2");
    expect(logger.checkRateLimit("api-key-2")).toBe(false);
    logger.resetRateLimit();
    expect(logger.checkRateLimit("api-key-2")).toBe(true);
    expect(logger.stats().rateLimitKeys).toBe(1);
  });

  it("resetRateLimit clears a brute-force count", () => {
    logger = createLogger({ logDir: dir, rateLimit: { maxAttempts: 1 } });
    failedLogin("10.2.2.2");
    expect(failedLogin("10.2.2.2").level).toBe("CRITICAL");
    logger.resetRateLimit("10.2.2.2");
    expect(failedLogin("10.2.2.2").level).toBe("SECURITY");
  });

  it("refuses again after the window only if the key keeps hitting", () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    logger = createLogger({ logDir: dir, rateLimit: { maxAttempts: 1, windowMs: 60_000 } });
    expect(logger.checkRateLimit("k")).toBe(true);
    expect(logger.checkRateLimit("k")).toBe(false);
    passTime(30_000);
    expect(logger.checkRateLimit("k")).toBe(false);
    passTime(30_000);
    expect(logger.checkRateLimit("k")).toBe(true);
    expect(logger.checkRateLimit("k")).toBe(false);
  });
});

describe("bounded memory", () => {
  it("keeps at most rateLimit.maxKeys keys under 100k distinct IPs, and still counts the recent ones", async () => {
    logger = createLogger({ logDir: dir, buffered: true, rateLimit: { maxAttempts: 2, maxKeys: 1000 } });
    const ipOf = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    let peak = 0;
    for (let i = 0; i < 100_000; i++) {
      failedLogin(ipOf(i));
      if ((i & 1023) === 0) peak = Math.max(peak, logger.stats().rateLimitKeys);
    }
    peak = Math.max(peak, logger.stats().rateLimitKeys);
    expect(peak).toBeLessThanOrEqual(1000);
    expect(logger.stats().rateLimitKeys).toBe(1000);
    // The most recent IP is still tracked: its next failures escalate.
    expect(failedLogin(ipOf(99_999)).metadata?.failed_attempts).toBe(2);
    expect(failedLogin(ipOf(99_999)).level).toBe("CRITICAL");
    // An early IP was forgotten: it starts again at 1.
    expect(failedLogin(ipOf(0)).metadata?.failed_attempts).toBe(1);

    for (let i = 0; i < 100_000; i++) logger.checkRateLimit(`key-${i}`);
    expect(logger.stats().rateLimitKeys).toBe(1000);
    await logger.flush();
    // The trail rotated on the way (10 MiB files): count across the backups.
    expect(readTrail(dir, "security.jsonl")).toHaveLength(100_003);
  });
});
