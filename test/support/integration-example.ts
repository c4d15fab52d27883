/** Runs an example as its README says (`node examples/...` from the repository root), with a temp AUDITX_LOG_DIR. */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT, type RunningChild } from "./core-trail.js";
import { eventually } from "./eventually.js";

export interface RunningExample extends RunningChild {
  url: string;
}

/** Runs an example script; `stop()` kills it, `exited` resolves when it ends. */
export function runExample(relativePath: string, logDir: string, env: NodeJS.ProcessEnv = {}): RunningChild {
  const child = spawn(process.execPath, [join(ROOT, relativePath)], {
    cwd: ROOT,
    env: { ...process.env, AUDITX_LOG_DIR: logDir, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const running: RunningChild = {
    child,
    stdout: "",
    stderr: "",
    exited: new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal }))),
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    running.stdout += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    running.stderr += chunk;
  });
  return running;
}

/** Starts a server example with PORT=0 and resolves with the URL it prints once listening. */
export async function startExample(relativePath: string, logDir: string, env: NodeJS.ProcessEnv = {}): Promise<RunningExample> {
  const running = runExample(relativePath, logDir, { PORT: "0", ...env });
  let url: string | undefined;
  try {
    await eventually(
      () => {
        if (running.child.exitCode !== null) throw new Error(`${relativePath} exited early: ${running.stderr}`);
        url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(running.stdout)?.[1];
        return url !== undefined;
      },
      20_000,
      `${relativePath} to listen`,
    );
  } catch (error) {
    running.stop();
    throw error;
  }
  return Object.assign(running, { url: url as string });
}
