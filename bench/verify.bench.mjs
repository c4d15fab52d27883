// How fast `auditx verify` checks a sealed trail: writes N sealed ERP records (1M by default, about
// 700 MB in 64 MiB segments), optionally gzips the segments, then verifies them in a fresh process,
// several runs, and prints the median rate beside a baseline measured in the same run (read the same
// files, split them into lines, hash each line once). Hashing is SHA-256 (or HMAC-SHA-256 with --key).
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
    const logger = createLogger({ logDir: ${JSON.stringify(dir)}, console: false, buffered: true, maxFileBytes: 64 * 1024 * 1024, minFreeBytes: 0,
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
  // Baseline, in a fresh process each run: the least any verifier of these files must do — read every
  // segment (inflating .gz), split it into lines and hash each line once (SHA-256, or HMAC with --key).
  const baselineScript = `
    const { createHash, createHmac } = await import("node:crypto");
    const { readFileSync } = await import("node:fs");
    const { gunzipSync } = await import("node:zlib");
    const { listTrailSegments } = await import(${JSON.stringify(new URL("../dist/trail/segments.js", import.meta.url).href)});
    const key = ${JSON.stringify(key ?? null)};
    const started = performance.now();
    let lines = 0;
    for (const segment of listTrailSegments(${JSON.stringify(dir)}, "audit.jsonl")) {
      const data = segment.compressed ? gunzipSync(readFileSync(segment.path)) : readFileSync(segment.path);
      for (let from = 0, at = data.indexOf(10); at !== -1; from = at + 1, at = data.indexOf(10, from)) {
        (key ? createHmac("sha256", key) : createHash("sha256")).update(data.subarray(from, at)).digest();
        lines++;
      }
    }
    process.stdout.write(JSON.stringify({ lines, linesPerSecond: Math.round(lines / ((performance.now() - started) / 1000)) }));
  `;
  const rates = [];
  const baselineRates = [];
  for (let run = 0; run < runs; run++) {
    const baseline = JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", baselineScript], { encoding: "utf8" }));
    // The logger's own entries (its start and stop) are lines of the trail too.
    if (baseline.lines < records) throw new Error(`baseline read ${baseline.lines} lines`);
    baselineRates.push(baseline.linesPerSecond);
    const out = execFileSync(process.execPath, [cli, "verify", "--log-dir", dir, "--json", ...(key ? ["--key", key] : [])], {
      encoding: "utf8",
      maxBuffer: 1 << 28,
    });
    const report = JSON.parse(out);
    if (!report.ok || report.lines !== baseline.lines) throw new Error(`verify: ok=${report.ok}, ${report.lines} lines`);
    rates.push(report.linesPerSecond);
    console.log(
      `  run ${run + 1}: ${report.lines.toLocaleString("en-US")} lines in ${(report.elapsedMs / 1000).toFixed(2)} s (${report.linesPerSecond.toLocaleString("en-US")} lines/s, ${report.files.length} files); baseline ${baseline.linesPerSecond.toLocaleString("en-US")} lines/s`,
    );
  }
  const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
  const rate = median(rates);
  const baselineRate = median(baselineRates);
  console.log(
    `\nverify: median ${rate.toLocaleString("en-US")} lines/s; 1,000,000 lines in ${(1e6 / rate).toFixed(1)} s (${key ? "HMAC-SHA-256" : "SHA-256"}, Node ${process.version})`,
  );
  console.log(
    `baseline (read, split, hash each line once): median ${baselineRate.toLocaleString("en-US")} lines/s; verify runs at ${(rate / baselineRate).toFixed(2)}x of it`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
