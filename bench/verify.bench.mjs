// How fast `auditx verify` checks a sealed trail: writes N sealed ERP records (1M by default, about
// 700 MB in 64 MiB segments), optionally gzips the segments, then verifies them in a fresh process,
// several runs, and prints the median rate. Hashing is SHA-256 (or HMAC-SHA-256 with --key).
//
//   npm run bench:verify                       (1,000,000 lines, 3 runs)
//   node bench/verify.bench.mjs --records 200000 --compressed --key s3cret
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const value = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? fallback : args[at + 1];
};
const records = Number(value("records", 1_000_000));
const runs = Number(value("runs", 3));
const key = value("key", undefined);
const compressed = args.includes("--compressed");
const cli = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const dist = new URL("../dist/index.js", import.meta.url).href;

const dir = mkdtempSync(join(tmpdir(), "auditx-bench-verify-"));
try {
  const writer = `
    const { createLogger } = await import(${JSON.stringify(dist)});
    const logger = createLogger({ logDir: ${JSON.stringify(dir)}, buffered: true, maxFileBytes: 64 * 1024 * 1024, minFreeBytes: 0,
      compress: ${compressed ? "{ afterMs: 0 }" : "false"}, integrity: ${key ? `{ key: ${JSON.stringify(key)} }` : "true"} });
    const options = { module: "sales", action: "POST", referenceNo: "SI-2026-0042", amount: 1250000, entityType: "sales_invoice",
      entityId: "inv-42", party: "Golden Trading Co.", user: "admin", userRole: "manager", companyId: "CO-001", branchId: "BR-YGN",
      ip: "192.168.1.10", requestId: "8f14e45f-ceea-467a-9e0b-7a3c2b6d1e90", sessionId: "sess-5a1c9e7d", method: "POST",
      endpoint: "/api/sales/invoices/inv-42/post", status: 200,
      metadata: { warehouse: "WH-MAIN", lines: 12, payment_terms: "NET30", tax_code: "CT-5", salesperson: "Ko Aung" } };
    for (let i = 0; i < ${records}; i++) {
      logger.logTransaction("Sales invoice posted", options);
      if (i % 10000 === 9999) await new Promise((resolve) => setImmediate(resolve));
    }
    await logger.flush();
    ${compressed ? "const { listTrailSegments } = await import(" + JSON.stringify(new URL("../dist/trail/segments.js", import.meta.url).href) + ");\n    while (listTrailSegments(" + JSON.stringify(dir) + ', "audit.jsonl").some((s) => !s.live && !s.compressed)) await new Promise((r) => setTimeout(r, 200));' : ""}
    await logger.shutdown();
  `;
  const started = Date.now();
  execFileSync(process.execPath, ["--input-type=module", "-e", writer], { stdio: "inherit" });
  console.log(
    `wrote ${records.toLocaleString("en-US")} sealed lines${compressed ? " (segments gzipped)" : ""} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  const rates = [];
  for (let run = 0; run < runs; run++) {
    const out = execFileSync(process.execPath, [cli, "verify", "--log-dir", dir, "--json", ...(key ? ["--key", key] : [])], {
      encoding: "utf8",
      maxBuffer: 1 << 28,
    });
    const report = JSON.parse(out);
    if (!report.ok || report.lines !== records) throw new Error(`verify: ok=${report.ok}, ${report.lines} lines`);
    rates.push(report.linesPerSecond);
    console.log(
      `  run ${run + 1}: ${report.lines.toLocaleString("en-US")} lines in ${(report.elapsedMs / 1000).toFixed(2)} s (${report.linesPerSecond.toLocaleString("en-US")} lines/s, ${report.files.length} files)`,
    );
  }
  rates.sort((a, b) => a - b);
  const median = rates[rates.length >> 1];
  console.log(
    `\nverify: median ${median.toLocaleString("en-US")} lines/s; 1,000,000 lines in ${(1e6 / median).toFixed(1)} s (${key ? "HMAC-SHA-256" : "SHA-256"}, Node ${process.version})`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
