// Viewer benchmark: generates an audit trail of N entries (default 1,000,000,
// about 0.6 GB over audit.jsonl + 3 backups and security.jsonl), starts the
// built viewer on it in a child process and times its index build, RSS and
// queries over HTTP; then runs the same queries naively (read and JSON.parse
// every file per query, as the original viewer does) and prints both with the ratio.
//
//   npm run bench:viewer                      (builds first)
//   node bench/viewer.bench.mjs --entries 200000 --runs 5 --naive-runs 1
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { TRAIL_SPAN_MS, TRAIL_START, writeBenchTrail } from "./support/viewer-trail.mjs";

const { values } = parseArgs({
  options: {
    entries: { type: "string", default: "1000000" },
    runs: { type: "string", default: "7" },
    "naive-runs": { type: "string", default: "1" },
    keep: { type: "boolean", default: false },
  },
});
const entries = Number(values.entries);
const runs = Math.max(1, Number(values.runs));
const naiveRuns = Math.max(0, Number(values["naive-runs"]));

const iso = (millis) => new Date(millis).toISOString();
const windowFrom = TRAIL_START + TRAIL_SPAN_MS * 0.5;
const windowTo = windowFrom + 24 * 3600 * 1000;
const Q_VARIANTS = [
  "golden trading",
  "Golden Trading",
  "GOLDEN TRADING",
  "golden TRADING",
  "Golden trading",
  "gOLDEN tRADING",
  "GOLDEN trading",
];

/** Each query: the HTTP path, and the same filter as a predicate for the naive scan. */
const QUERIES = [
  { name: "first page", path: "api/entries?limit=50", test: () => true },
  // user and branch_id match part of the value, ignoring case (as auditX).
  { name: "user", path: "api/entries?user=user042", test: (e) => e.user?.toLowerCase().includes("user042") },
  { name: "module", path: "api/entries?module=inventory", test: (e) => e.module?.toLowerCase() === "inventory" },
  { name: "branch", path: "api/entries?branch_id=BR-MDY", test: (e) => e.branch_id?.toLowerCase().includes("br-mdy") },
  { name: "level", path: "api/entries?level=error", test: (e) => e.level?.toLowerCase() === "error" },
  {
    name: "time (1 day)",
    path: `api/entries?from=${iso(windowFrom)}&to=${iso(windowTo)}`,
    test: (e) => {
      const t = Date.parse(e.timestamp);
      return t >= windowFrom && t <= windowTo;
    },
  },
  {
    name: "user+module+branch+failed",
    path: "api/entries?user=user042&module=sales&branch_id=BR-YGN&success=false",
    test: (e) =>
      e.user?.toLowerCase().includes("user042") &&
      e.module === "sales" &&
      e.branch_id?.toLowerCase().includes("br-ygn") &&
      e.success === false,
  },
  { name: "reference_no", reference: true },
  {
    name: "q (free text)",
    variants: Q_VARIANTS.map((q) => `api/entries?q=${encodeURIComponent(q)}`),
    test: (_e, line) => line.toLowerCase().includes("golden trading"),
  },
  {
    // Every entry has this field name and no value contains it: the most work per entry for a search.
    name: "q (a field name)",
    variants: ["reference_no", "REFERENCE_NO", "Reference_No", "reference_NO", "REFERENCE_no"].map(
      (q) => `api/entries?q=${encodeURIComponent(q)}`,
    ),
    test: (e) => valuesContain(e, "reference_no"),
  },
  {
    name: "two modules",
    path: "api/entries?module=sales,crm",
    test: (e) => e.module?.toLowerCase() === "sales" || e.module?.toLowerCase() === "crm",
  },
  {
    name: "IP block",
    path: "api/entries?ip=10.20.0.0/16",
    test: (e) => typeof e.ip === "string" && e.ip.startsWith("10.20."),
  },
  { name: "histogram (60 buckets)", path: "api/histogram?buckets=60", test: () => true },
  { name: "histogram of a filter", path: "api/histogram?buckets=60&module=sales", test: (e) => e.module?.toLowerCase() === "sales" },
  { name: "stats", path: "api/stats", stats: true },
];

/** Whether any value of the entry, nested ones included, contains `text` (lower case) ignoring case. */
function valuesContain(value, text) {
  if (value !== null && typeof value === "object") return Object.values(value).some((v) => valuesContain(v, text));
  return String(value).toLowerCase().includes(text);
}

