/**
 * verify run while another process writes the trail, rotates it every few
 * kilobytes, compresses the rotated segments and prunes the oldest (each
 * pruning announced in the trail first): a segment renamed, compressed or
 * deleted between listing and reading is no sign of tampering.
 */
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger, verifyTrail } from "../src/index.js";
import { tempDir } from "./support/core-trail.js";

const dist = join(import.meta.dirname, "..", "dist", "index.js");
let stopWriter: (() => Promise<void>) | undefined;
let cleanup: (() => void) | undefined;
afterEach(async () => {
  await stopWriter?.();
  stopWriter = undefined;
  cleanup?.();
});

/** A writer in its own process, logging until its stdin closes; resolves once it has rotated and pruned. */
function startWriter(dir: string): Promise<() => Promise<void>> {
  const script = `
    const { createLogger } = await import(${JSON.stringify(dist)});
    const logger = createLogger({ logDir: ${JSON.stringify(dir)}, console: false, integrity: true, minFreeBytes: 0,
      maxFileBytes: 16 * 1024, compress: { afterMs: 0 }, retention: { maxBytes: 96 * 1024 } });
    let open = true;
    process.stdin.on("end", () => { open = false; });
    process.stdin.resume();
    for (let i = 0; open; i++) {
      logger.logTransaction("Stock moved " + i, { module: "inventory", user: "clerk", referenceNo: "SM-" + i, metadata: { qty: i } });
      if (i % 5 === 4) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await logger.shutdown();
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["pipe", "inherit", "inherit"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    child.stdin.end();
    await exited;
  };
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(async () => {
      const names = readdirSync(dir);
      const pruned =
        names.includes("audit.jsonl") && (await verifyTrail({ logDir: dir })).notes.some((note) => note.kind === "pruned-start");
      if (pruned) {
        clearInterval(poll);
        resolve(stop);
      } else if (Date.now() - started > 20_000) {
        clearInterval(poll);
        await stop();
        reject(new Error("the writer did not rotate and prune within 20 s"));
      }
    }, 200);
  });
}

describe("verify against a live, rotating, pruned trail", () => {
  it("reports no problem, run after run, while segments are rotated, compressed and pruned under it", async () => {
    const temp = tempDir("auditx-verify-live-");
    cleanup = temp.cleanup;
    stopWriter = await startWriter(temp.dir);
    const problems: string[] = [];
    let runs = 0;
    let lines = 0;
    const until = Date.now() + 6000;
    while (Date.now() < until) {
      const report = await verifyTrail({ logDir: temp.dir });
      runs++;
      lines += report.lines;
      for (const problem of report.problems) problems.push(`${problem.kind} ${problem.file}:${problem.line} ${problem.detail}`);
    }
    expect(runs).toBeGreaterThan(5);
    expect(lines).toBeGreaterThan(0);
    expect(problems).toEqual([]);
  }, 60_000);

  it("takes a segment whose pruning the trail announces, still there before its deletion, as the pruned start it is", async () => {
    const temp = tempDir("auditx-verify-announced-");
    const kept = tempDir("auditx-verify-announced-kept-");
    cleanup = () => {
      temp.cleanup();
      kept.cleanup();
    };
    const logger = createLogger({
      logDir: temp.dir,
      console: false,
      integrity: true,
      minFreeBytes: 0,
      maxFileBytes: 8 * 1024,
      compress: false,
      retention: { maxBytes: 40 * 1024 },
    });
    const rotated = () => readdirSync(temp.dir).filter((name) => /^audit\..+\.jsonl$/.test(name));
    try {
      for (let i = 0; i < 800; i++) {
        logger.logTransaction(`Stock moved ${i}`, { module: "inventory", user: "clerk", referenceNo: `SM-${i}`, metadata: { qty: i } });
        if (i % 10 !== 9) continue;
        await new Promise((resolve) => setTimeout(resolve, 10));
        // A rotated segment does not change: a copy of it is what the folder held before its pruning.
        for (const name of rotated()) {
          try {
            if (!existsSync(join(kept.dir, name))) copyFileSync(join(temp.dir, name), join(kept.dir, name));
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
          }
        }
      }
    } finally {
      await logger.shutdown();
    }
    const present = new Set(rotated());
    const pruned = readdirSync(kept.dir)
      .filter((name) => !present.has(name))
      .sort();
    expect(pruned.length).toBeGreaterThanOrEqual(2);
    const settled = await verifyTrail({ logDir: temp.dir });
    expect(settled.problems).toEqual([]);

    // The newest pruned segment back in place: its pruning is in the trail, its deletion not yet done.
    const last = pruned.at(-1) as string;
    copyFileSync(join(kept.dir, last), join(temp.dir, last));
    const report = await verifyTrail({ logDir: temp.dir });
    expect(report.problems).toEqual([]);
    const start = report.notes.find((note) => note.kind === "pruned-start");
    expect(start?.file).toBe(join(temp.dir, last));
    expect(report.chains[0]?.firstSeq).toBeLessThan(settled.chains[0]?.firstSeq as number);
    expect(start?.detail).toBe(`seq 1..${(report.chains[0]?.firstSeq as number) - 1} pruned by retention, as the trail records`);
  }, 60_000);
});
