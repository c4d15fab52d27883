// What watching the log folder (so that a deleted, moved or truncated trail file is noticed at
// once) costs a log call, measured as CPU time per call in fresh processes, with the watch on (the
// default) and off (`watch: false`: the writers' own checks and the check every second only),
// interleaved, medians of several runs:
//   - saturated: one call per event-loop turn, back to back: fast writing pauses the watch (the
//     writers' own checks every 64 KiB notice a vanished file as quickly), so it should cost nothing;
//   - paced: 200 calls a second, a quiet service: the watch is on and handles each write's event.
//
//   npm run bench:watch                 (saturated 50k calls, paced 1000 calls, 5 runs)
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
const runs = option("runs", 5);
const scenarios = [
  ["saturated", option("calls", 50_000)],
  ["paced", option("paced-calls", 1000)],
];
const worker = fileURLToPath(new URL("./support/watch-worker.mjs", import.meta.url));
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];

console.log(`\nCPU time per log call, median of ${runs} runs, Node ${process.version}\n`);
console.log("scenario".padEnd(44), "watch: false".padStart(13), "watch: true".padStart(12), "  difference");
for (const [pace, calls] of scenarios) {
  const results = { watch: [], nowatch: [] };
  for (let run = 0; run < runs; run++) {
    for (const variant of ["nowatch", "watch"]) {
      const dir = mkdtempSync(join(tmpdir(), "auditx-bench-watch-"));
      try {
        results[variant].push(
          JSON.parse(execFileSync(process.execPath, [worker, variant, pace, String(calls), dir], { encoding: "utf8" })),
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  const off = median(results.nowatch.map((r) => r.cpuUsPerCall));
  const on = median(results.watch.map((r) => r.cpuUsPerCall));
  const label =
    pace === "saturated"
      ? `saturated (${calls.toLocaleString("en-US")} calls, one per turn)`
      : `paced (${calls.toLocaleString("en-US")} calls at 200/s)`;
  console.log(
    label.padEnd(44),
    `${off.toFixed(2)} us`.padStart(13),
    `${on.toFixed(2)} us`.padStart(12),
    `  ${on - off >= 0 ? "+" : ""}${(on - off).toFixed(2)} us (${(((on - off) / off) * 100).toFixed(1)}%)`,
  );
}
