/**
 * The zero-loss path, run for real: the Collector tails the trail auditx
 * writes (audit.jsonl, security.jsonl and their rotated segments) with its
 * read positions in file_storage, while auditx writes and rotates. The
 * Collector is killed with SIGKILL (a crash), stopped with SIGTERM and
 * restarted, several times, in the middle of the writing. Every line
 * arrives, whole; a line arrives twice only where collector-config.yaml says
 * it may: after a crash, the lines of the poll the crash interrupted.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditAction, type AuditLogger, BusinessModule, createLogger, LogLevel } from "../../src/index.js";
import { listTrailSegments } from "../../src/trail/segments.js";
import { CollectorProcess, type ExportedRecord, readExport } from "../support/collector.js";
import { readJsonl, tempDir } from "../support/core-trail.js";
import { eventually } from "../support/eventually.js";

const TOTAL = 8000;
/** Records written per 10 ms tick: about 1000 a second, so the run takes ~8 s. */
const PER_TICK = 10;
/** Every SECURITY_EVERY-th record is a security event at level SECURITY (also in security.jsonl). */
const SECURITY_EVERY = 10;

/** What happens to the Collector once auditx has written `at` records. */
const SCHEDULE: { at: number; action: "SIGKILL" | "SIGTERM" | "start" }[] = [
  { at: 1200, action: "SIGKILL" },
  { at: 2000, action: "start" },
  { at: 3000, action: "SIGTERM" },
  { at: 3600, action: "start" },
  { at: 4800, action: "SIGKILL" },
  // Down across several rotations.
  { at: 6000, action: "start" },
  { at: 6900, action: "SIGKILL" },
  { at: 6950, action: "start" },
];

let dir: string;
let cleanup: () => void;
let collector: CollectorProcess;
let logger: AuditLogger;
const trail = () => join(dir, "trail");
const exportDir = () => join(dir, "export");

function marker(n: number): string {
  return `ZL-${String(n).padStart(6, "0")}`;
}

function write(n: number): void {
  const referenceNo = marker(n);
  if (n % SECURITY_EVERY === 0) {
    logger.logSecurity(`Login ${n} accepted`, {
      level: LogLevel.SECURITY,
      action: AuditAction.LOGIN,
      user: `user-${n % 7}`,
      referenceNo,
      ip: "10.1.2.3",
    });
  } else {
    logger.logTransaction(`Invoice ${n} posted`, {
      module: BusinessModule.SALES,
      action: AuditAction.POST,
      referenceNo,
      amount: 1000 + n,
      entityType: "sales_invoice",
      entityId: `inv-${n}`,
      party: "Golden Trading Co.",
      metadata: { n },
    });
  }
}

/** The life of the Collector (0-based) each export-file offset belongs to, from the file sizes at each stop. */
function lifeOf(offset: number, stops: number[]): number {
  const index = stops.findIndex((size) => offset < size);
  return index === -1 ? stops.length : index;
}

interface RunResult {
  /** Export file sizes when each life ended, and how it ended. */
  stops: { audit: number; security: number; how: "SIGKILL" | "SIGTERM" }[];
  audit: ExportedRecord[];
  security: ExportedRecord[];
}

let result: RunResult;

