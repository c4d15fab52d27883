// One writer of the rotation-contention benchmark: node rotation-worker.mjs <logDir> <records> <maxFileBytes>
// Writes the ERP record with small segments (a rotation every few hundred calls, four processes
// contending for the rotation lock) and prints the latency of every call it made, summarised.
import { performance } from "node:perf_hooks";
import { createLogger } from "../../dist/index.js";

const [logDir, recordsText, maxFileBytesText] = process.argv.slice(2);
const records = Number(recordsText);
const logger = createLogger({ logDir, maxFileBytes: Number(maxFileBytesText), console: false, minFreeBytes: 0, compress: false });
const options = {
  module: "sales",
  action: "POST",
  referenceNo: "SI-2026-0042",
  amount: 1_250_000,
  entityType: "sales_invoice",
  entityId: "inv-42",
  party: "Golden Trading Co.",
  user: "admin",
  metadata: { warehouse: "WH-MAIN", lines: 12, payment_terms: "NET30", tax_code: "CT-5", salesperson: "Ko Aung" },
};
const latencies = new Float64Array(records);
for (let i = 0; i < records; i++) {
  const start = performance.now();
  logger.logTransaction("Sales invoice posted", options);
  latencies[i] = performance.now() - start;
  // A server's pace: the event loop turns now and then (watchers and timers run).
  if (i % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
}
const rotations = logger.stats().rotations;
await logger.shutdown();
latencies.sort();
const at = (q) => latencies[Math.min(records - 1, Math.floor(q * records))];
process.stdout.write(
  JSON.stringify({
    worstMs: latencies[records - 1],
    p999Ms: at(0.999),
    p99Ms: at(0.99),
    over10Ms: latencies.filter((ms) => ms > 10).length,
    rotations,
  }),
);
