// Throughput and memory of one audit call, beside pino's sync destination and
// a raw JSON.stringify + fs.writeSync loop on the same ERP record, each in a
// fresh child process; prints medians of several runs and the ratios.
//
//   npm run bench                      (200k records x 5 runs)
//   node bench/throughput.bench.mjs --records 1000000 --runs 3
//   node bench/throughput.bench.mjs --previous ../auditx-old/dist   (adds that build's logTransaction, the previous design)
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(args[at + 1]);
};
const records = option("records", 200_000);
const previousAt = args.indexOf("--previous");
const previous = previousAt === -1 ? undefined : resolve(args[previousAt + 1]);
const runs = option("runs", 5);
const worker = fileURLToPath(new URL("./support/throughput-worker.mjs", import.meta.url));

const variants = [
  ["raw", "JSON.stringify + fs.writeSync per record"],
  ["pino", "pino, sync destination"],
  ["pino-redact", "pino with its redact option (the record's secret paths)"],
  ["auditx", "auditx logTransaction (default: durable, one write(2) per call, default redaction rules)"],
  ["auditx-noredact", "auditx { redact: false } (no redaction)"],
  ["auditx-otel", "auditx with full OTel attributes (as with OTLP on)"],
  ["auditx-buffered", "auditx { buffered: true } (one write per tick)"],
  ["auditx-integrity", "auditx { integrity: true } (SHA-256 hash chain on every line)"],
];
if (previous) variants.push(["auditx-previous", `auditx logTransaction, the build in ${previous}`]);

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const results = new Map(variants.map(([name]) => [name, []]));
for (let run = 0; run < runs; run++) {
  // Interleave variants so that machine noise hits them alike.
  for (const [name] of variants) {
    const dir = mkdtempSync(join(tmpdir(), "auditx-bench-"));
    try {
      const out = execFileSync(process.execPath, ["--expose-gc", worker, name, String(records), dir], {
        encoding: "utf8",
        env: { ...process.env, AUDITX_PREVIOUS_DIST: previous ?? "" },
      });
      results.get(name).push(JSON.parse(out));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

const summary = Object.fromEntries(
  variants.map(([name]) => {
    const list = results.get(name);
    return [
      name,
      {
        perSecond: median(list.map((r) => r.perSecond)),
        peakRssMb: median(list.map((r) => r.peakRssMb)),
        rssGrowthMb: median(list.map((r) => r.rssGrowthMb)),
        bytesPerRecord: list[0].bytesPerRecord,
      },
    ];
  }),
);

console.log(`\n${records.toLocaleString("en-US")} records per run, median of ${runs} runs, Node ${process.version}\n`);
console.log(
  "variant".padEnd(18),
  "records/s".padStart(10),
  "peak RSS".padStart(10),
  "RSS growth*".padStart(12),
  "bytes/line".padStart(11),
  "  vs pino",
  " vs raw",
);
for (const [name, label] of variants) {
  const r = summary[name];
  console.log(
    name.padEnd(18),
    Math.round(r.perSecond).toLocaleString("en-US").padStart(10),
    `${r.peakRssMb.toFixed(0)} MB`.padStart(10),
    `${r.rssGrowthMb.toFixed(1)} MB`.padStart(12),
    String(r.bytesPerRecord).padStart(11),
    `${(r.perSecond / summary.pino.perSecond).toFixed(2)}x`.padStart(9),
    `${(r.perSecond / summary.raw.perSecond).toFixed(2)}x`.padStart(7),
    ` ${label}`,
  );
}
console.log("\n* RSS at the end minus RSS half-way through: about zero means no per-record growth.");
const redactionCost = summary.auditx.perSecond / summary["auditx-noredact"].perSecond;
console.log(`redaction: auditx with the default rules runs at ${redactionCost.toFixed(2)}x of auditx without redaction`);
