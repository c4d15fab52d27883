/**
 * The viewer page over the PostgreSQL store, in a real browser (Debian's
 * chromium): every service's entries in one table, the service and host
 * filters (several values, users by part of the name), the time histogram,
 * a total shown as a lower bound ("5+") with paging past it, and an entry
 * shipped from another service arriving live.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditAction, AuditHub, type AuditLogger, BusinessModule, createLogger } from "../src/index.js";
import { Shipper } from "../src/store/Shipper.js";
import { type RunningViewer, startViewer } from "../src/viewer/index.js";
import { type Browser, launchBrowser } from "./support/browser-launch.js";
import { columnTexts, openViewer, pagerTotal, seriousErrors, waitForTotal } from "./support/browser-page.js";
import { tempDir } from "./support/core-trail.js";
import { usePostgres } from "./support/postgres.js";

describe("viewer page over the PostgreSQL store", () => {
  const postgres = usePostgres();
  const salesDir = tempDir("auditx-store-page-sales-");
  const stockDir = tempDir("auditx-store-page-stock-");
  let sales: AuditLogger;
  let stock: AuditLogger;
  let shipper: Shipper;
  let viewer: RunningViewer;
  let capped: RunningViewer;
  let browser: Browser;

  beforeAll(async () => {
    const db = await postgres.database();
    sales = createLogger({ logDir: salesDir.dir, serviceName: "sales-api", hostname: "sales-01", auditLifecycle: false });
    stock = createLogger({ logDir: stockDir.dir, serviceName: "stock-api", hostname: "stock-01", auditLifecycle: false });
    for (let i = 0; i < 30; i++) {
      sales.logTransaction(`Sales invoice SI-${i} posted`, {
        module: BusinessModule.SALES,
        action: AuditAction.POST,
        referenceNo: `SI-${i}`,
        user: "aye",
      });
    }
    for (let i = 0; i < 12; i++) {
      stock.logInventory(`Stock moved ${i}`, { action: AuditAction.TRANSFER, productId: `P-${i}`, quantity: i + 1, user: "zaw" });
    }
    shipper = new Shipper({ postgres: db.url, folders: [salesDir.dir, stockDir.dir], pollIntervalMs: 20 });
    expect(await shipper.drained(60_000)).toBe(true);
    // Hubs of their own: entries this process writes reach the page only through the store.
    viewer = await startViewer({ store: { postgres: db.url }, host: "127.0.0.1", port: 0, hub: new AuditHub(), auditReads: false });
    capped = await startViewer({
      store: { postgres: db.url, countScanRows: 5, exactCountLimit: 5 },
      host: "127.0.0.1",
      port: 0,
      hub: new AuditHub(),
      auditReads: false,
    });
    await Promise.all([viewer.viewer.ready, capped.viewer.ready]);
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await viewer?.close();
    await capped?.close();
    await shipper?.close();
    await sales?.shutdown();
    await stock?.shutdown();
    salesDir.cleanup();
    stockDir.cleanup();
  });

  it("shows every service's entries, and narrows them by service and by host", async () => {
    const { page, errors } = await browser.newPage({ width: 1400, height: 900 });
    await openViewer(page, viewer.url);
    expect(await pagerTotal(page)).toBe(42);
    expect(await page.textContent("#log-dir")).toMatch(/^postgresql:\/\/.*\(schema auditx\)$/);
    expect((await columnTexts(page, "desc"))[0]).toBe("Stock moved 11");

    await page.fill("#f-service", "sales-api");
    await waitForTotal(page, 30);
    expect((await columnTexts(page, "desc")).every((text) => text.startsWith("Sales invoice"))).toBe(true);
    await page.fill("#f-service", "");
    await page.fill("#f-hostname", "stock-01");
    await waitForTotal(page, 12);
    expect(await columnTexts(page, "desc")).toEqual(Array.from({ length: 12 }, (_, i) => `Stock moved ${11 - i}`));
    expect(seriousErrors(errors)).toEqual([]);
  });

  it("takes several services at once, users by part of the name, and draws the store's entries over time", async () => {
    const { page, errors } = await browser.newPage({ width: 1400, height: 900 });
    await openViewer(page, viewer.url);
    await page.waitForSelector("#histogram-bars .hbar");
    expect(await page.textContent("#histogram-title")).toContain("42 entries");
    await page.fill("#f-service", "sales-api, stock-api");
    await waitForTotal(page, 42);
    await page.fill("#f-service", "");
    // Part of a user's name: "ay" is in "aye", not in "zaw".
    await page.fill("#f-user", "ay");
    await waitForTotal(page, 30);
    await page.waitForFunction(() => (document.getElementById("histogram-title")?.textContent ?? "").includes("30 entries"), undefined, {
      timeout: 15_000,
    });
    expect(new URL(page.url()).searchParams.get("user")).toBe("ay");
    expect(seriousErrors(errors)).toEqual([]);
  });

  it("shows a total past the store's counting limit as a lower bound", async () => {
    const { page, errors } = await browser.newPage({ width: 1400, height: 900 });
    await openViewer(page, capped.url);
    // Two filters at once are counted on rows, here only up to 5 (the narrowest has more than 5 entries): the
    // page says "at least", and what it holds.
    await page.fill("#f-service", "sales-api");
    await page.fill("#f-user", "aye");
    await page.waitForFunction(() => /of 30\+$/.test((document.getElementById("pager-range")?.textContent ?? "").trim()), undefined, {
      timeout: 15_000,
    });
    expect(await columnTexts(page, "desc")).toHaveLength(30);
    expect(await page.isDisabled("#next")).toBe(true);
    expect(seriousErrors(errors)).toEqual([]);
  });

  it("adds an entry another service writes, live, once the shipper stores it", async () => {
    const { page, errors } = await browser.newPage({ width: 1400, height: 900 });
    await openViewer(page, viewer.url);
    await page.waitForFunction(() => document.getElementById("conn")?.dataset.state === "ws", undefined, { timeout: 15_000 });
    stock.logSecurity("User login failed", { action: AuditAction.LOGIN, user: "mallory", success: false });
    await page.waitForFunction(
      () => (document.querySelector("#rows tr.row td.c-desc")?.textContent ?? "").trim() === "User login failed",
      undefined,
      {
        timeout: 30_000,
      },
    );
    expect(await pagerTotal(page)).toBe(43);
    expect(seriousErrors(errors)).toEqual([]);
  });
});
