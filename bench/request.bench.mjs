// What request auditing costs a server: the same route on node:http, on
// Express and on NestJS (Express platform), with and without auditx's request auditing (one durable trail line
// per request). Each server runs in a fresh child process; this process is the
// client (keep-alive, 16 requests in flight, 127.0.0.1). Prints medians of
// several runs, the ratio and the server time added per request.
//
//   npm run bench:request              (20k requests x 5 runs)
//   node bench/request.bench.mjs --requests 50000 --runs 7
//   node bench/request.bench.mjs --servers nest           (some of http, express, nest)
import { fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "20000" },
    runs: { type: "string", default: "5" },
    servers: { type: "string", default: "http,express,nest" },
  },
});
const requests = Number(values.requests);
const runs = Math.max(1, Number(values.runs));
const worker = fileURLToPath(new URL("./support/request-worker.mjs", import.meta.url));

// Per server: without auditing; with only an AsyncLocalStorage scope per request
// (what any request-context library, OpenTelemetry's included, costs on this
// Node); with a hand-rolled request log (one pino line per request, sync
// destination); and with auditx's request auditing.
const chosen = new Set(values.servers.split(","));
const SERVERS = [
  ["http", "node:http", "withAudit(handler)"],
  ["express", "Express 5", "app.use(auditMiddleware())"],
  ["nest", "NestJS 11 (Express)", "AuditModule.forRoot()"],
].filter(([server]) => chosen.has(server));

const median = (list) => {
  const sorted = [...list].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const CONCURRENCY = 16;
const headers = { "x-user": "admin", "x-request-id": "8f14e45f-ceea-467a-9e0b-7a3c2b6d1e90" };

function get(agent, port, i) {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, agent, path: `/api/sales/invoices/inv-${i}?branch=BR-YGN`, headers }, (res) => {
      res.resume();
      res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on("error", reject);
    req.end();
  });
}

async function load(agent, port, count) {
  let next = 0;
  const lane = async () => {
    while (next < count) await get(agent, port, next++);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
}

/** The server's next message; fails if it exits first. */
function reply(child) {
  return new Promise((resolve, reject) => {
    const exited = (code) => reject(new Error(`the server process exited (${code}) before answering`));
    child.once("exit", exited);
    child.once("message", (message) => {
      child.off("exit", exited);
      resolve(message);
    });
  });
}

/** One run: a fresh server process, a warm-up, then `requests` timed requests. */
async function measure(variant, dir) {
  const child = fork(worker, [variant, dir], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const { port } = await reply(child);
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  try {
    await load(agent, port, 2000);
    const start = process.hrtime.bigint();
    await load(agent, port, requests);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const stopped = reply(child);
    child.send("stop");
    const { trailBytes } = await stopped;
    return { perSecond: requests / seconds, trailBytes };
  } finally {
    agent.destroy();
    child.kill();
  }
}

const results = new Map(
  SERVERS.flatMap(([server]) => [server, `${server}+context`, `${server}+pino`, `${server}+audit`].map((variant) => [variant, []])),
);
for (let run = 0; run < runs; run++) {
  // Interleaved, so that machine noise hits every variant alike.
  for (const variant of results.keys()) {
    const dir = mkdtempSync(join(tmpdir(), "auditx-request-bench-"));
    try {
      const result = await measure(variant, dir);
      if (/\+(audit|pino)$/.test(variant) && result.trailBytes === 0) throw new Error(`${variant} wrote no lines`);
      results.get(variant).push(result.perSecond);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

console.log(
  `\n${requests.toLocaleString("en-US")} requests per run (16 in flight, keep-alive, 127.0.0.1), median of ${runs} runs, Node ${process.version}\n`,
);
console.log("Requests/s, and in brackets the time each adds to a request:\n");
console.log("| server | without | AsyncLocalStorage scope only | a pino line per request | auditx | auditx vs without |");
console.log("|:--|--:|--:|--:|--:|--:|");
const rate = (value) => Math.round(value).toLocaleString("en-US");
for (const [server, name, how] of SERVERS) {
  const without = median(results.get(server));
  const cell = (variant) => {
    const value = median(results.get(`${server}+${variant}`));
    return `${rate(value)} (${(1e6 / value - 1e6 / without).toFixed(1)} µs)`;
  };
  const audited = median(results.get(`${server}+audit`));
  console.log(
    `| ${name}, ${how} | ${rate(without)} | ${cell("context")} | ${cell("pino")} | ${cell("audit")} | ${(audited / without).toFixed(2)}x |`,
  );
}
