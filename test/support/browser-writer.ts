/**
 * Another process writing to the trail: a child `node` that appends entries
 * through the compiled logger (dist/index.js), as a second service or a
 * cluster worker sharing the log folder would.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { DIST_INDEX } from "./browser-trail.js";

/** What the child logs: `method` is one of the logger's log methods, `options` its EntryOptions. */
export interface ChildEntry {
  method: "log" | "logTransaction" | "logChange" | "logSecurity" | "logService" | "logInventory";
  description: string;
  options?: Record<string, unknown>;
}

const CHILD_SCRIPT = `
const [distIndex, logDir, json] = process.argv.slice(1);
const { createLogger } = await import(distIndex);
const logger = createLogger({ auditLifecycle: false, logDir, console: false, currency: "MMK" });
for (const { method, description, options } of JSON.parse(json)) logger[method](description, options ?? {});
await logger.shutdown();
`;

/** Runs a child process that writes `entries` into `logDir`; resolves once it has exited cleanly. */
export function writeFromAnotherProcess(logDir: string, entries: ChildEntry[]): Promise<void> {
  if (!existsSync(DIST_INDEX)) throw new Error(`${DIST_INDEX} is missing: run "npm run build" first`);
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--input-type=module", "-e", CHILD_SCRIPT, pathToFileURL(DIST_INDEX).href, logDir, JSON.stringify(entries)],
      {
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error("the writer process did not finish within 20 s"));
    }, 20_000);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`the writer process exited with ${code}: ${stderr}`));
    });
  });
}
