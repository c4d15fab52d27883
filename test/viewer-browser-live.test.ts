/**
 * Live entries in the page: a row written by another process appears without
 * a reload, highlighted, and the header counts it; the connection indicator
 * tells WebSocket from SSE from offline, and the page falls back to SSE when
 * the WebSocket goes away.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Browser, launchBrowser } from "./support/browser-launch.js";
import { chooseValues, columnTexts, openViewer, pagerTotal, seriousErrors, trailEntries, waitForTotal } from "./support/browser-page.js";
import { type TestTrail, writeTestTrail } from "./support/browser-trail.js";
import { startTestViewer, type TestViewer } from "./support/browser-viewer.js";
import { writeFromAnotherProcess } from "./support/browser-writer.js";

let trail: TestTrail;
let viewer: TestViewer;
let browser: Browser;

beforeAll(async () => {
  trail = await writeTestTrail({ day: 40, walkthrough: false });
  viewer = await startTestViewer({ logDir: trail.logDir });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await viewer?.close();
  await trail?.cleanup();
});

const connectionState = (page: import("playwright-core").Page) => page.$eval("#conn", (node) => (node as HTMLElement).dataset.state);

describe("live entries", () => {
  it("shows a row written by another process at the top, highlighted, and counts it", async () => {
    const { page, errors } = await browser.newPage({ width: 1400, height: 900 });
    await openViewer(page, viewer.url);
    await page.waitForFunction(() => document.getElementById("conn")?.dataset.state === "ws", undefined, { timeout: 15_000 });
    expect(await page.textContent("#conn-label")).toBe("live · WebSocket");
    const before = trailEntries(trail.logDir).length;
    expect(await pagerTotal(page)).toBe(before);
    const pageMarker = await page.evaluate(() => {
      (window as unknown as { __notReloaded: boolean }).__notReloaded = true;
      return true;
    });

    await writeFromAnotherProcess(trail.logDir, [
      {
        method: "logTransaction",
        description: "Refund issued at the Mandalay counter",
        options: { module: "accounting", action: "REFUND", user: "thida", branchId: "BR-MDY", referenceNo: "RF-2026-0007", amount: 45_000 },
      },
    ]);

    const row = page.locator("#rows tr.row", { hasText: "Refund issued at the Mandalay counter" });
    await row.waitFor({ timeout: 15_000 });
    expect(await row.evaluate((node) => node.classList.contains("is-new"))).toBe(true);
    expect((await columnTexts(page, "desc"))[0]).toBe("Refund issued at the Mandalay counter");
    expect((await columnTexts(page, "ref"))[0]).toBe("RF-2026-0007");
    await waitForTotal(page, before + 1);
    await page.waitForFunction(
      (total) => Number((document.getElementById("stat-total")?.textContent ?? "").replace(/\D/g, "")) === total,
      before + 1,
    );
    expect(await page.evaluate(() => (window as unknown as { __notReloaded?: boolean }).__notReloaded)).toBe(pageMarker);
    // The highlight fades: it marks arrival, not the row for ever.
    await page.waitForFunction(() => !document.querySelector("#rows tr.row.is-new"), undefined, { timeout: 10_000 });
    expect(seriousErrors(errors)).toEqual([]);
    await page.close();
  });

  it("adds a live entry only where it belongs: the right tab and the current filters", async () => {
    const { page, errors } = await browser.newPage({ width: 1400, height: 900 });
    await openViewer(page, viewer.url);
    await page.waitForFunction(() => document.getElementById("conn")?.dataset.state === "ws", undefined, { timeout: 15_000 });
    await chooseValues(page, "module", ["hr"]);
    const hrBefore = trailEntries(trail.logDir).filter((entry) => entry.module === "hr").length;
    await waitForTotal(page, hrBefore);

    await writeFromAnotherProcess(trail.logDir, [
      { method: "log", description: "Stock count posted (not HR)", options: { module: "inventory", action: "ADJUST" } },
      { method: "log", description: "Payroll approved", options: { module: "hr", action: "APPROVE", user: "nilar" } },
    ]);
    await page.locator("#rows tr.row", { hasText: "Payroll approved" }).waitFor({ timeout: 15_000 });
    await waitForTotal(page, hrBefore + 1);
    expect(await columnTexts(page, "desc")).not.toContain("Stock count posted (not HR)");
    expect(new Set(await columnTexts(page, "module"))).toEqual(new Set(["hr"]));
    expect(seriousErrors(errors)).toEqual([]);
    await page.close();
  });

  it("narrows live entries by free text in their values, as the server does, not in field names", async () => {
    const { page, errors } = await browser.newPage({ width: 1400, height: 900 });
    await openViewer(page, viewer.url);
    await page.waitForFunction(() => document.getElementById("conn")?.dataset.state === "ws", undefined, { timeout: 15_000 });
    const valuesMention = (value: unknown): boolean =>
      value !== null && typeof value === "object"
        ? Object.values(value as Record<string, unknown>).some(valuesMention)
        : JSON.stringify(value).toLowerCase().includes("amount");
    await page.fill("#f-q", "Amount");
    const before = trailEntries(trail.logDir).filter(valuesMention).length;
    await waitForTotal(page, before);

    await writeFromAnotherProcess(trail.logDir, [
      // Has an amount field, but no value says "amount".
      { method: "logTransaction", description: "Cash sale posted", options: { module: "sales", action: "POST", amount: 12_500 } },
      { method: "log", description: "Credit amount corrected", options: { module: "accounting", action: "UPDATE" } },
    ]);
    await page.locator("#rows tr.row", { hasText: "Credit amount corrected" }).waitFor({ timeout: 15_000 });
    await waitForTotal(page, before + 1);
    expect(await columnTexts(page, "desc")).not.toContain("Cash sale posted");
    expect(seriousErrors(errors)).toEqual([]);
    await page.close();
  });

  it("falls back to SSE when the WebSocket is gone and still receives entries", async () => {
    const { page, errors } = await browser.newPage({ width: 1400, height: 900 });
    // The page's WebSocket is answered by the test and closed at once, as a proxy without WebSocket support would.
    await page.routeWebSocket(/\/api\/ws/, (socket) => {
      socket.close();
    });
    await openViewer(page, viewer.url);
    await page.waitForFunction(() => document.getElementById("conn")?.dataset.state === "sse", undefined, { timeout: 15_000 });
    expect(await page.textContent("#conn-label")).toBe("live · SSE");

    const before = await pagerTotal(page);
    await writeFromAnotherProcess(trail.logDir, [
      // A failed login: a security event (a successful one is AUDIT, as in the original).
      { method: "logSecurity", description: "Login failed over SSE", options: { action: "LOGIN", user: "su.su", success: false } },
    ]);
    await page.locator("#rows tr.row", { hasText: "Login failed over SSE" }).waitFor({ timeout: 15_000 });
    await waitForTotal(page, before + 1);
    expect(await connectionState(page)).toBe("sse");
    // The stream is the audit trail's; the Security tab's count follows from the statistics moments later.
    await page.waitForFunction(() => Number((document.getElementById("count-security")?.textContent ?? "").replace(/\D/g, "")) > 0);
    expect(seriousErrors(errors)).toEqual([]);
    await page.close();
  });

  it("takes a burst of entries from another process: the newest fill the first page, every one is counted", async () => {
    const { page, errors } = await browser.newPage({ width: 1400, height: 900 });
    await openViewer(page, viewer.url);
    await page.waitForFunction(() => document.getElementById("conn")?.dataset.state === "ws", undefined, { timeout: 15_000 });
    const before = await pagerTotal(page);
    const burst = Array.from({ length: 400 }, (_, i) => ({
      method: "log" as const,
      description: `Barcode scan ${String(i).padStart(3, "0")}`,
      options: { module: "inventory", action: "READ", user: "su.su" },
    }));
    await writeFromAnotherProcess(trail.logDir, burst);
    await waitForTotal(page, before + burst.length);
    const shown = await columnTexts(page, "desc");
    expect(shown.length).toBe(50);
    expect(shown).toEqual(
      burst
        .slice(-50)
        .reverse()
        .map((entry) => entry.description),
    );
    await page.waitForFunction(
      (total) => Number((document.getElementById("stat-total")?.textContent ?? "").replace(/\D/g, "")) === total,
      before + burst.length,
    );
    expect(seriousErrors(errors)).toEqual([]);
    await page.close();
  });

  it("on a later page, counts new entries in a bar that leads back to the top", async () => {
    const { page, errors } = await browser.newPage({ width: 1400, height: 900 });
    await openViewer(page, viewer.url);
    await page.waitForFunction(() => document.getElementById("conn")?.dataset.state === "ws", undefined, { timeout: 15_000 });
    await page.selectOption("#page-size", "25");
    await page.click("#next");
    await page.waitForFunction(() => (document.getElementById("pager-range")?.textContent ?? "").startsWith("26"));
    const secondPage = await columnTexts(page, "desc");

    await writeFromAnotherProcess(trail.logDir, [
      { method: "log", description: "Price list imported", options: { module: "sales", action: "IMPORT" } },
      { method: "log", description: "Price list approved", options: { module: "sales", action: "APPROVE" } },
    ]);
    await page.waitForFunction(() => (document.getElementById("newbar-btn")?.textContent ?? "").startsWith("2 new entries"), undefined, {
      timeout: 15_000,
    });
    expect(await columnTexts(page, "desc")).toEqual(secondPage); // the page being read does not move
    await page.click("#newbar-btn");
    await page.waitForFunction(() => (document.getElementById("pager-range")?.textContent ?? "").startsWith("1–"));
    expect((await columnTexts(page, "desc")).slice(0, 2)).toEqual(["Price list approved", "Price list imported"]);
    expect(await page.isVisible("#newbar")).toBe(false);
    expect(seriousErrors(errors)).toEqual([]);
    await page.close();
  });

  it("says offline when the server goes away, and catches up on what was written meanwhile when it is back", async () => {
    let spare: TestViewer | null = await startTestViewer({ logDir: trail.logDir });
    const port = Number(new URL(spare.url).port);
    const { page } = await browser.newPage({ width: 1400, height: 900 });
    try {
      await openViewer(page, spare.url);
      await page.waitForFunction(() => document.getElementById("conn")?.dataset.state === "ws", undefined, { timeout: 15_000 });
      await spare.close();
      spare = null;
      await page.waitForFunction(() => document.getElementById("conn")?.dataset.state === "offline", undefined, { timeout: 15_000 });
      expect(await page.textContent("#conn-label")).toBe("offline");

      await writeFromAnotherProcess(trail.logDir, [
        { method: "log", description: "Written while the viewer was down", options: { module: "system" } },
      ]);
      spare = await startTestViewer({ logDir: trail.logDir, port });
      await page.waitForFunction(() => document.getElementById("conn")?.dataset.state === "ws", undefined, { timeout: 30_000 });
      await page.locator("#rows tr.row", { hasText: "Written while the viewer was down" }).waitFor({ timeout: 15_000 });
      await waitForTotal(page, trailEntries(trail.logDir).length);
    } finally {
      await page.close();
      await spare?.close();
    }
  });
});
