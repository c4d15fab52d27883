import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ROOT } from "./support/core-trail.js";
import { eventually } from "./support/eventually.js";
import { entryLine, getJson, viewerTempDir, writeTrail } from "./support/viewer-server.js";

const KEY = "cli-key-not-to-be-printed";

interface Started {
  child: ChildProcess;
  url: string;
  output: () => string;
  exit: Promise<number | null>;
}

/** Runs a compiled bin (npm test builds first) and waits for the URL it prints. */
function startBin(bin: string, args: string[]): Promise<Started> {
  const child = spawn(process.execPath, [join(ROOT, "dist", "cli", bin), ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed: ${output}`)), 15_000);
    const check = () => {
      const match = /http:\/\/127\.0\.0\.1:\d+\//.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[0], output: () => output, exit });
      }
    };
    child.stdout!.on("data", check);
    exit.then(() => reject(new Error(`exited early: ${output}`)));
  });
}

describe("auditx ui / auditx-ui", () => {
  const children: ChildProcess[] = [];
  const temp = viewerTempDir();
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  });

  it("prints the URL on 127.0.0.1, answers with the key, never prints the key, and stops on SIGTERM", async () => {
    writeTrail(join(temp.dir, "audit.jsonl"), [entryLine(1), entryLine(2)]);
    const started = await startBin("main.js", ["ui", "--log-dir", temp.dir, "--port", "0", "--api-key", KEY]);
    children.push(started.child);
    expect((await getJson(`${started.url}api/stats`)).status).toBe(401);
    const total = async () => (await getJson(`${started.url}api/stats`, { "X-API-Key": KEY })).body.audit.total as number;
    // The two entries, and the viewer's own: its START and the refused request just before, never the key. The viewer
    // reads lines appended to the folder when its watch reports them, a moment after the request that wrote one.
    await eventually(async () => (await total()) >= 4, 5_000, "the viewer's own entries in its stats");
    expect(await total()).toBe(4);
    const own = readFileSync(join(temp.dir, "audit.jsonl"), "utf8");
    expect(own).toContain('"description":"auditx viewer started"');
    expect(own).toMatch(/"description":"Viewer refused a request from 127\.0\.0\.1 without an API key"/);
    expect(own).not.toContain(KEY);
    started.child.kill("SIGTERM");
    expect(await started.exit, started.output()).toBe(0);
    expect(started.output()).toContain("stopped");
    expect(started.output()).not.toContain(KEY);
  });

  it("runs as auditx-ui with --no-realtime and stops on SIGINT", async () => {
    const folder = join(temp.dir, "missing");
    const started = await startBin("ui-bin.js", ["--log-dir", folder, "--port", "0", "--no-realtime"]);
    children.push(started.child);
    expect((await getJson(`${started.url}api/config`)).body.realtime).toBe(false);
    // The folder did not exist: the viewer made it for its record of readers, whose first entry, its START, it shows
    // once its poll has read it (a moment after it started, whatever the machine's load).
    const total = async () => (await getJson(`${started.url}api/stats`)).body.audit.total as number;
    await eventually(async () => (await total()) === 1, 10_000, "the viewer's START in its stats");
    expect(readFileSync(join(folder, "audit.jsonl"), "utf8")).toContain('"description":"auditx viewer started"');
    started.child.kill("SIGINT");
    expect(await started.exit, started.output()).toBe(0);
  });

  it("rejects bad options with exit code 2 and a message", async () => {
    for (const args of [
      ["ui", "--port", "abc"],
      ["ui", "--port", "70000"],
      ["ui", "--bogus"],
    ]) {
      const child = spawn(process.execPath, [join(ROOT, "dist", "cli", "main.js"), ...args], { stdio: ["ignore", "pipe", "pipe"] });
      children.push(child);
      let stderr = "";
      child.stderr!.on("data", (chunk) => (stderr += chunk));
      const code = await new Promise((resolve) => child.once("exit", resolve));
      expect(code, args.join(" ")).toBe(2);
      expect(stderr, args.join(" ")).toMatch(/auditx ui: /);
    }
    temp.cleanup();
  });
});
