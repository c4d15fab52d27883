/**
 * Trails for the browser tests, written by the real auditx logger: the
 * original auditX walkthrough and a business day of ERP activity across three
 * branches, spread over working hours so the time column and the time-range
 * filter have something to show.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeActivity, writeOriginalScenario } from "../../src/cli/demoScenario.js";
import { AuditAction, type AuditLogger, BusinessModule, createLogger } from "../../src/index.js";

export const ROOT = join(import.meta.dirname, "..", "..");
export const DIST_INDEX = join(ROOT, "dist", "index.js");

export interface TestTrail {
  logDir: string;
  logger: AuditLogger;
  /** The first and last timestamps (ms) of the business day written. */
  dayStart: number;
  dayEnd: number;
  cleanup(): Promise<void>;
}

/** A small deterministic generator, so every run writes the same day. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

/**
 * Runs `write` with Date.now() reporting `at`: the logger stamps entries with
 * Date.now(), and a trail whose entries all share one second looks nothing
 * like a real day.
 */
function at<T>(millis: number, write: () => T): T {
  const realNow = Date.now;
  Date.now = () => millis;
  try {
    return write();
  } finally {
    Date.now = realNow;
  }
}

export interface TrailOptions {
  /** Entries of the business day (default 160). */
  day?: number;
  /** Whether to write the original's walkthrough first (default true). */
  walkthrough?: boolean;
}

/** A fresh log folder with a realistic ERP trail; the day ends about a minute ago. */
export async function writeTestTrail(options: TrailOptions = {}): Promise<TestTrail> {
  const logDir = mkdtempSync(join(tmpdir(), "auditx-browser-"));
  const logger = createLogger({ auditLifecycle: false, logDir, console: false, currency: "MMK" });
  const count = options.day ?? 160;
  const dayEnd = Date.now() - 60_000;
  const dayStart = dayEnd - 9 * 3600_000; // a nine-hour working day
  const next = seeded(2026);
  if (options.walkthrough !== false) at(dayStart - 600_000, () => writeOriginalScenario(logger));
  for (let i = 0; i < count; i++) {
    const millis = count === 1 ? dayEnd : Math.round(dayStart + ((dayEnd - dayStart) * i) / (count - 1));
    at(millis, () => writeActivity(logger, next, i));
  }
  await logger.flush();
  return {
    logDir,
    logger,
    dayStart,
    dayEnd,
    async cleanup() {
      await logger.shutdown();
      rmSync(logDir, { recursive: true, force: true });
    },
  };
}

/** One change with a before/after, for the detail panel and entity history tests. */
export function writeCreditLimitChange(logger: AuditLogger, customer: string, from: number, to: number): void {
  logger.logChange("Customer credit limit updated", {
    module: BusinessModule.CRM,
    action: AuditAction.UPDATE,
    user: "may.phyu",
    userRole: "accountant",
    branchId: "BR-YGN",
    companyId: "CO-001",
    entityType: "customer",
    entityId: customer,
    oldValues: { credit_limit: from, payment_terms: "NET30", risk: "low" },
    newValues: { credit_limit: to, payment_terms: "NET45", risk: "low" },
    metadata: { approved_by: "admin" },
  });
}
