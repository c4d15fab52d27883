// PostgreSQL store benchmark, in one run:
//  1. shipping: N entries (default 1,000,000) written by the logger, shipped by
//     the shipper from the trail into an empty store, against the baseline: a
//     plain COPY of the same rows (prepared in a file) into another empty
//     store; alternated, medians of --runs;
//  2. the viewer over M entries (default 10,000,000, generated inside
//     PostgreSQL in a temporary database, or in a kept one with
//     --keep-view-db NAME: loaded once, stamped with the data's format and
//     row count, and reused by the next run that asks for the same):
//     first page, each filter, free text, stats, medians over HTTP;
//  3. shipping lag at R records/s (default 5,000) sustained for S seconds
//     (default 60), into the M-entry store (a copy of it when it is kept): from
//     each entry's time (its id) to its NOTIFY reaching a listener, i.e. to the
//     moment a live viewer has it.
// The server is DATABASE_URL's when it answers (it must be allowed to create
// databases), else a throwaway embedded PostgreSQL 18 (bench/support/postgres.mjs).
// Every database it creates is dropped at the end, except a kept store.
//
//   npm run bench:postgres                (builds first)
//   node bench/postgres.bench.mjs --ship-rows 200000 --view-rows 1000000 --runs 3 --lag-seconds 30
//   node bench/postgres.bench.mjs --skip-view --skip-lag
//   node bench/postgres.bench.mjs --skip-ship --skip-lag --keep-view-db auditx_bench_view_10m   # loads once, then reuses
//   --load-connections N: connections loading the store at once (default 2: one per core here)
import { execFile } from "node:child_process";
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { parseArgs } from "node:util";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { createLogger } from "../dist/index.js";
import { copyRowOf } from "../dist/store/copyRow.js";
import { Shipper } from "../dist/store/Shipper.js";
import { copyStatement, initStore, StoreNames } from "../dist/store/schema.js";
import { listTrailSegments } from "../dist/trail/segments.js";
import { startViewer } from "../dist/viewer/index.js";
import { benchPostgres } from "./support/postgres.mjs";
import { BENCH_DATA_FORMAT, DATA_SPAN_MS, DATA_START, loadBenchStore, SERVICES } from "./support/postgres-bench-data.mjs";

const { values } = parseArgs({
  options: {
    "ship-rows": { type: "string", default: "1000000" },
    "view-rows": { type: "string", default: "10000000" },
    runs: { type: "string", default: "3" },
    "query-runs": { type: "string", default: "7" },
    "lag-seconds": { type: "string", default: "60" },
    rate: { type: "string", default: "5000" },
    "skip-ship": { type: "boolean", default: false },
    "skip-view": { type: "boolean", default: false },
    "skip-lag": { type: "boolean", default: false },
    "keep-view-db": { type: "string" },
    "load-connections": { type: "string", default: "2" },
  },
});
const shipRows = Number(values["ship-rows"]);
const viewRows = Number(values["view-rows"]);
const runs = Math.max(1, Number(values.runs));
const queryRuns = Math.max(1, Number(values["query-runs"]));
const lagSeconds = Number(values["lag-seconds"]);
const rate = Number(values.rate);
const keepViewDb = values["keep-view-db"];
if (keepViewDb !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(keepViewDb))
  throw new TypeError(`--keep-view-db: expected a lowercase database name (letters, digits, _), got ${JSON.stringify(keepViewDb)}`);
const loadConnections = Math.max(1, Number(values["load-connections"]));

const log = (line) => console.log(line);
const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
const percentile = (list, p) => [...list].sort((a, b) => a - b)[Math.min(list.length - 1, Math.floor((list.length * p) / 100))];
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
const names = new StoreNames();

async function connect(url) {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return client;
}

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => String(row[c]).length)));
  for (const [i, row] of rows.entries()) {
    log(`| ${row.map((cell, c) => (c === 0 ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c]))).join(" | ")} |`);
    if (i === 0) log(`|${widths.map((w, c) => (c === 0 ? ":" : "-") + "-".repeat(w) + (c === 0 ? "-" : ":")).join("|")}|`);
  }
}

// ---- 1. shipping against plain COPY -------------------------------------------

const PARTIES = ["Golden Trading Co.", "Shwe Pyi Distribution", "Ayeyar Logistics", "Mandalay Hardware Ltd"];

