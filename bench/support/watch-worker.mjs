// One run of the watch benchmark: node watch-worker.mjs <watch|nowatch> <calls> <dir>
// Each log call in an event-loop turn of its own, as a server makes them: the folder watcher's
// event for each write is delivered and handled in the next turn.
import { createLogger } from "../../dist/index.js";

const [variant, callsText, dir] = process.argv.slice(2);
const calls = Number(callsText);
const logger = createLogger({ logDir: dir, console: false, maxFileBytes: 0, minFreeBytes: 0, watch: variant === "watch" });
const options = { module: "sales", action: "POST", referenceNo: "SI-2026-0042", amount: 1_250_000, user: "admin", metadata: { lines: 12 } };
const turn = () => new Promise((resolve) => setImmediate(resolve));
for (let i = 0; i < 2000; i++) {
  logger.logTransaction("Sales invoice posted", options);
  await turn();
}
const start = process.hrtime.bigint();
const cpuStart = process.cpuUsage();
for (let i = 0; i < calls; i++) {
  logger.logTransaction("Sales invoice posted", options);
  await turn();
}
const elapsed = Number(process.hrtime.bigint() - start) / 1e3;
const cpu = process.cpuUsage(cpuStart);
await logger.shutdown();
process.stdout.write(JSON.stringify({ usPerCall: elapsed / calls, cpuUsPerCall: (cpu.user + cpu.system) / calls }));
