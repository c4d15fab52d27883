// Records/s through the real OpenTelemetry Collector running collector-config.yaml,
// beside auditx writing the trail file only (the baseline, measured in the same run),
// and what a Collector crash and restart costs on the filelog path. Each variant runs
// in a fresh process with a fresh Collector; prints medians of several runs.
//
//   npm run bench:collector                 (50k records x 3 runs)
//   node bench/collector.bench.mjs --records 20000 --runs 5
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(args[at + 1]);
};
const records = option("records", 50_000);
const runs = option("runs", 3);
const worker = fileURLToPath(new URL("./support/collector-worker.mjs", import.meta.url));

const variants = [
  ["file", "auditx writes the trail only (baseline)"],
  ["otlp", "auditx -> OTLP/HTTP JSON -> Collector -> file exporter, until acknowledged"],
  ["otlp-gzip", "the same, gzip-compressed"],
  ["filelog", "auditx -> trail -> Collector filelog -> file exporter, until tailed"],
];

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

function run(variant, count) {
  const dir = mkdtempSync(join(tmpdir(), "auditx-bench-collector-"));
  try {
    return JSON.parse(execFileSync(process.execPath, [worker, variant, String(count), dir], { encoding: "utf8" }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = new Map(variants.map(([name]) => [name, []]));
const restarts = [];
for (let i = 0; i < runs; i++) {
  // Interleave variants so that machine noise hits them alike.
  for (const [name] of variants) results.get(name).push(run(name, records));
  restarts.push(run("restart", Math.min(records, 20_000)));
}

console.log(`\n${records.toLocaleString("en-US")} records per run, median of ${runs} runs, Node ${process.version}\n`);
console.log("variant".padEnd(10), "records/s".padStart(10), "vs file".padStart(8), " lost", " label");
const baseline = median(results.get("file").map((r) => r.perSecond));
for (const [name, label] of variants) {
  const list = results.get(name);
  const perSecond = median(list.map((r) => r.perSecond));
  const lost = Math.max(...list.map((r) => (name === "file" ? 0 : records - (r.inOutput ?? 0))));
  console.log(
    name.padEnd(10),
    Math.round(perSecond).toLocaleString("en-US").padStart(10),
    `${(perSecond / baseline).toFixed(2)}x`.padStart(8),
    String(lost).padStart(5),
    ` ${label}`,
  );
}

console.log(
  `\nCollector crash (SIGKILL) and restart on the filelog path, ${restarts[0].records.toLocaleString("en-US")} lines ` +
    `at ${restarts[0].rate.toLocaleString("en-US")}/s, down from 1/3 to 1/2 of the run (${runs} runs):`,
);
console.log(`  lines lost:              ${restarts.map((r) => r.lost).join(", ")}`);
console.log(`  lines repeated:          ${restarts.map((r) => r.repeated).join(", ")}  (the poll the crash interrupted)`);
console.log(
  `  backlog at restart:      ${restarts[0].backlog.toLocaleString("en-US")} lines, through in median ${median(restarts.map((r) => r.caughtUpAfterRestartS)).toFixed(2)} s after the start`,
);
console.log(`  lag after the last line: median ${median(restarts.map((r) => r.lagAfterWritingS)).toFixed(2)} s`);
