// Viewer benchmark: generates an audit trail of N entries (default 1,000,000,
// about 0.6 GB over three rotated segments, audit.jsonl and security.jsonl),
// then in child processes starts the built viewer on it twice: cold (no
// persisted index: build time, answers during the build, RSS, queries, a
// light request's latency while a cold search and an export run) and warm
// (restart on the persisted index). Then it scans the files naively (read and
// JSON.parse every line, as a viewer without an index does per request) and
// prints both side by side.
//
//   npm run bench:viewer                                   (builds first; 1M entries)
//   npm run bench:viewer -- --entries 10000000             (about 6 GB in the temporary folder, removed after)
//   node bench/viewer.bench.mjs --entries 200000 --runs 5  (quicker)
//   options: --compressed (gzip the rotated segments), --naive-runs N (0: skip), --keep, --dir DIR (an existing trail)
import { execFileSync } from "node:child_process";
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { pipeline } from "node:stream/promises";
import { parseArgs } from "node:util";
import { createGunzip, createGzip } from "node:zlib";
import { entryIdOf } from "../dist/entry/entryId.js";
import { timestampMillis } from "../dist/internal/timestampMillis.js";
import { listTrailSegments } from "../dist/trail/segments.js";
import { CHUNK_MAX_ENTRIES, ChunkBuilder, learnHints } from "../dist/viewer/jsonl/Chunk.js";
import { parseLines } from "../dist/viewer/jsonl/lines.js";
import { TRAIL_SPAN_MS, TRAIL_START, writeBenchTrail } from "./support/viewer-trail.mjs";

