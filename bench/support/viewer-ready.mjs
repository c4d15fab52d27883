// One cold start of a viewer build in a fresh process: node viewer-ready.mjs <dist> <trail dir> <index dir>
// Prints when its index is complete (ms from the start, CPU of the process, worker threads included),
// when it first answered a request, and the entries its stats count.
import { pathToFileURL } from "node:url";

const [dist, dir, indexDir] = process.argv.slice(2);
const { startViewer } = await import(pathToFileURL(`${dist}/viewer/index.js`).href);
const cpu = process.cpuUsage();
const start = performance.now();
// A design without an index folder or reader auditing ignores these two options.
const running = await startViewer({ logDir: dir, port: 0, realtime: false, indexDir, auditReads: false });
let firstAnswerMs = null;
const light = (async () => {
  const response = await fetch(`${running.url}api/entries?limit=50`);
  await response.json();
  firstAnswerMs = performance.now() - start;
})();
await running.viewer.ready;
const readyMs = performance.now() - start;
const used = process.cpuUsage(cpu);
await light;
const stats = await (await fetch(`${running.url}api/stats`)).json();
process.stdout.write(
  JSON.stringify({ readyMs, cpuMs: (used.user + used.system) / 1000, firstAnswerMs, entries: stats.audit?.total ?? stats.total }),
);
process.exit(0);
