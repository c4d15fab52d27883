/**
 * The page while the index is first built: it shows the newest entries at
 * once, the counts so far marked with "+", and the progress of the build;
 * once the build is done the progress goes away and the counts are exact.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditHub } from "../src/index.js";
import { type RunningViewer, startViewer } from "../src/viewer/index.js";
import { type Browser, launchBrowser } from "./support/browser-launch.js";
import { columnTexts, seriousErrors } from "./support/browser-page.js";
import { entryLine } from "./support/viewer-server.js";

const SEGMENTS = 5;
const PER_SEGMENT = 80_000;
const TOTAL = SEGMENTS * PER_SEGMENT;

let dir: string;
let running: RunningViewer;
let browser: Browser;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "auditx-viewer-indexing-"));
  const names = Array.from({ length: SEGMENTS - 1 }, (_, s) => `audit.20260628T0${s + 1}0000.000Z.a0000${s + 1}.jsonl`).concat(
    "audit.jsonl",
  );
  for (const [s, name] of names.entries()) {
    let text = "";
    for (let i = s * PER_SEGMENT; i < (s + 1) * PER_SEGMENT; i++)
      text += `${JSON.stringify(entryLine(i, { description: `Invoice SI-2026-${String(i).padStart(6, "0")} posted`, amount: 1000 + i }))}\n`;
    writeFileSync(join(dir, name), text);
  }
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await running?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("the page while the trail is indexed", () => {
  it("shows the newest entries, partial counts with a '+', and the progress, then the exact counts", async () => {
    const { page, errors } = await browser.newPage({ width: 1400, height: 900 });
    // Records what the page showed while the build ran, however short that was.
    await page.addInitScript(() => {
      const seen: { progress: number; text: string; total: string }[] = [];
      (window as unknown as { __indexing: typeof seen }).__indexing = seen;
      const look = () => {
        const box = document.getElementById("indexing");
        const total = document.getElementById("stat-total")?.textContent ?? "";
        if (box && !box.hidden && total.endsWith("+"))
          seen.push({
            progress: (document.getElementById("indexing-progress") as HTMLProgressElement).value,
            text: document.getElementById("indexing-text")?.textContent ?? "",
            total,
          });
      };
      document.addEventListener("DOMContentLoaded", () => {
        new MutationObserver(look).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
      });
    });
    // Built on the event loop, in slices, with no persisted index: the slowest build, so the page sees it.
    running = await startViewer({
      logDir: dir,
      host: "127.0.0.1",
      port: 0,
      hub: new AuditHub(),
      indexDir: false,
      indexThreads: 0,
      auditReads: false,
    });
    await page.goto(running.url);
    await page.waitForSelector("#rows tr.row", { timeout: 15_000 });
    // The live file is indexed first: mid-build the rows are already its entries, the newest of the trail.
    const number = (description: string | undefined) => Number(/SI-2026-(\d+)/.exec(description ?? "")?.[1] ?? -1);
    expect(number((await columnTexts(page, "desc"))[0])).toBeGreaterThanOrEqual((SEGMENTS - 1) * PER_SEGMENT);
    const seen = await page.evaluate(
      () => (window as unknown as { __indexing: { progress: number; text: string; total: string }[] }).__indexing,
    );
    expect(seen.length, "the build finished before the page showed it").toBeGreaterThan(0);
    expect(seen[0]!.progress).toBeGreaterThanOrEqual(0);
    expect(seen[0]!.progress).toBeLessThan(100);
    expect(seen[0]!.text).toMatch(/^\d+% — counts so far, newest entries first$/);
    expect(Number(seen[0]!.total.replace(/\D/g, ""))).toBeLessThan(TOTAL);

    // Done: no progress, exact counts, without a reload.
    await page.waitForFunction(() => document.getElementById("indexing")?.hidden === true, undefined, { timeout: 60_000 });
    await page.waitForFunction(
      (total) => (document.getElementById("stat-total")?.textContent ?? "").replace(/\D/g, "") === String(total),
      TOTAL,
      { timeout: 15_000 },
    );
    expect(await page.textContent("#stat-total")).not.toContain("+");
    // And the view was read again: the newest entry on top.
    await page.waitForFunction(
      (newest) => document.querySelector("#rows tr.row td.c-desc")?.textContent?.trim() === newest,
      `Invoice SI-2026-${String(TOTAL - 1).padStart(6, "0")} posted`,
      { timeout: 15_000 },
    );
    expect(seriousErrors(errors)).toEqual([]);
    await page.close();
  });
});