const { values } = parseArgs({
  options: {
    entries: { type: "string", default: "1000000" },
    runs: { type: "string", default: "7" },
    "naive-runs": { type: "string", default: "1" },
    compressed: { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    dir: { type: "string" },
  },
});
const entries = Number(values.entries);
const runs = Math.max(1, Number(values.runs));
const naiveRuns = Math.max(0, Number(values["naive-runs"]));

const iso = (millis) => new Date(millis).toISOString();
const windowFrom = TRAIL_START + TRAIL_SPAN_MS * 0.5;
const windowTo = windowFrom + 24 * 3600 * 1000;
/** Differently spelled needles: each cold run searches one the viewer has not seen. */
const spellings = (text, count) =>
  Array.from({ length: count }, (_, k) => [...text].map((c, i) => ((k >> (i % 6)) & 1 ? c.toUpperCase() : c.toLowerCase())).join(""));

/** Whether any value of the entry, nested ones included, contains `text` (lower case), ignoring ASCII case. */
function valuesContain(value, text) {
  if (value !== null && typeof value === "object") return Object.values(value).some((v) => valuesContain(v, text));
  if (value === null || value === undefined || value === "") return false;
  return String(value).toLowerCase().includes(text);
}

/** Each query: its HTTP path(s), the same filter as a predicate for the naive scan, and a target (ms, at 1M). */
const QUERIES = [
  { name: "first page", path: "api/entries?limit=50", test: () => true, target: 50 },
  // user and branch_id match part of the value, ignoring case (as auditX).
  { name: "user", path: "api/entries?user=user042", test: (e) => e.user?.toLowerCase().includes("user042"), target: 100 },
  { name: "module", path: "api/entries?module=inventory", test: (e) => e.module?.toLowerCase() === "inventory", target: 100 },
  { name: "branch", path: "api/entries?branch_id=BR-MDY", test: (e) => e.branch_id?.toLowerCase().includes("br-mdy"), target: 100 },
  { name: "level", path: "api/entries?level=error", test: (e) => e.level?.toLowerCase() === "error", target: 100 },
  {
    name: "time (1 day)",
    path: `api/entries?from=${iso(windowFrom)}&to=${iso(windowTo)}`,
    test: (e) => {
      const t = timestampMillis(e.timestamp);
      return t >= windowFrom && t <= windowTo;
    },
    target: 100,
  },
  {
    name: "user+module+branch+failed",
    path: "api/entries?user=user042&module=sales&branch_id=BR-YGN&success=false",
    test: (e) =>
      e.user?.toLowerCase().includes("user042") &&
      e.module === "sales" &&
      e.branch_id?.toLowerCase().includes("br-ygn") &&
      e.success === false,
    target: 100,
  },
  { name: "reference_no", sample: "reference_no", target: 100 },
  { name: "entity history", sample: "entity", target: 100 },
  {
    name: "q (free text)",
    variants: spellings("golden trading", runs + 1).map((q) => `api/entries?q=${encodeURIComponent(q)}`),
    test: (e) => valuesContain(e, "golden trading"),
    target: 200,
  },
  {
    // Every entry has this field name and no value contains it.
    name: "q (a field name)",
    variants: spellings("reference_no", runs + 1).map((q) => `api/entries?q=${encodeURIComponent(q)}`),
    test: (e) => valuesContain(e, "reference_no"),
    target: 200,
  },
  {
    name: "two modules",
    path: "api/entries?module=sales,crm",
    test: (e) => e.module?.toLowerCase() === "sales" || e.module?.toLowerCase() === "crm",
    target: 100,
  },
  {
    name: "IP block",
    path: "api/entries?ip=10.20.0.0/16",
    test: (e) => typeof e.ip === "string" && e.ip.startsWith("10.20."),
    target: 100,
  },
  { name: "histogram (60 buckets)", path: "api/histogram?buckets=60", test: () => true, target: 100 },
  {
    name: "histogram of a filter",
    path: "api/histogram?buckets=60&module=sales",
    test: (e) => e.module?.toLowerCase() === "sales",
    target: 100,
  },
  {
    // Digits: no dictionary answers, the lines of the entries whose templates fit are read and checked.
    name: "q (digits: part of a reference)",
    variants: Array.from({ length: runs + 1 }, (_, k) => `api/entries?q=${encodeURIComponent(`sa-2026-00${10 + k}`)}`),
    tests: Array.from({ length: runs + 1 }, (_, k) => (e) => valuesContain(e, `sa-2026-00${10 + k}`)),
    target: null,
  },
  { name: "entry by id", sample: "id", target: 50 },
  { name: "stats", path: "api/stats", stats: true, target: 50 },
];

const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const fmt = (ms) => (ms === undefined || ms === null ? "-" : ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));
const owned = !values.dir;
const dir = values.dir ?? mkdtempSync(join(tmpdir(), "auditx-viewer-bench-"));
const indexDir = mkdtempSync(join(tmpdir(), "auditx-viewer-bench-index-"));

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => String(row[c]).length)));
  const lines = [];
  for (const [i, row] of rows.entries()) {
    lines.push(`| ${row.map((cell, c) => (c === 0 ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c]))).join(" | ")} |`);
    if (i === 0) lines.push(`|${widths.map((w, c) => (c === 0 ? ":" : "-") + "-".repeat(w) + (c === 0 ? "-" : ":")).join("|")}|`);
  }
  return lines.join("\n");
}