const TARGETS = {
  "first page": 50,
  user: 100,
  module: 100,
  branch: 100,
  level: 100,
  "time (1 day)": 100,
  "user+module+branch+failed": 100,
  reference_no: 100,
  "q (free text)": 1000,
  "q (a field name)": 1000,
  "two modules": 100,
  "IP block": 100,
  "histogram (60 buckets)": 100,
  "histogram of a filter": 100,
  stats: 50,
};

const dir = mkdtempSync(join(tmpdir(), "auditx-viewer-bench-"));
try {
  let t = performance.now();
  const { auditBytes, securityBytes } = writeBenchTrail(dir, entries);
  const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
  // A reference number from the middle of the trail (written by the generator, so it exists once).
  const middle = JSON.parse(readFileSync(join(dir, "audit.jsonl.1"), "utf8").slice(0, 4096).split("\n")[0]);
  const reference = QUERIES.find((query) => query.reference);
  reference.path = `api/entries?reference_no=${encodeURIComponent(middle.reference_no)}`;
  reference.test = (e) => e.reference_no === middle.reference_no;
  console.log(
    `trail: ${entries.toLocaleString("en")} entries, audit ${mb(auditBytes)} (4 files) + security ${mb(securityBytes)}, written in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );

  const output = execFileSync(
    process.execPath,
    [
      "--expose-gc",
      join(import.meta.dirname, "support", "viewer-worker.mjs"),
      dir,
      String(runs),
      JSON.stringify(QUERIES.map(({ name, path, variants }) => ({ name, path, variants }))),
    ],
    { maxBuffer: 64 * 1024 * 1024, encoding: "utf8" },
  );
  const indexed = JSON.parse(output);

  /** The original's way: every request reads and parses every file. */
  const auditFiles = readdirSync(dir)
    .filter((name) => /^audit\.jsonl(\.\d+)?$/.test(name))
    .sort((a, b) => Number(b.split(".")[2] ?? 0) - Number(a.split(".")[2] ?? 0))
    .map((name) => join(dir, name));
  function naive(query) {
    const matches = [];
    const modules = {};
    const levels = {};
    let failures = 0;
    for (const file of auditFiles) {
      for (const line of readFileSync(file, "utf8").split("\n")) {
        if (!line) continue;
        let e;
        try {
          e = JSON.parse(line);
        } catch {
          continue;
        }
        if (query.stats) {
          modules[e.module] = (modules[e.module] ?? 0) + 1;
          levels[e.level] = (levels[e.level] ?? 0) + 1;
          if (e.success === false) failures++;
          matches.push(1);
        } else if (query.test(e, line)) matches.push(e);
      }
    }
    matches.reverse();
    return { total: matches.length, page: matches.slice(0, 50), stats: { modules, levels, failures } };
  }
  const naiveResults = {};
  for (const query of QUERIES) {
    if (naiveRuns === 0) break;
    const times = [];
    let total = 0;
    for (let run = 0; run < naiveRuns; run++) {
      t = performance.now();
      total = naive(query).total;
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    naiveResults[query.name] = { medianMs: times[Math.floor(times.length / 2)], total };
  }

  const fmt = (ms) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));
  console.log(
    `index build: ${(indexed.buildMs / 1000).toFixed(1)} s (target < 30 s); RSS after build ${mb(indexed.rssAfterBuild)}, peak ${mb(indexed.peakRss)} (target < 500 MB)`,
  );
  console.log(`queries over HTTP, median of ${runs} runs (naive: ${naiveRuns} run${naiveRuns === 1 ? "" : "s"}):\n`);
  const rows = [["query", "matches", "indexed ms", "target ms", "naive ms", "naive / indexed"]];
  for (const query of QUERIES) {
    const r = indexed.results[query.name];
    const n = naiveResults[query.name];
    if (n && n.total !== r.total) throw new Error(`${query.name}: the viewer counted ${r.total}, the naive scan ${n.total}`);
    rows.push([
      query.name,
      String(r.total),
      fmt(r.medianMs),
      `< ${TARGETS[query.name]}${r.medianMs < TARGETS[query.name] ? "" : "  MISSED"}`,
      n ? fmt(n.medianMs) : "-",
      n ? `${(n.medianMs / r.medianMs).toFixed(0)}x` : "-",
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  for (const [i, row] of rows.entries()) {
    console.log(`| ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join(" | ")} |`);
    if (i === 0) console.log(`|${widths.map((w, c) => (c === 0 ? ":" : "-") + "-".repeat(w) + (c === 0 ? "-" : ":")).join("|")}|`);
  }
} finally {
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
  else console.log(`trail kept in ${dir}`);
}
