// Instructions per record, counted by valgrind's callgrind: the same workload
// as throughput.bench.mjs, but a count that stays the same however busy the
// machine is (time on a shared 2-core machine varies by ±30%). Each variant
// runs twice, with N records and with 1, so start-up cost cancels out. Kernel
// time (the write(2) itself) is not counted: compare with throughput.bench.mjs
// for wall-clock figures.
//
//   npm run bench:instructions                 (20k records)
//   node bench/instructions.bench.mjs --records 50000 --previous ../auditx-old/dist
//   node bench/instructions.bench.mjs --variants auditx,pino
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const value = (name) => {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? undefined : args[at + 1];
};
const records = Number(value("records") ?? 20_000);
const previous = value("previous") === undefined ? undefined : resolve(value("previous"));
const worker = fileURLToPath(new URL("./support/throughput-worker.mjs", import.meta.url));
const all = [
  "raw",
  "pino",
  "pino-redact",
  "auditx",
  "auditx-noredact",
  "auditx-otel",
  "auditx-buffered",
  "auditx-integrity",
  "auditx-checkpoints",
  ...(previous ? ["auditx-previous", "auditx-previous-integrity"] : []),
];
const variants = value("variants")?.split(",") ?? all;

try {
  execFileSync("valgrind", ["--version"], { stdio: "ignore" });
} catch {
  console.error("valgrind is not installed (apt-get install -y valgrind)");
  process.exit(1);
}

function instructions(variant, count) {
  const dir = mkdtempSync(join(tmpdir(), "auditx-bench-"));
  const out = join(dir, "callgrind.out");
  try {
    execFileSync(
      "valgrind",
      ["--tool=callgrind", `--callgrind-out-file=${out}`, process.execPath, "--expose-gc", worker, variant, String(count), dir],
      { stdio: ["ignore", "ignore", "ignore"], env: { ...process.env, AUDITX_PREVIOUS_DIST: previous ?? "" } },
    );
    const summary = /^summary:\s+(\d+)/m.exec(readFileSync(out, "utf8"));
    if (!summary) throw new Error(`no callgrind summary for ${variant}`);
    return Number(summary[1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const perRecord = new Map();
for (const variant of variants) {
  perRecord.set(variant, (instructions(variant, records) - instructions(variant, 1)) / (records - 1));
}

console.log(`\ninstructions per record (callgrind, ${records.toLocaleString("en-US")} records), Node ${process.version}\n`);
console.log("variant".padEnd(26), "instr/record".padStart(13), " pino / it", "  raw / it");
for (const variant of variants) {
  const count = perRecord.get(variant);
  const ratio = (base) => (perRecord.has(base) ? `${(perRecord.get(base) / count).toFixed(2)}x` : "-");
  console.log(
    variant.padEnd(26),
    Math.round(count).toLocaleString("en-US").padStart(13),
    ratio("pino").padStart(10),
    ratio("raw").padStart(10),
  );
}
console.log("\nA ratio above 1 means the variant does less work per record than the baseline.");
if (perRecord.has("auditx") && perRecord.has("auditx-noredact")) {
  const ratio = perRecord.get("auditx-noredact") / perRecord.get("auditx");
  console.log(`redaction: auditx with the default rules runs at ${ratio.toFixed(2)}x of auditx without redaction (instructions)`);
}
