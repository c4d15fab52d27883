// One run of the Collector benchmark in a fresh process, with a fresh Collector:
//   node collector-worker.mjs <variant> <records> <dir>
// Prints one JSON line of figures.
//
//   file      auditx writes the trail only (the baseline)
//   otlp      auditx exports over OTLP/HTTP; done when the Collector has acknowledged
//             every record, which with collector-config.yaml means written by its exporters
//   otlp-gzip the same, gzip-compressed
//   filelog   auditx writes the trail; done when the Collector has tailed every line
//             into its output
//   restart   the filelog path at 2,000 lines/s while the Collector is killed (SIGKILL) a
//             third of the way through and started again half-way: lines lost, repeated,
//             catch-up time
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Collector, ExportReader } from "./collector-process.mjs";

const [variant, recordsText, dir] = process.argv.slice(2);
const records = Number(recordsText);
const CHUNK = 500;
const WARMUP = 2000;

const { createLogger } = await import("../../dist/index.js");

// A realistic sales-invoice record (~600 bytes as a trail line), as in the throughput benchmark.
const options = {
  module: "sales",
  action: "POST",
  amount: 1_250_000,
  entityType: "sales_invoice",
  entityId: "inv-42",
  party: "Golden Trading Co.",
  user: "admin",
  userRole: "manager",
  companyId: "CO-001",
  branchId: "BR-YGN",
  ip: "192.168.1.10",
  requestId: "8f14e45f-ceea-467a-9e0b-7a3c2b6d1e90",
  sessionId: "sess-5a1c9e7d",
  method: "POST",
  endpoint: "/api/sales/invoices/inv-42/post",
  status: 200,
  metadata: { warehouse: "WH-MAIN", lines: 12, payment_terms: "NET30", tax_code: "CT-5", salesperson: "Ko Aung" },
};

const folders = {
  logDir: join(dir, "trail"),
  storageDir: join(dir, "storage"),
  exportDir: join(dir, "export"),
  workDir: dir,
};
const usesCollector = variant !== "file";
const tails = variant === "filelog" || variant === "restart";
mkdirSync(folders.logDir, { recursive: true });
// On the OTLP path the Collector tails an empty folder.
const collector = usesCollector ? new Collector({ ...folders, logDir: tails ? folders.logDir : join(dir, "empty") }) : undefined;
if (collector) {
  mkdirSync(join(dir, "empty"), { recursive: true });
  await collector.start();
}
const otlp = variant.startsWith("otlp")
  ? { url: collector.logsUrl, compression: variant === "otlp-gzip" ? "gzip" : "none", maxQueueSize: 8192, maxExportBatchSize: 512 }
  : false;
const logger = createLogger({ logDir: folders.logDir, console: false, maxFileBytes: 16 * 1024 * 1024, backupCount: 1000, otlp });
const output = new ExportReader(join(folders.exportDir, "audit-otlp.jsonl"));
const tick = () => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let written = 0;
/** Writes `count` records in chunks, yielding between them as a service between requests. */
async function write(count, perSecond = Number.POSITIVE_INFINITY) {
  const started = performance.now();
  const end = written + count;
  while (written < end) {
    const n = Math.min(CHUNK, end - written);
    for (let i = 0; i < n; i++) logger.logTransaction("Sales invoice posted", { ...options, referenceNo: `SI-${written++}` });
    if (otlp) {
      // Never more in flight than the queue holds: the figure is the sustained rate, with nothing dropped.
      while (logger.stats().otlp.pending > 8192 - 2 * CHUNK) await sleep(1);
    }
    if (Number.isFinite(perSecond)) {
      const due = started + ((written - (end - count)) / perSecond) * 1000;
      if (due > performance.now()) await sleep(due - performance.now());
    }
    await tick();
  }
}

async function until(condition, timeoutMs = 300_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out (${variant}: written ${written}, output ${output.read().count})`);
    await sleep(20);
  }
}

const result = { variant, records };
if (variant === "restart") {
  // A steady rate the Collector keeps up with; it crashes at a third of the run and is back at half.
  const rate = 2000;
  await write(Math.floor(records / 3), rate);
  await collector.kill("SIGKILL");
  await write(Math.floor(records / 2) - written, rate);
  await collector.start();
  // The lines written while it was down (and before): how long until they are all through.
  const restarted = performance.now();
  const backlog = written;
  const caughtUp = until(() => output.read().references.size >= backlog).then(() => (performance.now() - restarted) / 1000);
  await write(records - written, rate);
  const writingDone = performance.now();
  result.rate = rate;
  result.backlog = backlog;
  result.caughtUpAfterRestartS = await caughtUp;
  await until(() => output.read().references.size >= records, 120_000).catch(() => {});
  result.lagAfterWritingS = (performance.now() - writingDone) / 1000;
  // Repeats after the crash arrive with the rest; give them a moment, then count.
  await sleep(1000);
  result.lost = records - output.read().references.size;
  result.repeated = output.count - output.references.size;
} else {
  // Warm-up (JIT, connections, the Collector's first batches), not timed.
  await write(WARMUP);
  if (otlp) {
    await logger.flush();
    await until(() => logger.stats().otlp.exported >= WARMUP);
  }
  if (tails) await until(() => output.read().count >= WARMUP);
  const timed = performance.now();
  await write(records);
  const wrote = performance.now();
  if (otlp) {
    await logger.flush();
    await until(() => logger.stats().otlp.exported + logger.stats().otlp.failed + logger.stats().otlp.dropped >= WARMUP + records);
  }
  if (tails) await until(() => output.read().count >= WARMUP + records);
  const seconds = (performance.now() - timed) / 1000;
  result.perSecond = records / seconds;
  result.writeSeconds = (wrote - timed) / 1000;
  if (otlp) {
    const stats = logger.stats().otlp;
    result.failed = stats.failed;
    result.dropped = stats.dropped;
    // The Collector acknowledged only what its exporters wrote: check the output has it all.
    await until(() => output.read().count >= stats.exported, 10_000);
    result.inOutput = output.read().count - WARMUP;
  }
  if (tails) result.inOutput = output.read().count - WARMUP;
}
await logger.shutdown();
await collector?.kill("SIGTERM");
process.stdout.write(`${JSON.stringify(result)}\n`);
