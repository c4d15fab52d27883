/**
 * The Collector goes down (SIGKILL) while auditx exports over OTLP, and comes
 * back. The trail has every record; logger.stats() accounts for every
 * record (exported + failed + dropped + pending = written); and what the
 * Collector acknowledged before the crash is in its output, because
 * collector-config.yaml acknowledges a request only once the exporters have
 * written it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuditLogger, BusinessModule, createLogger } from "../../src/index.js";
import { CollectorProcess, readExport } from "../support/collector.js";
import { readJsonl, tempDir } from "../support/core-trail.js";
import { eventually } from "../support/eventually.js";

const BEFORE = 300;
/** Written in one burst while the Collector is down: more than the queue holds. */
const DURING = 500;
const AFTER = 300;
const MAX_QUEUE = 200;

let dir: string;
let cleanup: () => void;
let collector: CollectorProcess;
let logger: AuditLogger;
const out = () => join(dir, "export", "audit-otlp.jsonl");

function marker(n: number): string {
  return `OUT-${String(n).padStart(5, "0")}`;
}

function write(from: number, count: number): void {
  for (let n = from; n < from + count; n++) {
    logger.logTransaction(`Receipt ${n}`, { module: BusinessModule.ACCOUNTING, referenceNo: marker(n), amount: n });
  }
}

/** Writes in slices, yielding between them, as a service handling requests does. */
async function writePaced(from: number, count: number): Promise<void> {
  for (let n = from; n < from + count; n += 25) {
    write(n, Math.min(25, from + count - n));
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function exportedMarkers(): string[] {
  return readExport(out()).map((record) => String(record.attributes["auditx.reference_no"]));
}

function otlpStats() {
  const stats = logger.stats().otlp;
  if (!stats) throw new Error("the OTLP path is off");
  return stats;
}

const snapshots: Record<string, ReturnType<typeof otlpStats>> = {};

beforeAll(async () => {
  ({ dir, cleanup } = tempDir("auditx-collector-outage-"));
  collector = new CollectorProcess({
    logDir: join(dir, "nothing-to-tail"),
    storageDir: join(dir, "storage"),
    exportDir: join(dir, "export"),
  });
  await collector.start();
  // Every record is one of the numbered receipts (no START or STOP of the logger): the counts below are exact.
  logger = createLogger({
    logDir: join(dir, "trail"),
    auditLifecycle: false,
    otlp: { url: collector.logsUrl, scheduledDelayMillis: 20, maxQueueSize: MAX_QUEUE, maxExportBatchSize: 100, timeoutMillis: 1500 },
  });

  await writePaced(0, BEFORE);
  await logger.flush();
  snapshots.before = otlpStats();

  // A crash: no chance to flush anything it held.
  await collector.kill("SIGKILL");
  write(BEFORE, DURING);
  snapshots.burst = otlpStats();
  await logger.flush();
  await eventually(() => otlpStats().pending === 0, 30_000, "the records sent during the outage to settle", 50);
  snapshots.down = otlpStats();

  await collector.start();
  await writePaced(BEFORE + DURING, AFTER);
  await logger.flush();
  await logger.shutdown();
  snapshots.end = otlpStats();
}, 120_000);

afterAll(async () => {
  await collector?.kill("SIGTERM");
  cleanup?.();
});

describe("Collector down while auditx exports over OTLP", () => {
  it("keeps the trail whole: every record, in order, whatever the Collector did", () => {
    const lines = readJsonl(join(dir, "trail", "audit.jsonl"));
    expect(lines.map((line) => line.reference_no)).toEqual(Array.from({ length: BEFORE + DURING + AFTER }, (_, n) => marker(n)));
    expect(logger.stats().written.audit).toBe(BEFORE + DURING + AFTER);
  });

  it("accounts for every record in stats(): exported + failed + dropped + pending = written, at every stage", () => {
    const total = (stats: ReturnType<typeof otlpStats>) => stats.exported + stats.failed + stats.dropped + stats.pending;
    expect(snapshots.before).toMatchObject({ exported: BEFORE, failed: 0, dropped: 0, pending: 0 });
    expect(total(snapshots.burst as ReturnType<typeof otlpStats>)).toBe(BEFORE + DURING);
    // The burst filled the bounded queue; the rest was dropped from the export (not from the trail).
    expect(snapshots.burst).toMatchObject({ exported: BEFORE, dropped: DURING - MAX_QUEUE, pending: MAX_QUEUE });
    expect(snapshots.down).toMatchObject({ exported: BEFORE, failed: MAX_QUEUE, dropped: DURING - MAX_QUEUE, pending: 0 });
    expect(snapshots.down?.lastError).toMatch(/ECONNREFUSED|connect/i);
    expect(snapshots.end).toMatchObject({ exported: BEFORE + AFTER, failed: MAX_QUEUE, dropped: DURING - MAX_QUEUE, pending: 0 });
    expect(total(snapshots.end as ReturnType<typeof otlpStats>)).toBe(logger.stats().written.audit);
  });

  it("has in the Collector's output exactly the records it acknowledged, the ones before the crash included", () => {
    const markers = exportedMarkers();
    expect(new Set(markers).size).toBe(markers.length);
    const expected = [
      ...Array.from({ length: BEFORE }, (_, n) => marker(n)),
      ...Array.from({ length: AFTER }, (_, n) => marker(BEFORE + DURING + n)),
    ];
    expect(markers.sort()).toEqual(expected);
    expect(markers).toHaveLength(snapshots.end?.exported ?? -1);
  });

  it("says in app.log what the export lost and that the trail has it", () => {
    const report = readFileSync(join(dir, "trail", "app.log"), "utf8");
    expect(report).toMatch(/not exported/);
    expect(report).toMatch(/dropped \(queue full at 200\)/);
    expect(report).toContain("The trail files have every record.");
  });
});
