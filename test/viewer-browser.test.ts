/**
 * The viewer page in a real browser (Debian's chromium) against the real
 * viewer server and a trail written by the real logger: it shows the trail,
 * filters narrow it, the detail panel shows a change, an entity's history
 * can be followed, and it fits a phone. Saves a screenshot (UPDATE_SCREENSHOT=1 refreshes the README's).
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Browser, launchBrowser } from "./support/browser-launch.js";
import {
  chooseValues,
  columnTexts,
  digits,
  type Entry,
  localInputValue,
  openViewer,
  pagerTotal,
  seriousErrors,
  trailEntries,
  waitForTotal,
} from "./support/browser-page.js";
import { ROOT, type TestTrail, writeCreditLimitChange, writeTestTrail } from "./support/browser-trail.js";
import { startTestViewer, type TestViewer } from "./support/browser-viewer.js";

let trail: TestTrail;
let viewer: TestViewer;
let browser: Browser;
let entries: Entry[];

const lower = (value: unknown) => String(value ?? "").toLowerCase();

beforeAll(async () => {
  trail = await writeTestTrail({ day: 160 });
  // A customer whose history spans several entries, the newest one a credit limit change.
  trail.logger.logService("Service job created", {
    jobId: "SVC-7001",
    customerId: "CUST-777",
    serviceType: "AC Installation",
    user: "kyaw.zin",
  });
  writeCreditLimitChange(trail.logger, "CUST-777", 500_000, 750_000);
  writeCreditLimitChange(trail.logger, "CUST-777", 750_000, 1_000_000);
  await trail.logger.flush();
  entries = trailEntries(trail.logDir);
  viewer = await startTestViewer({ logDir: trail.logDir });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await viewer?.close();
  await trail?.cleanup();
});

describe("viewer page", () => {
  it("loads, shows the newest entries first and the totals in the header", async () => {
    const { page, errors } = await browser.newPage({ width: 1400, height: 900 });
    await openViewer(page, viewer.url);

    const newestFirst = [...entries].reverse();
    const descriptions = await columnTexts(page, "desc");
    expect(descriptions.length).toBe(Math.min(50, entries.length));
    expect(descriptions.slice(0, 5)).toEqual(newestFirst.slice(0, 5).map((entry) => entry.description));
    expect(await pagerTotal(page)).toBe(entries.length);

    await page.waitForFunction(() => /\d/.test(document.getElementById("stat-total")?.textContent ?? ""));
    expect(digits(await page.textContent("#stat-total"))).toBe(entries.length);
    expect(digits(await page.textContent("#stat-failures"))).toBe(entries.filter((entry) => entry.success === false).length);
    expect(digits(await page.textContent("#count-security"))).toBe(trailEntries(trail.logDir, "security").length);
    expect(await page.textContent("#log-dir")).toContain(trail.logDir);

    // Failures are marked, levels carry their colour badge.
    const failures = await page.$$eval("#rows tr.row.is-failure td.c-desc", (cells) => cells.map((cell) => cell.textContent));
    const failedOnPage = newestFirst.slice(0, 50).filter((entry) => entry.success === false);
    expect(failures).toEqual(failedOnPage.map((entry) => entry.description));
    expect(await page.$$eval("#rows .badge", (badges) => badges.map((badge) => (badge as HTMLElement).dataset.level))).toEqual(
      newestFirst.slice(0, 50).map((entry) => entry.level),
    );

    // Paging: the second page continues where the first stopped.
    await page.click("#next");
    await page.waitForFunction(() => (document.getElementById("pager-range")?.textContent ?? "").startsWith("51"));
    expect((await columnTexts(page, "desc"))[0]).toBe(newestFirst[50]?.description);
    await page.click("#prev");
    await page.waitForFunction(() => (document.getElementById("pager-range")?.textContent ?? "").startsWith("1–"));

    // The security tab shows security.jsonl.
    await page.click("#tab-security");
    await waitForTotal(page, trailEntries(trail.logDir, "security").length);
    const levels = new Set(await columnTexts(page, "level"));
    expect([...levels].every((level) => level === "SECURITY" || level === "CRITICAL")).toBe(true);
    expect(seriousErrors(errors)).toEqual([]);
    await page.close();
  });

  it("narrows the table by user, module, level, free text and time range", async () => {
    const { page, errors } = await browser.newPage({ width: 1400, height: 900 });
    await openViewer(page, viewer.url);

    await page.fill("#f-user", "thida");
    const byUser = entries.filter((entry) => entry.user === "thida");
    expect(byUser.length).toBeGreaterThan(0);
    await waitForTotal(page, byUser.length);
    expect(new Set(await columnTexts(page, "user"))).toEqual(new Set(["thida"]));
    await page.fill("#f-user", "");

    await chooseValues(page, "module", ["inventory"]);
    const byModule = entries.filter((entry) => entry.module === "inventory");
    await waitForTotal(page, byModule.length);
    expect(new Set(await columnTexts(page, "module"))).toEqual(new Set(["inventory"]));

    await chooseValues(page, "module", []);
    await chooseValues(page, "level", ["WARNING"]);
    const warnings = entries.filter((entry) => entry.level === "WARNING");
    expect(warnings.length).toBeGreaterThan(0);
    await waitForTotal(page, warnings.length);
    expect(new Set(await columnTexts(page, "level"))).toEqual(new Set(["WARNING"]));

    // Free text on top of the level: only the warnings that mention "voided".
    await page.fill("#f-q", "voided");
    const voided = warnings.filter((entry) => lower(entry.description).includes("voided"));
    expect(voided.length).toBeGreaterThan(0);
    expect(voided.length).toBeLessThan(warnings.length);
    await waitForTotal(page, voided.length);
    for (const text of await columnTexts(page, "desc")) expect(text.toLowerCase()).toContain("voided");

    // Clear brings the whole trail back.
    await page.click("#f-clear");
    await waitForTotal(page, entries.length);

    // A two-hour window in the middle of the day.
    const from = trail.dayStart + 3 * 3600_000;
    const to = trail.dayStart + 5 * 3600_000;
    const fromValue = localInputValue(from);
    const toValue = localInputValue(to);
    const fromMs = new Date(fromValue).getTime();
    const toMs = new Date(toValue).getTime() + 59_999; // "to" covers its whole minute
    const inWindow = entries.filter((entry) => {
      const time = Date.parse(String(entry.timestamp));
      return time >= fromMs && time <= toMs;
    });
    expect(inWindow.length).toBeGreaterThan(0);
    expect(inWindow.length).toBeLessThan(entries.length);
    await page.fill("#f-from", fromValue);
    await page.fill("#f-to", toValue);
    await waitForTotal(page, inWindow.length);
    // The cell's title holds the timestamp as written.
    const shownTimes = await page.$$eval("#rows tr.row td.c-time", (cells) =>
      cells.map((cell) => (cell as HTMLElement).title.split(" (")[0]!),
    );
    for (const time of shownTimes) {
      expect(Date.parse(time)).toBeGreaterThanOrEqual(fromMs);
      expect(Date.parse(time)).toBeLessThanOrEqual(toMs);
    }
    expect(seriousErrors(errors)).toEqual([]);
    await page.close();
  });

  it("shows an entry's fields, full JSON and a before/after table of its change", async () => {
    const { page, errors } = await browser.newPage({ width: 1400, height: 900 });
    await openViewer(page, viewer.url);
    const newest = entries.at(-1) as Entry;
    expect(newest.entity_id).toBe("CUST-777");

    await page.click("#rows tr.row >> nth=0");
    await page.waitForSelector("#detail:not([hidden])");
    expect(await page.textContent("#detail-title")).toBe("Customer credit limit updated");
    expect(JSON.parse((await page.textContent("#detail-json")) ?? "")).toEqual(newest);

    const diff = await page.$$eval("#detail-diff tbody tr", (rows) =>
      rows.map((row) => ({
        key: row.querySelector("th")?.textContent,
        before: row.querySelector("td.before")?.textContent,
        after: row.querySelector("td.after")?.textContent,
        changed: row.classList.contains("is-changed"),
      })),
    );
    expect(diff).toEqual([
      { key: "credit_limit", before: "750,000", after: "1,000,000", changed: true },
      { key: "payment_terms", before: "NET30", after: "NET45", changed: true },
      { key: "risk", before: "low", after: "low", changed: false },
    ]);

    // An entry without a change has no before/after table.
    const plain = [...entries].reverse().findIndex((entry) => !entry.old_values && !entry.new_values);
    await page.click(`#rows tr.row >> nth=${plain}`);
    await page.waitForFunction(() => document.getElementById("detail-diff-section")?.hidden === true);
    await page.keyboard.press("Escape");
    await page.waitForSelector("#detail", { state: "hidden" });
    expect(seriousErrors(errors)).toEqual([]);
    await page.close();
  });

  it("follows an entity's history from its link and lets the filter go again", async () => {
    const { page, errors } = await browser.newPage({ width: 1400, height: 900 });
    await openViewer(page, viewer.url);
    const history = entries.filter((entry) => entry.entity_type === "customer" && entry.entity_id === "CUST-777");
    expect(history.length).toBe(2);

    await page.click("#rows tr.row >> nth=0 >> .entity-link");
    await waitForTotal(page, history.length);
    expect(await page.textContent("#chips")).toContain("History of customer CUST-777");
    expect(new Set(await columnTexts(page, "entity"))).toEqual(new Set(["customerCUST-777"]));

    await page.click("#chips .chip-remove");
    await waitForTotal(page, entries.length);
    expect(await page.textContent("#chips")).toBe("");
    expect(seriousErrors(errors)).toEqual([]);
    await page.close();
  });

  it("exports the entries of the current tab and filters as JSONL and CSV", async () => {
    const { page, errors } = await browser.newPage({ width: 1400, height: 900 });
    await openViewer(page, viewer.url);
    await chooseValues(page, "module", ["inventory"]);
    const inventory = entries.filter((entry) => entry.module === "inventory");
    await waitForTotal(page, inventory.length);

    const [jsonl] = await Promise.all([page.waitForEvent("download"), page.click("#export-jsonl")]);
    expect(jsonl.suggestedFilename()).toMatch(/^audit-.*\.jsonl$/);
    const lines = readFileSync((await jsonl.path()) as string, "utf8")
      .split("\n")
      .filter((line) => line !== "");
    expect(lines.length).toBe(inventory.length);
    expect(new Set(lines.map((line) => JSON.parse(line).module))).toEqual(new Set(["inventory"]));

    const [csv] = await Promise.all([page.waitForEvent("download"), page.click("#export-csv")]);
    expect(csv.suggestedFilename()).toMatch(/^audit-.*\.csv$/);
    const text = readFileSync((await csv.path()) as string, "utf8");
    expect(text.split("\n")[0]).toContain("description");
    for (const entry of inventory) expect(text).toContain(String(entry.description));
    expect(text).not.toContain("Sales invoice posted");
    expect(seriousErrors(errors)).toEqual([]);
    await page.close();
  });

  it("fits a phone: no horizontal overflow, rows as cards, detail over the page", async () => {
    const { page, errors } = await browser.newPage({ width: 390, height: 844 });
    await openViewer(page, viewer.url);
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(await overflow()).toBeLessThanOrEqual(0);
    expect(await page.isVisible("#grid thead")).toBe(false);
    const card = await page.$eval("#rows tr.row", (row) => row.getBoundingClientRect().width);
    expect(card).toBeLessThanOrEqual(390);

    // Search stays in view; the other filters open with the Filters button and still fit.
    expect(await page.isVisible("#f-q")).toBe(true);
    expect(await page.isVisible("#f-user")).toBe(false);
    await page.click("#filters-toggle");
    expect(await page.isVisible("#f-user")).toBe(true);
    await chooseValues(page, "level", ["WARNING"]);
    await waitForTotal(page, entries.filter((entry) => entry.level === "WARNING").length);
    expect(await page.textContent("#filters-toggle")).toBe("Filters (1)");
    expect(await overflow()).toBeLessThanOrEqual(0);
    await chooseValues(page, "level", []);
    await page.click("#filters-toggle");
    await waitForTotal(page, entries.length);

    await page.click("#rows tr.row >> nth=0");
    await page.waitForSelector("#detail:not([hidden])");
    expect(await overflow()).toBeLessThanOrEqual(0);
    const detail = await page.$eval("#detail", (panel) => panel.getBoundingClientRect());
    expect(detail.left).toBeGreaterThanOrEqual(0);
    expect(detail.right).toBeLessThanOrEqual(390);

    mkdirSync(join(ROOT, "test-results"), { recursive: true });
    await page.screenshot({ path: join(ROOT, "test-results", "viewer-phone-detail.png") });
    await page.click("#detail-close");
    await page.screenshot({ path: join(ROOT, "test-results", "viewer-phone.png") });
    expect(seriousErrors(errors)).toEqual([]);
    await page.close();
  });

  it("saves a screenshot at 1400×900 with a change open in the detail panel", async () => {
    const { page, errors } = await browser.newPage({ width: 1400, height: 900 });
    await openViewer(page, viewer.url);
    await page.waitForFunction(
      () => document.getElementById("conn")?.dataset.state === "ws" || document.getElementById("conn")?.dataset.state === "sse",
    );
    await page.click("#rows tr.row >> nth=0");
    await page.waitForSelector("#detail-diff-section:not([hidden])");
    await page.mouse.move(1, 1); // no hover effect in the picture
    // test-results/ on every run; the README's copy in docs/ only when asked (UPDATE_SCREENSHOT=1).
    const folder = process.env.UPDATE_SCREENSHOT === "1" ? "docs" : "test-results";
    mkdirSync(join(ROOT, folder), { recursive: true });
    const image = await page.screenshot({ path: join(ROOT, folder, "viewer-screenshot.png") });
    expect(image.subarray(1, 4).toString()).toBe("PNG");
    expect(seriousErrors(errors)).toEqual([]);
    await page.close();
  });
});
