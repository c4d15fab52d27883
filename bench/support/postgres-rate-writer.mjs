// Child process of postgres.bench.mjs: a service writing its audit trail at a
// steady rate (compiled auditx), for the shipping-lag measurement.
// Usage: node postgres-rate-writer.mjs <logDir> <records per second> <seconds>
import { writeSync } from "node:fs";
import { createLogger } from "../../dist/index.js";

const [logDir, rateText, secondsText] = process.argv.slice(2);
const rate = Number(rateText);
const seconds = Number(secondsText);
const logger = createLogger({ logDir, serviceName: "lag-bench", console: false, maxFileBytes: 64 * 1024 * 1024 });
const start = performance.now();
let written = 0;
while (performance.now() - start < seconds * 1000) {
  // Catch up to where the rate says we should be, a tick at a time (10 ms).
  const due = Math.floor(((performance.now() - start) / 1000) * rate);
  for (; written < due; written++) {
    logger.logTransaction(`Sales invoice SI-2026-${written} posted`, {
      referenceNo: `SI-2026-${written}`,
      amount: 1_250_000 + written,
      user: `user${written % 200}`,
      branchId: "BR-YGN",
      companyId: "CO-001",
      entityType: "sales_invoice",
      entityId: `inv-${written}`,
      party: "Golden Trading Co.",
    });
  }
  await new Promise((resolve) => setTimeout(resolve, 10));
}
await logger.shutdown();
writeSync(1, `${JSON.stringify({ written, seconds: (performance.now() - start) / 1000 })}\n`);