beforeAll(async () => {
  ({ dir, cleanup } = tempDir("auditx-collector-filelog-"));
  collector = new CollectorProcess({
    logDir: trail(),
    storageDir: join(dir, "storage"),
    exportDir: exportDir(),
    args: ["--feature-gates=stanza.synchronousLogEmitter"],
  });
  // Rotation about every 180 lines; nothing is ever deleted. Every line is one of the numbered records (no START or
  // STOP of the logger): each is followed through the Collector by its reference number.
  logger = createLogger({
    logDir: trail(),
    serviceName: "erp-api",
    hostname: "erp-host-1",
    maxFileBytes: 128 * 1024,
    backupCount: 10_000,
    auditLifecycle: false,
  });
  await collector.start();

  const auditOut = join(exportDir(), "audit-otlp.jsonl");
  const securityOut = join(exportDir(), "security-otlp.jsonl");
  const size = (path: string) => statSync(path, { throwIfNoEntry: false })?.size ?? 0;
  const stops: RunResult["stops"] = [];
  let written = 0;
  let step = 0;
  const controlErrors: unknown[] = [];
  let control: Promise<void> = Promise.resolve();
  while (written < TOTAL) {
    for (let i = 0; i < PER_TICK && written < TOTAL; i++) write(written++);
    const next = SCHEDULE[step];
    if (next && written >= next.at) {
      step++;
      // The Collector is stopped and started beside the writing, which never waits for it.
      control = control.then(async () => {
        try {
          if (next.action === "start") await collector.start();
          else {
            await collector.kill(next.action);
            stops.push({ audit: size(auditOut), security: size(securityOut), how: next.action });
          }
        } catch (error) {
          controlErrors.push(error);
        }
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await control;
  expect(controlErrors).toEqual([]);
  expect(step).toBe(SCHEDULE.length);
  await logger.shutdown();

  // Everything written must arrive. A timeout is not fatal here: the tests below name what is missing.
  const arrived = (path: string) => new Set(readExport(path).map((record) => record.attributes["auditx.reference_no"])).size;
  await eventually(() => arrived(auditOut) >= TOTAL && arrived(securityOut) >= TOTAL / SECURITY_EVERY, 90_000, "every line", 250).catch(
    (error: Error) => console.warn(`${error.message}; the Collector's last output:\n${collector.logTail(10)}`),
  );
  await collector.kill("SIGTERM");
  result = { stops, audit: readExport(auditOut), security: readExport(securityOut) };
}, 240_000);

afterAll(async () => {
  await collector?.kill("SIGKILL");
  cleanup?.();
});

describe("filelog path through Collector crashes and restarts", () => {
  it("auditx wrote and rotated the whole trail while the Collector came and went", () => {
    const segments = listTrailSegments(trail(), "audit.jsonl");
    expect(segments.length).toBeGreaterThan(20);
    console.info(`filelog: the trail rotated into ${segments.length} segments`);
    const lines = segments.flatMap((segment) => readJsonl(segment.path));
    expect(lines).toHaveLength(TOTAL);
    expect(new Set(lines.map((line) => line.reference_no)).size).toBe(TOTAL);
    expect(result.stops.map((stop) => stop.how)).toEqual(["SIGKILL", "SIGTERM", "SIGKILL", "SIGKILL"]);
    expect(collector.starts).toBe(5);
  });

  it("delivers every line of audit.jsonl and its segments, and every security line to the security pipeline", () => {
    const audit = new Set(result.audit.map((record) => record.attributes["auditx.reference_no"]));
    const expected = Array.from({ length: TOTAL }, (_, n) => marker(n));
    expect(expected.filter((reference) => !audit.has(reference))).toEqual([]);
    expect(audit.size).toBe(TOTAL);
    const security = new Set(result.security.map((record) => record.attributes["auditx.reference_no"]));
    const expectedSecurity = expected.filter((_, n) => n % SECURITY_EVERY === 0);
    expect([...security].sort()).toEqual(expectedSecurity);
  });

  it("delivers every line whole: parsed, with the body, level, time and attributes of its trail line", () => {
    for (const record of [...result.audit, ...result.security]) {
      const reference = String(record.attributes["auditx.reference_no"]);
      const n = Number(reference.slice(3));
      expect(reference).toBe(marker(n));
      if (n % SECURITY_EVERY === 0) {
        expect(record.body).toBe(`Login ${n} accepted`);
        expect(record.severityText).toBe("SECURITY");
        expect(record.severityNumber).toBe(18);
        expect(record.attributes).toMatchObject({ "auditx.stream": "security", "auditx.success": true, "client.address": "10.1.2.3" });
      } else {
        expect(record.body).toBe(`Invoice ${n} posted`);
        expect(record.severityText).toBe("AUDIT");
        expect(record.severityNumber).toBe(11);
        expect(record.attributes).toMatchObject({
          "auditx.stream": "audit",
          "auditx.amount": 1000 + n,
          "auditx.entity.id": `inv-${n}`,
          "auditx.metadata": { party: "Golden Trading Co.", n },
        });
        expect(record.rawAttributes["auditx.amount"]).toHaveProperty("doubleValue");
      }
      // No trail field name is left over: the line was parsed whole and mapped.
      expect(Object.keys(record.attributes).filter((key) => /^[a-z_]+$/.test(key))).toEqual([]);
      expect(record.timeUnixNano).not.toBe("0");
    }
  });

  it("delivers a line twice only after a crash, and only across that crash", () => {
    const lives = new Map<string, number[]>();
    for (const [stream, records] of [
      ["audit", result.audit],
      ["security", result.security],
    ] as const) {
      const stops = result.stops.map((stop) => stop[stream]);
      for (const record of records) {
        const key = `${stream}:${String(record.attributes["auditx.reference_no"])}`;
        lives.set(key, [...(lives.get(key) ?? []), lifeOf(record.offset, stops)]);
      }
    }
    const repeatedPerCrash = new Map<number, number>();
    for (const [key, seen] of lives) {
      if (seen.length === 1) continue;
      // Twice at most: in the life a crash ended and again in the next one.
      expect(seen, key).toHaveLength(2);
      const [before, after] = seen as [number, number];
      expect(after, key).toBe(before + 1);
      expect(result.stops[before]?.how, key).toBe("SIGKILL");
      repeatedPerCrash.set(before, (repeatedPerCrash.get(before) ?? 0) + 1);
    }
    console.info(
      `filelog: ${TOTAL} lines, ${result.audit.length} audit records exported; repeated after each crash: ${JSON.stringify(Object.fromEntries(repeatedPerCrash))}`,
    );
  });
});