try {
  let t = performance.now();
  if (owned) {
    const { auditBytes, securityBytes, rotated } = writeBenchTrail(dir, entries);
    console.log(
      `trail: ${entries.toLocaleString("en")} entries, audit ${mb(auditBytes)} (3 rotated segments + audit.jsonl) + security ${mb(securityBytes)}, written in ${((performance.now() - t) / 1000).toFixed(0)} s`,
    );
    if (values.compressed) {
      t = performance.now();
      for (const name of rotated) {
        await pipeline(createReadStream(join(dir, name)), createGzip({ level: 1 }), createWriteStream(join(dir, `${name}.gz`)));
        unlinkSync(join(dir, name));
      }
      console.log(`rotated segments compressed (.gz) in ${((performance.now() - t) / 1000).toFixed(0)} s`);
    }
  }
  const segments = listTrailSegments(dir, "audit.jsonl");
  console.log(`segments: ${segments.map((s) => `${s.name} (${mb(statSync(s.path).size)})`).join(", ")}`);

  /** The lines of the trail, oldest first, .gz segments unpacked as a stream. */
  async function* trailLines() {
    for (const segment of listTrailSegments(dir, "audit.jsonl")) {
      const input = segment.compressed ? createReadStream(segment.path).pipe(createGunzip()) : createReadStream(segment.path);
      for await (const line of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) if (line) yield line;
    }
  }

  // Samples from the middle of the trail: a reference number, an entity, a line without id.
  let sampled = null;
  let n = 0;
  for await (const line of trailLines()) {
    if (n++ === Math.floor(entries / 2)) {
      sampled = { line, entry: JSON.parse(line) };
      break;
    }
  }
  const { entry: middle, line: middleLine } = sampled;
  for (const query of QUERIES) {
    if (query.sample === "reference_no") {
      query.path = `api/entries?reference_no=${encodeURIComponent(middle.reference_no)}`;
      query.test = (e) => e.reference_no === middle.reference_no;
    } else if (query.sample === "entity") {
      query.path = `api/entries?entity_type=${middle.entity_type}&entity_id=${middle.entity_id}`;
      query.test = (e) => e.entity_type === middle.entity_type && e.entity_id === middle.entity_id;
    } else if (query.sample === "id") {
      query.path = `api/entries/${entryIdOf(middle, middleLine)}`;
      query.test = (_e, line) => line === middleLine;
    }
  }

  const child = (phase) =>
    JSON.parse(
      execFileSync(
        process.execPath,
        [
          "--expose-gc",
          join(import.meta.dirname, "support", "viewer-worker.mjs"),
          phase,
          dir,
          indexDir,
          String(runs),
          JSON.stringify(QUERIES.map(({ name, path, variants, stats }) => ({ name, path, variants, stats }))),
        ],
        { maxBuffer: 64 * 1024 * 1024, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
      ),
    );
  const cold = child("cold");
  const warm = child("restart");

  // The naive way: every request reads and parses every line. One pass evaluates all the filters at once.
  const naive = { passes: [], totals: new Map() };
  for (let run = 0; run < naiveRuns; run++) {
    t = performance.now();
    const totals = new Map(QUERIES.map((query) => [query.name, 0]));
    const modules = {};
    for await (const line of trailLines()) {
      let e;
      try {
        e = JSON.parse(line);
      } catch {
        continue;
      }
      modules[e.module] = (modules[e.module] ?? 0) + 1;
      for (const query of QUERIES) {
        if (query.stats) totals.set(query.name, totals.get(query.name) + 1);
        else if (query.tests ? query.tests[0](e, line) : query.test(e, line)) totals.set(query.name, totals.get(query.name) + 1);
      }
    }
    naive.passes.push(performance.now() - t);
    naive.totals = totals;
  }
  const naiveMs = naive.passes.length ? naive.passes.sort((a, b) => a - b)[Math.floor(naive.passes.length / 2)] : null;

  // The build's work per entry on this thread, its CPU time: lines read by the lean scanner against every
  // line through JSON.parse (as the index was built before), alternated after one pass each, on the newest
  // segment's first 64 MB.
  const perEntry = { lean: [], parsed: [] };
  {
    const newest = listTrailSegments(dir, "audit.jsonl").at(-1);
    const bytes = readFileSync(newest.path).subarray(0, 64 * 1024 * 1024);
    const usable = bytes.subarray(0, bytes.lastIndexOf(10) + 1);
    // What the fields turned into (raw, templates), learned as a build thread learns it from its earlier chunks.
    const hints = { raw: new Set(), template: new Set() };
    const pass = (lean) => {
      const cpu = process.cpuUsage();
      let builder = new ChunkBuilder(0, hints);
      let entries = 0;
      const sink = {
        entry: (offset, entry) => builder.add(offset, entry),
        malformed: () => {},
        line: lean ? (offset, buffer, start, end) => builder.addLine(offset, buffer, start, end) : undefined,
        get full() {
          return builder.count >= CHUNK_MAX_ENTRIES;
        },
      };
      for (let at = 0; at < usable.length; ) {
        const consumed = parseLines(usable.subarray(at), usable.length - at, at, true, sink);
        at += consumed;
        if (builder.full || at >= usable.length) {
          entries += builder.count;
          builder.end = at;
          learnHints(hints, builder.seal());
          builder = new ChunkBuilder(at, hints);
        }
      }
      const used = process.cpuUsage(cpu);
      return ((used.user + used.system) * 1000) / entries;
    };
    // One pass of each first, for the compiler and the hints.
    pass(true);
    pass(false);
    for (let run = 0; run < 3; run++) {
      perEntry.lean.push(pass(true));
      perEntry.parsed.push(pass(false));
    }
  }
  const medianOf = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

  console.log(`\nmachine: ${availableParallelism()} cores, load average ${loadavg()[0].toFixed(1)} at the end of the run`);
  console.log(
    `index build (no persisted index): ${(cold.buildMs / 1000).toFixed(1)} s, CPU ${(cold.readyCpuMs / 1000).toFixed(1)} s (worker threads included); first answer ${fmt(cold.first.atMs)} ms after start`,
  );
  console.log(
    `index build work per entry, one thread, CPU (median of 3): ${(medianOf(perEntry.lean) / 1000).toFixed(2)} µs with the lean scanner, ${(medianOf(perEntry.parsed) / 1000).toFixed(2)} µs with JSON.parse of every line (${(medianOf(perEntry.parsed) / medianOf(perEntry.lean)).toFixed(2)}x)`,
  );
  console.log(
    `restart on the persisted index: full answers after ${fmt(warm.readyMs)} ms, CPU ${fmt(warm.readyCpuMs)} ms; first answer ${fmt(warm.first.atMs)} ms after start`,
  );
  console.log(
    `RSS: after build ${mb(cold.rssAfterBuild)}, peak ${mb(cold.peakRss)}; after restart ${mb(warm.rssAfterReady)}, peak ${mb(warm.peakRss)}; persisted index ${mb(cold.indexBytes)}`,
  );
  console.log(
    `worker threads: ${cold.threads}; queries over HTTP, median of ${runs} runs; naive: one read-and-parse pass of the whole trail (median of ${naiveRuns})\n`,
  );
  console.log(
    "(cpu: the CPU time the process spent on the request, viewer and client; on a busy machine the latency also holds the wait for a core)\n",
  );
  const rows = [
    ["query", "matches", "cold ms", "cold cpu ms", "warm ms", "warm cpu ms", "after restart ms", "target ms", "naive ms", "naive / warm"],
  ];
  for (const query of QUERIES) {
    const r = cold.results[query.name];
    const w = warm.results[query.name];
    const expected = naive.totals.get(query.name);
    if (naiveRuns > 0 && r.total !== undefined && expected !== undefined && r.total !== expected && !query.sample)
      throw new Error(`${query.name}: the viewer counted ${r.total}, the naive scan ${expected}`);
    rows.push([
      query.name,
      String(r.total ?? (r.found ? "found" : "-")),
      fmt(r.coldMs),
      fmt(r.coldCpuMs),
      fmt(r.medianMs),
      fmt(r.medianCpuMs),
      fmt(w?.coldMs),
      query.target === null ? "-" : `< ${query.target}`,
      naiveMs === null ? "-" : fmt(naiveMs),
      naiveMs === null ? "-" : `${(naiveMs / r.medianMs).toFixed(0)}x`,
    ]);
  }
  console.log(table(rows));
  console.log(
    `\na light request (first page) while heavy work runs: its latency, against the heavy work's duration (target: < 50 ms behind it);\nloop delay: how late the viewer's event loop ran its timers meanwhile (monitorEventLoopDelay: the thread busy, or waiting for a core)\n`,
  );
  // The baseline: the same light request with nothing else running, in the same process.
  const idle = cold.blocked["nothing (idle)"];
  const blocked = [
    [
      "while",
      "light requests",
      "light median ms",
      "light p99 ms",
      "light max ms",
      "median / idle",
      "loop delay p99 ms",
      "loop delay max ms",
      "heavy ms",
    ],
  ];
  for (const [name, b] of Object.entries(cold.blocked)) {
    const ratio = idle && b.median !== null && idle.median > 0 ? `${(b.median / idle.median).toFixed(1)}x` : "-";
    blocked.push([
      name,
      String(b.count),
      fmt(b.median),
      fmt(b.p99),
      fmt(b.max),
      ratio,
      fmt(b.loopP99),
      fmt(b.loopMax),
      b.heavyMs === null ? "-" : fmt(b.heavyMs),
    ]);
  }
  console.log(table(blocked));
} finally {
  rmSync(indexDir, { recursive: true, force: true });
  if (owned && !values.keep) rmSync(dir, { recursive: true, force: true });
  else console.log(`trail kept in ${dir}`);
}
