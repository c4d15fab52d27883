/**
 * Log content is shown as text, never run as HTML: payloads in the
 * description, user, entity, reference, metadata and before/after values of
 * entries (loaded and live) appear literally and never execute.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Browser, launchBrowser } from "./support/browser-launch.js";
import { columnTexts, openViewer, seriousErrors, waitForTotal } from "./support/browser-page.js";
import { type TestTrail, writeTestTrail } from "./support/browser-trail.js";
import { startTestViewer, type TestViewer } from "./support/browser-viewer.js";
import { writeFromAnotherProcess } from "./support/browser-writer.js";

const IMG = `<img src=x onerror="window.__xss=1">`;
const SCRIPT = `<script>window.__xss=1</script>`;
const SVG = `<svg onload="window.__xss=1"></svg>`;
const ATTR = `"><b id="injected" onmouseover="window.__xss=1">bold</b>`;

let trail: TestTrail;
let viewer: TestViewer;
let browser: Browser;

beforeAll(async () => {
  trail = await writeTestTrail({ day: 10, walkthrough: false });
  trail.logger.logChange(IMG, {
    module: "crm",
    action: "UPDATE",
    user: SCRIPT,
    userRole: SVG,
    entityType: "customer",
    entityId: ATTR,
    referenceNo: SVG,
    oldValues: { [IMG]: SCRIPT, note: "plain" },
    newValues: { [IMG]: SVG, note: ATTR },
    metadata: { comment: SCRIPT, [SVG]: IMG },
  });
  await trail.logger.flush();
  viewer = await startTestViewer({ logDir: trail.logDir });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await viewer?.close();
  await trail?.cleanup();
});

async function expectNothingRan(page: import("playwright-core").Page): Promise<void> {
  expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
  // No element the payloads would have created exists anywhere in the page.
  expect(await page.$$eval("img, svg, #injected, script:not([src])", (nodes) => nodes.length)).toBe(0);
}

describe("log content is text", () => {
  it("shows payloads in the table, detail panel and history chip literally, and runs none of them", async () => {
    const { page, errors } = await browser.newPage({ width: 1400, height: 900 });
    await openViewer(page, viewer.url);
    expect((await columnTexts(page, "desc"))[0]).toBe(IMG);
    expect((await columnTexts(page, "user"))[0]).toBe(SCRIPT);
    expect((await columnTexts(page, "ref"))[0]).toBe(SVG);
    expect((await columnTexts(page, "entity"))[0]).toBe(`customer${ATTR}`);

    await page.hover("#rows tr.row >> nth=0");
    await page.click("#rows tr.row >> nth=0 >> td.c-desc");
    await page.waitForSelector("#detail:not([hidden])");
    expect(await page.textContent("#detail-title")).toBe(IMG);
    const json = JSON.parse((await page.textContent("#detail-json")) ?? "{}");
    expect(json.description).toBe(IMG);
    expect(json.metadata).toEqual({ comment: SCRIPT, [SVG]: IMG });
    const diff = await page.$$eval("#detail-diff tbody tr", (rows) =>
      rows.map((row) => Array.from(row.children, (cell) => cell.textContent)),
    );
    expect(diff).toEqual([
      [IMG, SCRIPT, SVG],
      ["note", "plain", ATTR],
    ]);
    const fields = await page.textContent("#detail-fields");
    expect(fields).toContain(SCRIPT);
    expect(fields).toContain(`${SVG}${IMG}`);

    // The entity's history chip names the entity as text too.
    await page.click("#rows tr.row >> nth=0 >> .entity-link");
    await waitForTotal(page, 1);
    expect(await page.textContent("#chips")).toContain(ATTR);

    await page.waitForTimeout(300); // give an onerror/onload handler every chance to fire
    await expectNothingRan(page);
    expect(seriousErrors(errors)).toEqual([]);
    await page.close();
  });

  it("shows a payload that arrives live as text", async () => {
    const { page, errors } = await browser.newPage({ width: 1400, height: 900 });
    await openViewer(page, viewer.url);
    await page.waitForFunction(() => ["ws", "sse"].includes(document.getElementById("conn")?.dataset.state ?? ""), undefined, {
      timeout: 15_000,
    });
    const live = `${SCRIPT} live ${IMG}`;
    await writeFromAnotherProcess(trail.logDir, [{ method: "log", description: live, options: { user: IMG, metadata: { x: SVG } } }]);
    await page.locator("#rows tr.row.is-new").waitFor({ timeout: 15_000 });
    expect((await columnTexts(page, "desc"))[0]).toBe(live);
    expect((await columnTexts(page, "user"))[0]).toBe(IMG);
    await page.click("#rows tr.row >> nth=0");
    expect(JSON.parse((await page.textContent("#detail-json")) ?? "{}").metadata).toEqual({ x: SVG });
    await page.waitForTimeout(300);
    await expectNothingRan(page);
    expect(seriousErrors(errors)).toEqual([]);
    await page.close();
  });
});
