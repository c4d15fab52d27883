/**
 * A viewer started with an API key, in the browser: opened without the key
 * (or with a wrong one) the page gets 401; opened once with ?api_key=
 * it loads, goes live, and takes the key out of the address bar.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Browser, launchBrowser } from "./support/browser-launch.js";
import { openViewer, pagerTotal, trailEntries } from "./support/browser-page.js";
import { type TestTrail, writeTestTrail } from "./support/browser-trail.js";
import { startTestViewer, type TestViewer } from "./support/browser-viewer.js";

const KEY = "k3y-for-the-browser-test";

let trail: TestTrail;
let viewer: TestViewer;
let browser: Browser;

beforeAll(async () => {
  trail = await writeTestTrail({ day: 20, walkthrough: false });
  viewer = await startTestViewer({ logDir: trail.logDir, apiKey: KEY });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await viewer?.close();
  await trail?.cleanup();
});

describe("API key in the browser", () => {
  it("answers 401 without the key, and the page shows no entries", async () => {
    const { page } = await browser.newPage({ width: 1400, height: 900 });
    const response = await page.goto(viewer.url);
    expect(response?.status()).toBe(401);
    const api = await page.evaluate(async () => (await fetch("api/entries")).status);
    expect(api).toBe(401);
    expect(await page.$$eval("#rows tr.row", (rows) => rows.length)).toBe(0);

    // A wrong key is refused the same way.
    const wrong = await page.goto(`${viewer.url}?api_key=not-the-key`);
    expect(wrong?.status()).toBe(401);
    expect(await page.$$eval("#rows tr.row", (rows) => rows.length)).toBe(0);
    await page.close();
  });

  it("says so, and stops trying, when the server closes its WebSocket with 4401 (a key no longer valid)", async () => {
    const { page } = await browser.newPage({ width: 1400, height: 900 });
    let attempts = 0;
    await page.routeWebSocket(/\/api\/ws/, (socket) => {
      attempts++;
      socket.close({ code: 4401, reason: "a valid API key is required" });
    });
    await openViewer(page, `${viewer.url}?api_key=${encodeURIComponent(KEY)}`);
    await page.waitForFunction(() => document.getElementById("conn-label")?.textContent === "not authorised", undefined, {
      timeout: 15_000,
    });
    expect(await page.textContent("#banner")).toContain("Not authorised for live entries");
    await page.waitForTimeout(2500); // a retry would come within this
    expect(attempts).toBe(1);
    await page.close();
  });

  it("loads with ?api_key=, goes live and removes the key from the address", async () => {
    const { page } = await browser.newPage({ width: 1400, height: 900 });
    await openViewer(page, `${viewer.url}?api_key=${encodeURIComponent(KEY)}`);
    expect(await pagerTotal(page)).toBe(trailEntries(trail.logDir).length);
    expect(page.url()).not.toContain("api_key");
    expect(page.url()).not.toContain(KEY);
    await page.waitForFunction(() => ["ws", "sse"].includes(document.getElementById("conn")?.dataset.state ?? ""), undefined, {
      timeout: 15_000,
    });

    // After a reload without the key in the URL, the cookie the server set keeps the page authorised.
    await page.reload();
    await page.waitForSelector("#rows tr.row");
    expect(await page.isVisible("#banner")).toBe(false);
    await page.close();
  });
});
