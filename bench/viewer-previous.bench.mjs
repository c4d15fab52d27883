// The viewer's cold index build against a previous design's, on the same trail in the same run:
// each design starts in a fresh process, alternated, and is timed from start to a complete index
// (wall and CPU, worker threads included) and to its first answer. The trail uses numbered
// segment names (audit.jsonl.1 …), which every design reads.
//
//   git worktree add /tmp/prev <commit> && (cd /tmp/prev && npm ci && npx tsc -p .)
//   npm run build && node bench/viewer-previous.bench.mjs --previous /tmp/prev/dist [--entries 1000000] [--runs 3]
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { writeBenchTrail } from "./support/viewer-trail.mjs";

const { values } = parseArgs({
  options: {
    previous: { type: "string" },
    entries: { type: "string", default: "1000000" },
    runs: { type: "string", default: "3" },
  },
});
if (!values.previous) {
  console.error("usage: node bench/viewer-previous.bench.mjs --previous DIST [--entries N] [--runs N]");
  process.exit(2);
}
const designs = [
  ["previous", resolve(values.previous)],
  ["current", fileURLToPath(new URL("../dist", import.meta.url))],
];
const entries = Number(values.entries);
const runs = Math.max(1, Number(values.runs));
const worker = fileURLToPath(new URL("./support/viewer-ready.mjs", import.meta.url));
const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];

const dir = mkdtempSync(join(tmpdir(), "auditx-viewer-previous-"));
try {
  const trail = join(dir, "trail");
  mkdirSync(trail);
  writeBenchTrail(trail, entries, { numbered: true });
  const results = new Map(designs.map(([name]) => [name, []]));
  const loads = [];
  for (let run = 0; run < runs; run++) {
    for (const [name, dist] of designs) {
      const indexDir = join(dir, `index-${name}-${run}`);
      const out = execFileSync(process.execPath, [worker, dist, trail, indexDir], { encoding: "utf8", maxBuffer: 1 << 20 });
      const result = JSON.parse(out);
      if (result.entries !== entries) throw new Error(`${name} counted ${result.entries} entries, not ${entries}`);
      results.get(name).push(result);
      loads.push(loadavg()[0]);
      console.log(
        `  run ${run + 1} ${name}: complete index ${(result.readyMs / 1000).toFixed(2)} s, CPU ${(result.cpuMs / 1000).toFixed(2)} s, first answer ${result.firstAnswerMs.toFixed(0)} ms`,
      );
    }
  }
  const summary = Object.fromEntries(
    [...results].map(([name, list]) => [
      name,
      {
        readyMs: median(list.map((r) => r.readyMs)),
        cpuMs: median(list.map((r) => r.cpuMs)),
        firstMs: median(list.map((r) => r.firstAnswerMs)),
      },
    ]),
  );
  const { previous, current } = summary;
  console.log(
    `\n${entries.toLocaleString("en")} entries, medians of ${runs} alternated cold starts (load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}):`,
  );
  console.log("| design | complete index | CPU | first answer |\n|---|---:|---:|---:|");
  for (const [name, r] of Object.entries(summary)) {
    console.log(`| ${name} | ${(r.readyMs / 1000).toFixed(2)} s | ${(r.cpuMs / 1000).toFixed(2)} s | ${r.firstMs.toFixed(0)} ms |`);
  }
  console.log(
    `current / previous: complete index ${(current.readyMs / previous.readyMs).toFixed(2)}x the time, CPU ${(current.cpuMs / previous.cpuMs).toFixed(2)}x, first answer ${(current.firstMs / previous.firstMs).toFixed(3)}x`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