/** A trail of n entries written by the logger (rotating every 10 MiB, as by default). */
async function writeJournal(dir, n) {
  const logger = createLogger({
    logDir: dir,
    serviceName: "sales-api",
    console: false,
    buffered: true,
    backupCount: 100_000,
    // Only the n entries: no START and STOP of the logger's own.
    auditLifecycle: false,
  });
  for (let i = 0; i < n; i++) {
    logger.logTransaction(`Sales invoice SI-2026-${i} posted`, {
      module: "sales",
      action: "POST",
      referenceNo: `SI-2026-${i}`,
      amount: 1_250_000 + (i % 9973),
      user: `user${i % 200}`,
      userRole: "cashier",
      branchId: `BR-${i % 12}`,
      companyId: `CO-00${i % 3}`,
      entityType: "sales_invoice",
      entityId: `inv-${i}`,
      party: PARTIES[i % PARTIES.length],
      requestId: `req-${i}`,
      ip: "10.0.0.1",
      metadata: { channel: i % 2 ? "pos" : "web", items: i % 20 },
    });
    if (i % 50_000 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await logger.shutdown();
}

/** The COPY text of every line of the trail, in a file: what a plain COPY loads. */
async function copyFile(dir, file) {
  const out = createWriteStream(file);
  let rows = 0;
  for (const segment of listTrailSegments(dir, "audit.jsonl")) {
    let chunk = "";
    for (const line of readFileSync(segment.path, "utf8").split("\n")) {
      if (!line) continue;
      chunk += copyRowOf(JSON.parse(line), line).text;
      rows++;
    }
    if (!out.write(chunk)) await new Promise((resolve) => out.once("drain", resolve));
  }
  await new Promise((resolve) => out.end(resolve));
  return rows;
}

async function freshStore(server) {
  const url = await server.createDatabase("auditx_bench_ship");
  const client = await connect(url);
  await initStore(client);
  // Partitions for the trail's month exist before either side starts (the shipper makes them on demand).
  await client.query(`SELECT ${names.of("ensure_partitions")}(ARRAY[now()])`);
  await client.end();
  return url;
}

async function plainCopy(url, file) {
  const client = await connect(url);
  try {
    const start = performance.now();
    await pipeline(createReadStream(file, { highWaterMark: 1024 * 1024 }), client.query(copyFrom(copyStatement(names.entries))));
    return performance.now() - start;
  } finally {
    await client.end();
  }
}

async function ship(url, dir) {
  const start = performance.now();
  const shipper = new Shipper({ postgres: url, folders: [dir], batchRows: 10_000, pollIntervalMs: 50 });
  if (!(await shipper.drained(3_600_000))) throw new Error(`the shipper did not finish: ${JSON.stringify(shipper.stats())}`);
  const ms = performance.now() - start;
  const stats = shipper.stats();
  await shipper.close();
  if (stats.shipped !== shipRows || stats.skipped !== 0)
    throw new Error(`shipped ${stats.shipped} of ${shipRows}, skipped ${stats.skipped}`);
  return { ms, batches: stats.batches };
}

async function benchShipping(server) {
  log(
    `\n## 1. Shipping ${shipRows.toLocaleString("en")} entries from the trail vs a plain COPY of the same rows (${runs} run${runs === 1 ? "" : "s"}, alternated)`,
  );
  const dir = mkdtempSync(join(tmpdir(), "auditx-pg-bench-trail-"));
  try {
    let t = performance.now();
    await writeJournal(dir, shipRows);
    const segments = listTrailSegments(dir, "audit.jsonl").length;
    log(`trail written by the logger in ${seconds(performance.now() - t)}: ${segments} segments`);
    t = performance.now();
    const file = join(dir, "rows.copy");
    const rows = await copyFile(dir, file);
    if (rows !== shipRows) throw new Error(`the trail holds ${rows} lines, not ${shipRows}`);
    log(`baseline COPY file prepared in ${seconds(performance.now() - t)} (not timed)`);
    const copyRates = [];
    const shipRates = [];
    for (let run = 0; run < runs; run++) {
      const order = run % 2 === 0 ? ["copy", "ship"] : ["ship", "copy"];
      for (const side of order) {
        const url = await freshStore(server);
        if (side === "copy") {
          const ms = await plainCopy(url, file);
          copyRates.push((shipRows * 1000) / ms);
          log(`  run ${run + 1}: plain COPY ${seconds(ms)}, ${Math.round(copyRates.at(-1)).toLocaleString("en")} rows/s (load ${load()})`);
        } else {
          // The shipper starts from nothing: its cursors live in the trail folder, one per store.
          const { ms, batches } = await ship(url, dir);
          shipRates.push((shipRows * 1000) / ms);
          log(
            `  run ${run + 1}: shipper ${seconds(ms)}, ${Math.round(shipRates.at(-1)).toLocaleString("en")} rows/s in ${batches} batches (load ${load()})`,
          );
        }
        await server.dropDatabase(url);
      }
    }
    const copy = median(copyRates);
    const shipped = median(shipRates);
    const ratio = shipped / copy;
    log(
      `\nmedian: shipper ${Math.round(shipped).toLocaleString("en")} rows/s, plain COPY ${Math.round(copy).toLocaleString("en")} rows/s: ${ratio.toFixed(2)}x COPY (target >= 0.7x)${ratio >= 0.7 ? "" : "  MISSED"}`,
    );
    return { copy, shipped, ratio };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- 2. the viewer over M entries ----------------------------------------------

const day = DATA_START + DATA_SPAN_MS / 2;
const iso = (millis) => new Date(millis).toISOString();
const variants = (make) => Array.from({ length: 7 }, (_, k) => make(k));
const QUERIES = [
  { name: "first page", target: 50, paths: ["api/entries?limit=50"] },
  { name: "user", target: 100, paths: variants((k) => `api/entries?user=user${String(42 + k * 17).padStart(3, "0")}`) },
  {
    name: "module",
    target: 100,
    paths: variants((k) => `api/entries?module=${["sales", "inventory", "crm", "hr", "auth", "purchase", "system"][k]}`),
  },
  {
    name: "level",
    target: 100,
    paths: variants((k) => `api/entries?level=${["error", "critical", "security", "warning", "ERROR", "info", "audit"][k]}`),
  },
  {
    name: "action",
    target: 100,
    paths: variants((k) => `api/entries?action=${["POST", "VOID", "REFUND", "LOGIN", "EXPORT", "ADJUST", "APPROVE"][k]}`),
  },
  {
    name: "branch",
    target: 100,
    paths: variants((k) => `api/entries?branch_id=${["BR-MDY", "BR-YGN", "BR-NPT", "BR-BGO", "BR-MLM", "BR-TGI", "BR-KTN"][k]}`),
  },
  { name: "company", target: 100, paths: variants((k) => `api/entries?company_id=CO-00${1 + (k % 3)}`) },
  { name: "service", target: 100, paths: variants((k) => `api/entries?service=${SERVICES[k % SERVICES.length]}`) },
  { name: "host", target: 100, paths: variants((k) => `api/entries?hostname=erp-app-${String(1 + k).padStart(2, "0")}`) },
  { name: "failed", target: 100, paths: ["api/entries?success=false"] },
  {
    name: "time (1 day)",
    target: 100,
    paths: variants(
      (k) => `api/entries?from=${iso(day + k * 86_400_000 + 3_600_000 * k)}&to=${iso(day + (k + 1) * 86_400_000 + 3_600_000 * k)}`,
    ),
  },
  {
    name: "user+module+branch+failed",
    target: 100,
    paths: variants((k) => `api/entries?user=user${String(42 + k).padStart(3, "0")}&module=sales&branch_id=BR-YGN&success=false`),
  },
  {
    name: "module+level",
    target: 100,
    paths: variants((k) => `api/entries?module=${["sales", "inventory", "crm", "hr", "auth", "purchase", "system"][k]}&level=error`),
  },
  {
    name: "reference_no",
    target: 100,
    paths: variants((k) => `api/entries?reference_no=SA-2026-${String(123_457 + k * 1_000_003).padStart(8, "0")}`),
  },
  {
    name: "entity history",
    target: 100,
    paths: variants((k) => `api/entries?entity_type=customer&entity_id=crm-${String(4242 + k).padStart(6, "0")}`),
  },
  {
    name: "q (free text)",
    target: 1000,
    paths: [
      "golden trading",
      "Golden Trading",
      "GOLDEN TRADING",
      "golden TRADING",
      "Golden trading",
      "gOLDEN tRADING",
      "GOLDEN trading",
    ].map((q) => `api/entries?q=${encodeURIComponent(q)}`),
  },
  { name: "q (rare text)", target: 1000, paths: variants((k) => `api/entries?q=${encodeURIComponent(`sess-0${4242 + k}`)}`) },
  // A user's name typed as free text: found through the per-day counts and the user index (the search text leaves it out).
  { name: "q (a user's name)", target: 1000, paths: variants((k) => `api/entries?q=USER${String(42 + k * 17).padStart(3, "0")}`) },
  { name: "stats", target: 100, paths: ["api/stats"] },
  {
    name: "user (exact)",
    target: 100,
    paths: variants((k) => `api/entries?user=user${String(42 + k * 17).padStart(3, "0")}&user_match=exact`),
  },
  {
    name: "modules (2 values)",
    target: 100,
    paths: variants((k) => `api/entries?module=${["sales,crm", "hr,auth", "inventory,purchase"][k % 3]}`),
  },
  { name: "IP block (/16)", target: 100, paths: variants((k) => `api/entries?ip=10.${k * 31}.0.0/16`) },
  { name: "histogram (all)", target: 1000, paths: ["api/histogram?buckets=60&tz_offset=390"] },
  {
    name: "histogram (one module)",
    target: 1000,
    paths: variants((k) => `api/histogram?buckets=60&module=${["hr", "auth", "system"][k % 3]}`),
  },
];

/** The stamp a loaded store carries: its data format and row count; a kept store is reused only when it matches. */
const stampOf = (n) => `${BENCH_DATA_FORMAT} rows=${n}`;

async function readStamp(url) {
  const client = await connect(url);
  try {
    const { rows } = await client.query("SELECT value FROM auditx.meta WHERE key = 'bench_data'");
    return rows[0]?.value ?? null;
  } catch {
    return null;
  } finally {
    await client.end();
  }
}

/** The viewer's store: a kept one whose stamp matches, else a database loaded now (and kept when asked). */
async function viewStore(server) {
  let url;
  if (keepViewDb) {
    url = await server.keptDatabase(keepViewDb);
    if (url && (await readStamp(url)) === stampOf(viewRows)) {
      log(`reusing the store kept in database ${keepViewDb} (${stampOf(viewRows)})`);
      return url;
    }
    if (url) {
      log(`database ${keepViewDb} holds no complete store of ${stampOf(viewRows)}: loading it again`);
      await server.dropDatabase(url);
    }
    url = await server.createDatabase(keepViewDb, { keep: true });
  } else {
    url = await server.createDatabase("auditx_bench_view");
  }
  const t = performance.now();
  const steps = await loadBenchStore(url, viewRows, log, { connections: loadConnections });
  const client = await connect(url);
  try {
    // Stamped last: a load cut short is never taken for a complete one.
    await client.query("INSERT INTO auditx.meta (key, value) VALUES ('bench_data', $1)", [stampOf(viewRows)]);
  } finally {
    await client.end();
  }
  log(
    `store loaded in ${seconds(performance.now() - t)} on ${loadConnections} connection${loadConnections === 1 ? "" : "s"} (${JSON.stringify(steps)}; load ${load()})`,
  );
  return url;
}

async function benchViewer(server) {
  log(`\n## 2. The viewer over ${viewRows.toLocaleString("en")} entries in PostgreSQL (median of ${queryRuns} runs over HTTP)`);
  const url = await viewStore(server);
  const client = await connect(url);
  const { rows } = await client.query(
    "SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) AS size, (SELECT count(*) FROM auditx.entries) AS entries FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'auditx.entries'::regclass",
  );
  log(`store: ${Number(rows[0].entries).toLocaleString("en")} entries, ${rows[0].size} with indexes (load ${load()})`);
  await client.end();
  if (Number(rows[0].entries) !== viewRows) throw new Error(`the store holds ${rows[0].entries} entries, not ${viewRows}`);
  const running = await startViewer({ store: { postgres: url }, port: 0, realtime: false, auditReads: false });
  await running.viewer.ready;
  const results = [];
  try {
    for (const query of QUERIES) {
      const times = [];
      let total = null;
      let partial = false;
      for (let run = 0; run < queryRuns; run++) {
        const path = query.paths[run % query.paths.length];
        const start = performance.now();
        const response = await fetch(`${running.url}${path}`);
        const body = await response.json();
        times.push(performance.now() - start);
        if (response.status !== 200) throw new Error(`${path}: ${response.status} ${JSON.stringify(body)}`);
        total = body.total ?? body.audit?.total;
        partial = body.partial === true || body.audit?.partial === true;
      }
      results.push({ ...query, ms: median(times), total, partial });
    }
  } finally {
    await running.close();
  }
  log("");
  table([
    ["query", "matches (last run)", "median ms", "target ms"],
    ...results.map((r) => [
      r.name,
      `${r.total.toLocaleString("en")}${r.partial ? "+" : ""}`,
      r.ms >= 100 ? r.ms.toFixed(0) : r.ms.toFixed(1),
      `< ${r.target}${r.ms < r.target ? "" : "  MISSED"}`,
    ]),
  ]);
  return url;
}

/**
 * How this host's kernel writes dirty pages back (Linux): by default it lets them gather for 30 s and writes them
 * in one burst, which a database's WAL fsync then waits behind (README, "Shipping lag").
 */
function kernelWriteback() {
  try {
    const read = (name) => readFileSync(`/proc/sys/vm/${name}`, "utf8").trim();
    const bytes = Number(read("dirty_background_bytes"));
    const background = bytes > 0 ? `dirty_background_bytes ${bytes}` : `dirty_background_ratio ${read("dirty_background_ratio")}`;
    return `kernel writeback: vm.${background}, dirty_expire_centisecs ${read("dirty_expire_centisecs")}`;
  } catch {
    return "kernel writeback: not Linux";
  }
}

// ---- 3. shipping lag at a sustained rate ----------------------------------------

function idMillis(hex) {
  return Number.parseInt(hex.slice(0, 12), 16);
}

async function benchLag(server, viewUrl) {
  // A kept store stays as loaded: the lag is measured in a copy of it (made from its files), dropped at the end.
  const storeUrl = viewUrl && keepViewDb ? await server.copyDatabase(viewUrl, "auditx_bench_lag") : viewUrl;
  const url = storeUrl ?? (await freshStore(server));
  log(
    `\n## 3. Shipping lag at ${rate.toLocaleString("en")} records/s for ${lagSeconds} s, into ${storeUrl ? `the ${viewRows.toLocaleString("en")}-entry store` : "an empty store"}`,
  );
  const dir = mkdtempSync(join(tmpdir(), "auditx-pg-bench-lag-"));
  const listener = await connect(url);
  const lags = [];
  const warmupUntil = Date.now() + 5000;
  let received = 0;
  listener.on("notification", (message) => {
    const now = Date.now();
    for (const hex of (message.payload ?? "").split(",")) {
      received++;
      if (now >= warmupUntil) lags.push(now - idMillis(hex));
    }
  });
  await listener.query(`LISTEN ${names.channel}`);
  // The sidecar's way: a shipper process of its own (here the benchmark's), the writer in another process.
  const shipper = new Shipper({ postgres: url, folders: [dir] });
  const samples = [];
  const sampler = setInterval(() => samples.push(shipper.stats().lag.seconds), 500);
  try {
    const writer = await new Promise((resolve, reject) => {
      execFile(
        process.execPath,
        [join(import.meta.dirname, "support", "postgres-rate-writer.mjs"), dir, String(rate), String(lagSeconds)],
        (error, stdout) => (error ? reject(error) : resolve(JSON.parse(stdout))),
      );
    });
    await shipper.drained(600_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    clearInterval(sampler);
    const achieved = writer.written / writer.seconds;
    log(
      `writer: ${writer.written.toLocaleString("en")} entries in ${writer.seconds.toFixed(1)} s (${Math.round(achieved).toLocaleString("en")}/s); announced: ${received.toLocaleString("en")}; load ${load()}`,
    );
    const p50 = median(lags);
    const p99 = percentile(lags, 99);
    log(
      `lag from an entry's time to its NOTIFY (after a 5 s warm-up, ${lags.length.toLocaleString("en")} entries): median ${p50} ms, p95 ${percentile(lags, 95)} ms, p99 ${p99} ms, max ${lags.reduce((a, b) => Math.max(a, b), 0)} ms (target < 1000 ms)${p99 < 1000 ? "" : "  MISSED at p99"}`,
    );
    log(
      `the shipper's own lag report, sampled every 0.5 s: median ${median(samples).toFixed(2)} s, max ${samples.reduce((a, b) => Math.max(a, b), 0).toFixed(2)} s`,
    );
  } finally {
    clearInterval(sampler);
    await shipper.close();
    await listener.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- run -------------------------------------------------------------------------

const server = await benchPostgres({ log });
try {
  log(`PostgreSQL ${server.version} (${server.source}); ${cpus().length} cores; load average at start ${load()}; ${kernelWriteback()}`);
  if (!values["skip-ship"]) await benchShipping(server);
  let viewUrl = null;
  if (!values["skip-view"]) viewUrl = await benchViewer(server);
  if (!values["skip-lag"]) await benchLag(server, viewUrl);
  log(`\nload average at the end ${load()}`);
} finally {
  await server.close();
}
