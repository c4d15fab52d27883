// Child process of viewer.bench.mjs: starts the built viewer over the bench
// trail, measures the index build, RSS and each query over HTTP (median of
// several runs), and prints one JSON object.
import { startViewer } from "../../dist/viewer/index.js";

const [dir, runsText, queriesJson] = process.argv.slice(2);
const runs = Number(runsText);
const queries = JSON.parse(queriesJson);

const buildStart = performance.now();
const running = await startViewer({ logDir: dir, port: 0, realtime: false });
await running.viewer.ready;
const buildMs = performance.now() - buildStart;
global.gc?.();
const rssAfterBuild = process.memoryUsage().rss;

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

const results = {};
for (const { name, path, variants } of queries) {
  const times = [];
  let total = null;
  for (let run = 0; run < runs; run++) {
    // Text searches use a differently spelled needle per run, so no run is served from the cache.
    const url = `${running.url}${variants ? variants[run % variants.length] : path}`;
    const start = performance.now();
    const response = await fetch(url);
    const body = await response.json();
    times.push(performance.now() - start);
    if (response.status !== 200) throw new Error(`${url}: ${response.status} ${JSON.stringify(body)}`);
    total = body.total ?? body.audit?.total;
  }
  results[name] = { medianMs: median(times), total };
}
const peakRss = process.resourceUsage().maxRSS * 1024;
await running.close();
process.stdout.write(JSON.stringify({ buildMs, rssAfterBuild, peakRss, results }));
