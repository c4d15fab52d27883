// Child process of viewer.bench.mjs: starts the built viewer over the bench
// trail and measures one phase, printing one JSON object.
//   cold:    no persisted index yet: answers during the build, build time, RSS,
//            each query (cold and warm), and a light request's latency while a
//            cold search and an export run (and during the build)
//   restart: the persisted index of the cold phase: time to full answers, RSS, first queries
import { execFile } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { startViewer } from "../../dist/viewer/index.js";

// The client's first fetch loads its HTTP stack: done before the clock starts, so that it is not counted as the viewer's.
const warmup = createServer((_request, response) => response.end("{}")).listen(0, "127.0.0.1");
await new Promise((resolve) => warmup.once("listening", resolve));
await (await fetch(`http://127.0.0.1:${warmup.address().port}/`)).text();
warmup.close();

const [phase, dir, indexDir, runsText, queriesJson] = process.argv.slice(2);
const runs = Number(runsText);
const queries = JSON.parse(queriesJson);
const LIGHT = "api/entries?limit=50";

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
/** The event loop's delays (the viewer's thread, whatever holds it) over a phase, as monitorEventLoopDelay measures them. */
let loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();
const takeLoopDelay = () => {
  loopDelay.disable();
  const taken = { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 };
  loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  return taken;
};
const summary = (latencies, heavyMs) => {
  const sorted = [...latencies].sort((a, b) => a - b);
  const loop = takeLoopDelay();
  return {
    count: sorted.length,
    median: median(sorted),
    p95: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))],
    p99: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))],
    max: sorted.at(-1),
    loopP99: loop.p99,
    loopMax: loop.max,
    heavyMs,
  };
};

/** One request: its latency, and the CPU time the process spent on it (the viewer's and this client's, workers included). */
async function timed(url) {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const response = await fetch(url);
  const body = await response.json();
  const ms = performance.now() - start;
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  if (response.status !== 200 && response.status !== 404) throw new Error(`${url}: ${response.status} ${JSON.stringify(body)}`);
  return { ms, cpuMs, body, status: response.status };
}

/** A heavy request from another process (its reading costs this one nothing): resolves with its duration. */
function download(url) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [join(import.meta.dirname, "viewer-download.mjs"), url], { maxBuffer: 1024 * 1024 }, (error, stdout) => {
      if (error) reject(error);
      else resolve(JSON.parse(stdout).ms);
    });
  });
}

/** Light requests one after another until `heavy` settles: their latencies. */
async function lightWhile(url, heavy) {
  let done = false;
  const finished = heavy.then(
    (value) => {
      done = true;
      return value;
    },
    (error) => {
      done = true;
      throw error;
    },
  );
  const latencies = [];
  while (!done) latencies.push((await timed(url + LIGHT)).ms);
  return { latencies, result: await finished };
}

const start = performance.now();
const startCpu = process.cpuUsage();
// Reads are not recorded: the viewer would append to (and at its size, rotate) the very trail being measured.
const running = await startViewer({ logDir: dir, port: 0, realtime: false, indexDir, auditReads: false });
const base = running.url;
// The build's loop delay from when the viewer serves (its start before that answers no one).
takeLoopDelay();
let ready = false;
running.viewer.ready.then(() => {
  ready = true;
});
// Answers from the first moment: light requests until the index is complete.
let first = null;
const duringBuild = [];
while (!ready) {
  const { ms, body } = await timed(base + LIGHT);
  duringBuild.push(ms);
  first ??= { atMs: performance.now() - start, latencyMs: ms, total: body.total, partial: body.partial === true };
  await new Promise((resolve) => setTimeout(resolve, 20));
}
await running.viewer.ready;
const readyMs = performance.now() - start;
const buildLoop = takeLoopDelay();
const readyCpu = process.cpuUsage(startCpu);
const readyCpuMs = (readyCpu.user + readyCpu.system) / 1000;
global.gc?.();
const rssAfterReady = process.memoryUsage().rss;

const results = {};
for (const { name, path, variants, stats } of queries) {
  // Cold: the first time this query (or this spelling of a search) is asked; warm: the median of repeats.
  const coldUrl = base + (variants ? variants[1] : path);
  const cold = await timed(coldUrl);
  const times = [];
  const cpus = [];
  let body = null;
  if (phase === "cold") {
    for (let run = 0; run < runs; run++) {
      const result = await timed(base + (variants ? variants[0] : path));
      times.push(result.ms);
      cpus.push(result.cpuMs);
      body = result.body;
    }
    // The other spellings, each cold once: their median is the cold figure.
    if (variants) {
      const colds = [cold];
      for (let k = 2; k < Math.min(variants.length, runs + 1); k++) colds.push(await timed(base + variants[k]));
      cold.ms = median(colds.map((c) => c.ms));
      cold.cpuMs = median(colds.map((c) => c.cpuMs));
    }
  }
  body ??= cold.body;
  results[name] = {
    coldMs: cold.ms,
    coldCpuMs: cold.cpuMs,
    medianCpuMs: cpus.length ? median(cpus) : cold.cpuMs,
    medianMs: times.length ? median(times) : cold.ms,
    total: stats ? body.audit?.total : body.total,
    found: body.entry !== undefined,
  };
}

const blocked = {
  "the index build (cold start)": {
    ...summary(duringBuild, phase === "cold" ? readyMs : null),
    loopP99: buildLoop.p99,
    loopMax: buildLoop.max,
  },
};
if (phase === "cold") {
  const idle = [];
  takeLoopDelay();
  for (let i = 0; i < 20; i++) idle.push((await timed(base + LIGHT)).ms);
  blocked["nothing (idle)"] = summary(idle, null);
  // A cold search that reads lines (digits), never asked before.
  takeLoopDelay();
  const search = await lightWhile(base, download(`${base}api/entries?q=${encodeURIComponent("sa-2026-0099")}`));
  blocked["a cold search (digits, lines checked)"] = summary(search.latencies, search.result);
  // A cold free-text search answered by the dictionaries.
  takeLoopDelay();
  const text = await lightWhile(base, download(`${base}api/entries?q=${encodeURIComponent("Ayeyar LOGISTICS")}`));
  blocked["a cold search (words)"] = summary(text.latencies, text.result);
  // An export of every sales entry, read to the end.
  takeLoopDelay();
  const exported = await lightWhile(base, download(`${base}api/export?format=jsonl&module=sales`));
  blocked["an export (module=sales, JSONL)"] = summary(exported.latencies, exported.result);
}

const peakRss = process.resourceUsage().maxRSS * 1024;
const threads = running.viewer.source.threads;
let indexBytes = 0;
const walk = (path) => {
  for (const item of readdirSync(path, { withFileTypes: true })) {
    const full = join(path, item.name);
    if (item.isDirectory()) walk(full);
    else indexBytes += statSync(full).size;
  }
};
await running.close();
walk(indexDir);
process.stdout.write(
  JSON.stringify({
    phase,
    buildMs: readyMs,
    readyMs,
    readyCpuMs,
    first,
    rssAfterBuild: rssAfterReady,
    rssAfterReady,
    peakRss,
    results,
    blocked,
    indexBytes,
    threads,
  }),
);
