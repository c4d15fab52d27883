// What watching the log folder (so that a deleted, moved or truncated trail file is noticed at
// once) costs a log call: a call per event-loop turn, as in a server, with the watcher on (the
// default) and off (`watch: false`: the check every second only), interleaved fresh processes,
// medians of several runs. In a tight synchronous loop the watcher costs nothing (its events
// wait for the loop to turn); this is the case where each write's event is handled.
//
//   npm run bench:watch                 (50k calls x 7 runs)
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
const calls = option("calls", 50_000);
const runs = option("runs", 7);
const worker = fileURLToPath(new URL("./support/watch-worker.mjs", import.meta.url));
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];

const results = { watch: [], nowatch: [] };
for (let run = 0; run < runs; run++) {
  for (const variant of ["nowatch", "watch"]) {
    const dir = mkdtempSync(join(tmpdir(), "auditx-bench-watch-"));
    try {
      results[variant].push(JSON.parse(execFileSync(process.execPath, [worker, variant, String(calls), dir], { encoding: "utf8" })));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
const row = (variant) => ({
  wall: median(results[variant].map((r) => r.usPerCall)),
  cpu: median(results[variant].map((r) => r.cpuUsPerCall)),
});
const off = row("nowatch");
const on = row("watch");
console.log(`\n${calls.toLocaleString("en-US")} calls, one per event-loop turn, median of ${runs} runs, Node ${process.version}\n`);
console.log("variant".padEnd(34), "wall us/call".padStart(13), "CPU us/call".padStart(12));
console.log("watch: false (check every second)".padEnd(34), off.wall.toFixed(2).padStart(13), off.cpu.toFixed(2).padStart(12));
console.log("watch: true (default)".padEnd(34), on.wall.toFixed(2).padStart(13), on.cpu.toFixed(2).padStart(12));
console.log(
  `\nthe watcher costs ${(on.cpu - off.cpu).toFixed(2)} us of CPU per call (${(((on.cpu - off.cpu) / off.cpu) * 100).toFixed(1)}%), ${(on.wall - off.wall).toFixed(2)} us of wall time`,
);
