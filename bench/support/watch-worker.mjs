// One run of the watch benchmark: node watch-worker.mjs <watch|nowatch> <saturated|paced> <calls> <dir>
//   saturated: each log call in an event-loop turn of its own, back to back (the folder watch pauses itself:
//              the writers' own checks are frequent enough at that rate);
//   paced:     200 calls a second, as a quiet service makes them (the watch is on, and handles each write's event).
// Prints the CPU time (user + system) per call.
import { createLogger } from "../../dist/index.js";

const [variant, pace, callsText, dir] = process.argv.slice(2);
const calls = Number(callsText);
const logger = createLogger({ logDir: dir, console: false, maxFileBytes: 0, minFreeBytes: 0, watch: variant === "watch" });
const options = { module: "sales", action: "POST", referenceNo: "SI-2026-0042", amount: 1_250_000, user: "admin", metadata: { lines: 12 } };
const pause =
  pace === "paced" ? () => new Promise((resolve) => setTimeout(resolve, 5)) : () => new Promise((resolve) => setImmediate(resolve));
for (let i = 0; i < Math.min(200, calls); i++) {
  logger.logTransaction("Sales invoice posted", options);
  await pause();
}
const start = process.hrtime.bigint();
const cpuStart = process.cpuUsage();
for (let i = 0; i < calls; i++) {
  logger.logTransaction("Sales invoice posted", options);
  await pause();
}
const elapsed = Number(process.hrtime.bigint() - start) / 1e3;
const cpu = process.cpuUsage(cpuStart);
await logger.shutdown();
process.stdout.write(
  JSON.stringify({ usPerCall: elapsed / calls, cpuUsPerCall: (cpu.user + cpu.system) / calls, sysUsPerCall: cpu.system / calls }),
);
