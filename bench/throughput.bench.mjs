// Throughput and memory of one audit call, beside pino's sync destination and
// a raw JSON.stringify + fs.writeSync loop on the same ERP record, each in a
// fresh child process; prints medians of several runs and the ratios.
//
//   npm run bench                      (200k records x 5 runs)
//   node bench/throughput.bench.mjs --records 1000000 --runs 3
//   node bench/throughput.bench.mjs --previous ../auditx-old/dist   (adds that build's logTransaction, the previous design)
//   node bench/throughput.bench.mjs --variants pino,auditx,auditx-integrity   (only these, pino always; no contention run)
//
// Then the worst single-call latency of four processes writing one folder with small segments,
// so that they contend for the rotation lock all the time (--contention-records N per process).
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(args[at + 1]);
};
const records = option("records", 200_000);
const previousAt = args.indexOf("--previous");
const previous = previousAt === -1 ? undefined : resolve(args[previousAt + 1]);
const runs = option("runs", 5);
const contentionRecords = option("contention-records", 20_000);
const worker = fileURLToPath(new URL("./support/throughput-worker.mjs", import.meta.url));
const rotationWorker = fileURLToPath(new URL("./support/rotation-worker.mjs", import.meta.url));

const variants = [
  ["raw", "JSON.stringify + fs.writeSync per record"],
  ["pino", "pino, sync destination"],
  ["pino-redact", "pino with its redact option (the record's secret paths)"],
  ["auditx", "auditx logTransaction (default: durable, one write(2) per call, default redaction rules)"],
  ["auditx-noredact", "auditx { redact: false } (no redaction)"],
  ["auditx-otel", "auditx with full OTel attributes (as with OTLP on)"],
  ["auditx-buffered", "auditx { buffered: true } (one write per tick)"],
  ["auditx-integrity", "auditx { integrity: true } (SHA-256 hash chain on every line)"],
  ["auditx-checkpoints", "auditx { integrity: { signingKey } } (hash chain + signed Ed25519 checkpoints)"],
];
if (previous) {
  variants.push(["auditx-previous", `auditx logTransaction, the build in ${previous}`]);
  variants.push(["auditx-previous-integrity", `auditx { integrity: true }, the build in ${previous}`]);
}
const variantsAt = args.indexOf("--variants");
const chosen = variantsAt === -1 ? undefined : new Set(["pino", ...args[variantsAt + 1].split(",")]);
if (chosen) {
  const unknown = [...chosen].filter((name) => !variants.some(([known]) => known === name));
  if (unknown.length > 0) {
    console.error(`unknown variant(s): ${unknown.join(", ")}`);
    process.exit(1);
  }
  variants.splice(0, variants.length, ...variants.filter(([name]) => chosen.has(name)));
}

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
        cpuUs: median(list.map((r) => r.cpuUsPerRecord)),
        peakRssMb: median(list.map((r) => r.peakRssMb)),
        heapGrowthMb: median(list.map((r) => r.heapGrowthMb)),
        bytesPerRecord: list[0].bytesPerRecord,
      },
    ];
  }),
);

console.log(`\n${records.toLocaleString("en-US")} records per run, median of ${runs} runs, Node ${process.version}\n`);
console.log(
  "variant".padEnd(26),
  "records/s".padStart(10),
  "peak RSS".padStart(10),
  "heap growth*".padStart(12),
  "bytes/line".padStart(11),
  "  vs pino",
  " vs raw",
  " CPU us/rec",
  " CPU vs pino",
);
for (const [name, label] of variants) {
  const r = summary[name];
  console.log(
    name.padEnd(26),
    Math.round(r.perSecond).toLocaleString("en-US").padStart(10),
    `${r.peakRssMb.toFixed(0)} MB`.padStart(10),
    `${r.heapGrowthMb.toFixed(1)} MB`.padStart(12),
    String(r.bytesPerRecord).padStart(11),
    `${(r.perSecond / summary.pino.perSecond).toFixed(2)}x`.padStart(9),
    (summary.raw ? `${(r.perSecond / summary.raw.perSecond).toFixed(2)}x` : "-").padStart(7),
    r.cpuUs.toFixed(2).padStart(11),
    `${(summary.pino.cpuUs / r.cpuUs).toFixed(2)}x`.padStart(12),
    ` ${label}`,
  );
}
console.log("\n* live heap (after a full GC) at the end minus half-way through: about zero means no memory held per record.");
if (summary.auditx && summary["auditx-noredact"]) {
  const redactionCost = summary.auditx.perSecond / summary["auditx-noredact"].perSecond;
  console.log(`redaction: auditx with the default rules runs at ${redactionCost.toFixed(2)}x of auditx without redaction`);
}
console.log(
  "  CPU us/rec: user + system CPU time per record, and pino's divided by it: steadier than records/s when other work shares the machine.",
);

if (chosen) process.exit(0);

// Rotation under contention: 4 processes, one folder, a rotation every ~400 calls of each; the
// baseline is the same 4 processes writing the same folder without rotating (maxFileBytes 0),
// interleaved with it, so that the ratio shows what contending for the rotation lock adds.
const contentionRun = async (maxFileBytes) => {
  const dir = mkdtempSync(join(tmpdir(), "auditx-bench-contention-"));
  try {
    const outputs = await Promise.all(
      Array.from({ length: 4 }, () =>
        promisify(execFile)(process.execPath, [rotationWorker, dir, String(contentionRecords), String(maxFileBytes)], { encoding: "utf8" }),
      ),
    );
    return outputs.map(({ stdout }) => JSON.parse(stdout));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
const contention = { rotating: [], baseline: [] };
for (let run = 0; run < Math.max(3, Math.min(runs, 5)); run++) {
  contention.baseline.push(await contentionRun(0));
  contention.rotating.push(await contentionRun(256 * 1024));
}
const summarize = (runResults) => {
  const all = runResults.flat();
  return {
    worst: Math.max(...all.map((r) => r.worstMs)),
    medianWorst: median(runResults.map((processes) => Math.max(...processes.map((r) => r.worstMs)))),
    p999: median(all.map((r) => r.p999Ms)),
    over10: median(runResults.map((processes) => processes.reduce((sum, r) => sum + r.over10Ms, 0))),
    rotations: median(runResults.map((processes) => processes.reduce((sum, r) => sum + r.rotations, 0))),
  };
};
const rotating = summarize(contention.rotating);
const baseline = summarize(contention.baseline);
console.log(
  `\nRotation contention: 4 processes x ${contentionRecords.toLocaleString("en-US")} calls into one folder, ${contention.rotating.length} runs each, interleaved`,
);
console.log(
  `${"".padEnd(34)}${"worst call".padStart(11)}${"median worst".padStart(14)}${"p99.9".padStart(10)}${"calls >10ms".padStart(13)}${"rotations".padStart(11)}`,
);
for (const [label, r] of [
  ["no rotation (baseline)", baseline],
  ["256 KiB segments (rotating)", rotating],
]) {
  console.log(
    `${label.padEnd(34)}${`${r.worst.toFixed(1)} ms`.padStart(11)}${`${r.medianWorst.toFixed(1)} ms`.padStart(14)}${`${r.p999.toFixed(3)} ms`.padStart(10)}${String(r.over10).padStart(13)}${String(r.rotations).padStart(11)}`,
  );
}
console.log(
  `  rotating vs baseline: median worst call ${(rotating.medianWorst / baseline.medianWorst).toFixed(2)}x, p99.9 ${(rotating.p999 / baseline.p999).toFixed(2)}x` +
    " (worst calls on a shared machine are mostly scheduling: compare the two rows of the same run)",
);
