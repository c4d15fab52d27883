/**
 * The viewer as an auditor works in it, in Chromium at 1400 px and at 390 px:
 * the address holds the view (shareable, back and forward), permalinks open
 * one entry, the histogram narrows the time range, times follow the chosen
 * zone everywhere, IP and multi-value filters, a user's timeline, an entity's
 * versions, statistics per tab, refresh, a coherent Result column, nothing cut
 * off, and a detail panel that hides no column and follows the list.
 * UPDATE_SCREENSHOT=1 refreshes the pictures in docs/.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditAction, BusinessModule, entryIdOf } from "../src/index.js";
import { type Browser, launchBrowser } from "./support/browser-launch.js";
import {
  addressOf,
  chooseValues,
  columnTexts,
  digits,
  type Entry,
  openViewer,
  pagerTotal,
  seriousErrors,
  trailEntries,
  waitForTotal,
} from "./support/browser-page.js";
import { ROOT, type TestTrail, writeTestTrail } from "./support/browser-trail.js";
import { startTestViewer, type TestViewer } from "./support/browser-viewer.js";
import { writeFromAnotherProcess } from "./support/browser-writer.js";
import { appendTrail } from "./support/viewer-server.js";

const WIDE = { width: 1400, height: 900 };
const PHONE = { width: 390, height: 844 };
/** The browser's own zone: neither UTC nor the +09:00 the legacy lines were written in. */
const BROWSER_ZONE = "Asia/Yangon";

/** Lines as another writer (the Python original) leaves them: no id, its own offset, every standard value. */
const LEGACY: Entry[] = [
  {
    timestamp: "2026-03-10T08:15:00.123456+09:00",
    level: "CRITICAL",
    module: "accounting",
    action: "TRANSFER",
    description: "Legacy Tokyo entry",
    user: "tanaka",
    branch_id: "BR-TYO",
    ip: "172.16.5.9",
    status: 200,
    success: false,
  },
  {
    timestamp: "2026-03-10T09:00:00+09:00",
    level: "SECURITY",
    module: "reporting",
    action: "EXPORT",
    description: "Legacy export refused",
    user: "tanaka",
    branch_id: "BR-TYO",
    ip: "172.16.5.9",
    status: 403,
    success: false,
  },
  {
    timestamp: "2026-03-10T09:30:00+09:00",
    level: "WARNING",
    module: "inventory",
    action: "ADJUST",
    description: "Legacy stock adjusted",
    user: "tanaka",
    branch_id: "BR-TYO",
    success: true,
  },
  {
    timestamp: "2026-03-10T10:00:00+09:00",
    level: "AUDIT",
    module: "purchase",
    action: "APPROVE",
    description: "Legacy order approved",
    user: "tanaka",
    branch_id: "BR-TYO",
    status: 200,
    success: true,
  },
];
const legacyId = (entry: Entry) => entryIdOf(entry, JSON.stringify(entry));

let trail: TestTrail;
let viewer: TestViewer;
let browser: Browser;
let entries: Entry[];

function writeCustomerVersions(trail: TestTrail): void {
  const change = (description: string, action: AuditAction, oldValues: object | undefined, newValues: object) =>
    trail.logger.logChange(description, {
      module: BusinessModule.CRM,
      action,
      user: "may.phyu",
      branchId: "BR-YGN",
      entityType: "customer",
      entityId: "CUST-900",
      ...(oldValues ? { oldValues } : {}),
      newValues,
    });
  change("Customer created", AuditAction.CREATE, undefined, { credit_limit: 500_000, payment_terms: "NET30", risk: "low" });
  change("Customer credit limit raised", AuditAction.UPDATE, { credit_limit: 500_000 }, { credit_limit: 750_000 });
  change(
    "Customer terms changed",
    AuditAction.UPDATE,
    { credit_limit: 750_000, payment_terms: "NET30" },
    { credit_limit: 1_000_000, payment_terms: "NET45" },
  );
  // Claims a before the trail never had: a change made outside the application.
  change("Customer credit limit raised again", AuditAction.UPDATE, { credit_limit: 900_000 }, { credit_limit: 1_200_000 });
}

beforeAll(async () => {
  trail = await writeTestTrail({ day: 160 });
  writeCustomerVersions(trail);
  await trail.logger.flush();
  appendTrail(join(trail.logDir, "audit.jsonl"), LEGACY);
  appendTrail(
    join(trail.logDir, "security.jsonl"),
    LEGACY.filter((entry) => entry.level === "SECURITY" || entry.level === "CRITICAL"),
  );
  entries = trailEntries(trail.logDir);
  viewer = await startTestViewer({ logDir: trail.logDir });
  browser = await launchBrowser({ timezoneId: BROWSER_ZONE });
  await browser.context.grantPermissions(["clipboard-read", "clipboard-write"]);
});

afterAll(async () => {
  await browser?.close();
  await viewer?.close();
  await trail?.cleanup();
});

const lower = (value: unknown) => String(value ?? "").toLowerCase();
const phone = (viewport: { width: number }) => viewport.width < 700;

/** On a phone the filters fold behind a button. */
async function openFilters(page: Page): Promise<void> {
  if (await page.isVisible("#filters-toggle")) {
    if ((await page.getAttribute("#filters-toggle", "aria-expanded")) !== "true") await page.click("#filters-toggle");
  }
}

async function openFirstRow(page: Page): Promise<void> {
  await page.click("#rows tr.row >> nth=0 >> td.c-desc");
  await page.waitForSelector("#detail:not([hidden])");
}

for (const viewport of [WIDE, PHONE]) {
  describe(`viewer for an auditor at ${viewport.width} px`, () => {
    it("keeps every filter and the open entry in the address: back and forward step through them, a copied link opens the same view", async () => {
      const { page, errors } = await browser.newPage(viewport);
      await openViewer(page, viewer.url);
      await openFilters(page);
      await page.fill("#f-user", "aung");
      const byUser = entries.filter((e) => lower(e.user).includes("aung"));
      await waitForTotal(page, byUser.length);
      expect(new Set(byUser.map((e) => e.user))).toEqual(new Set(["aung.min", "htet.aung"]));
      // Two of their modules, and the office network of most of those entries.
      const count = (values: unknown[]) => [
        ...values.reduce<Map<string, number>>((m, v) => m.set(String(v), (m.get(String(v)) ?? 0) + 1), new Map()),
      ];
      const modules = count(byUser.map((e) => e.module))
        .sort((a, b) => b[1] - a[1])
        .slice(0, 2)
        .map(([module]) => module);
      expect(modules).toHaveLength(2);
      await chooseValues(page, "module", modules);
      const byModule = byUser.filter((e) => modules.includes(String(e.module)));
      await waitForTotal(page, byModule.length);
      const network = count(byModule.map((e) => String(e.ip).split(".").slice(0, 3).join("."))).sort((a, b) => b[1] - a[1])[0]![0];
      const block = `${network}.0/24`;
      await page.fill("#f-ip", block);
      const byIp = byModule.filter((e) => String(e.ip).startsWith(`${network}.`));
      expect(byIp.length).toBeGreaterThan(0);
      expect(byIp.length).toBeLessThan(byModule.length + 1);
      await waitForTotal(page, byIp.length);
      expect(addressOf(page).get("user")).toBe("aung");
      expect(new Set(addressOf(page).get("module")!.split(","))).toEqual(new Set(modules));
      expect(addressOf(page).get("ip")).toBe(block);
      const moduleLabel = addressOf(page).get("module")!.split(",").join(", ");

      await openFirstRow(page);
      const openId = addressOf(page).get("entry");
      expect(openId).toBe([...byIp].reverse()[0]!.id);

      // Back: the entry closes; back again: the IP filter goes, the form with it.
      await page.goBack();
      await page.waitForSelector("#detail", { state: "hidden" });
      expect(addressOf(page).get("entry")).toBeNull();
      await page.goBack();
      await waitForTotal(page, byModule.length);
      expect(await page.inputValue("#f-ip")).toBe("");
      expect(await page.textContent("#f-module-button")).toBe(moduleLabel);
      // Forward twice: the filter and the open entry are back.
      await page.goForward();
      await waitForTotal(page, byIp.length);
      expect(await page.inputValue("#f-ip")).toBe(block);
      await page.goForward();
      await page.waitForSelector("#detail:not([hidden])");
      expect(JSON.parse((await page.textContent("#detail-json")) ?? "{}").id).toBe(openId);

      // The address is the link: another tab opens the same view.
      const shared = await browser.newPage(viewport);
      await openViewer(shared.page, page.url());
      await waitForTotal(shared.page, byIp.length);
      await shared.page.waitForSelector("#detail:not([hidden])");
      expect(JSON.parse((await shared.page.textContent("#detail-json")) ?? "{}").id).toBe(openId);
      expect(await shared.page.inputValue("#f-user")).toBe("aung");
      expect(seriousErrors([...errors, ...shared.errors])).toEqual([]);
      await shared.page.close();
      await page.close();
    });

    it("opens one entry from its permalink, far from the first page or written without an id, and closes it when the list drops it", async () => {
      const { page, errors } = await browser.newPage(viewport);
      const old = entries[7]!;
      await openViewer(page, `${viewer.url}?entry=${old.id}`);
      await page.waitForSelector("#detail:not([hidden])");
      expect(await page.textContent("#detail-title")).toBe(old.description);
      expect(JSON.parse((await page.textContent("#detail-json")) ?? "{}")).toEqual(old);
      await page.click("#detail-link");
      await page.waitForFunction(() => document.getElementById("detail-link")?.textContent === "Link copied");
      const copied = new URL(await page.evaluate(() => navigator.clipboard.readText()));
      expect(copied.searchParams.get("entry")).toBe(old.id);

      // A line of the Python original: its derived id.
      const legacy = LEGACY[1]!;
      const derived = legacyId(legacy);
      await page.goto(`${viewer.url}?entry=${derived}`);
      await page.waitForSelector("#detail:not([hidden])");
      expect(JSON.parse((await page.textContent("#detail-json")) ?? "{}")).toEqual({ ...legacy, id: derived });

      // The list changes and no longer holds the entry: the panel closes, the address lets it go.
      // (On a phone the panel covers the page: the filters are out of reach while it is open.)
      if (!phone(viewport)) {
        await chooseValues(page, "level", ["INFO"]);
        await page.waitForSelector("#detail", { state: "hidden" });
        expect(addressOf(page).get("entry")).toBeNull();
      }
      expect(seriousErrors(errors)).toEqual([]);
      await page.close();
    });

    it("draws the filter's entries over time, and narrows the time range by a click or a drag on the bars", async () => {
      const { page, errors } = await browser.newPage(viewport);
      // Today's business day only: the legacy lines of March would stretch the axis.
      const dayOnly = entries.filter((e) => Date.parse(String(e.timestamp)) >= trail.dayStart - 3600_000);
      const from = new Date(trail.dayStart - 3600_000).toISOString();
      await openViewer(page, `${viewer.url}?from=${from}`);
      await waitForTotal(page, dayOnly.length);
      await page.waitForSelector("#histogram-bars .hbar");
      const bars = () =>
        page.$$eval("#histogram-bars .hbar", (nodes) =>
          nodes.map((node) => Number(/: ([\d,]+) entr/.exec(node.getAttribute("aria-label") ?? "")?.[1]?.replace(/,/g, "") ?? -1)),
        );
      const counts = await bars();
      expect(counts.reduce((a, b) => a + b, 0)).toBe(dayOnly.length);
      expect(await page.textContent("#histogram-title")).toContain(`${dayOnly.length} entries`);

      // A click on the fullest bar: the table shows its entries only.
      const fullest = counts.indexOf(Math.max(...counts));
      await page.click(`#histogram-bars .hbar >> nth=${fullest}`);
      await waitForTotal(page, counts[fullest]!);
      expect(addressOf(page).get("from")).not.toBe(from);
      expect(await page.textContent("#chips")).toContain("Time");
      await page.click("#histogram-reset");
      await waitForTotal(page, entries.length);

      // A drag across three bars of the day.
      await page.goBack();
      await page.goBack();
      await waitForTotal(page, dayOnly.length);
      await page.waitForSelector("#histogram-bars .hbar");
      const first = await page.locator("#histogram-bars .hbar").nth(2).boundingBox();
      const third = await page.locator("#histogram-bars .hbar").nth(4).boundingBox();
      await page.mouse.move(first!.x + first!.width / 2, first!.y + first!.height / 2);
      await page.mouse.down();
      await page.mouse.move(third!.x + third!.width / 2, third!.y + third!.height / 2, { steps: 4 });
      await page.mouse.up();
      await waitForTotal(page, counts[2]! + counts[3]! + counts[4]!);
      const times = await page.$$eval("#rows tr.row td.c-time", (cells) => cells.map((cell) => (cell as HTMLElement).title.split(" (")[0]));
      const [low, high] = [Date.parse(addressOf(page).get("from")!), Date.parse(addressOf(page).get("to")!)];
      for (const time of times) {
        expect(Date.parse(time!)).toBeGreaterThanOrEqual(low);
        expect(Date.parse(time!)).toBeLessThanOrEqual(high);
      }
      expect(seriousErrors(errors)).toEqual([]);
      await page.close();
    });

    it("shows every time as written, in the browser's zone or in UTC: table, detail, header, histogram and date inputs", async () => {
      const { page, errors } = await browser.newPage(viewport);
      await openViewer(page, `${viewer.url}?q=Legacy%20Tokyo&tz=written`);
      await waitForTotal(page, 1);
      const timeCell = () => page.textContent("#rows tr.row >> nth=0 >> td.c-time");
      expect(await timeCell()).toBe("2026-03-10 08:15:00");
      await page.selectOption("#tz", "utc");
      await page.waitForFunction(() => document.querySelector("#rows td.c-time")?.textContent === "2026-03-09 23:15:00");
      expect(addressOf(page).get("tz")).toBe("utc");
      expect(await page.textContent("#histogram-axis")).toContain("2026-03-09 23:");
      await page.selectOption("#tz", "local");
      // Asia/Yangon is UTC+06:30.
      await page.waitForFunction(() => document.querySelector("#rows td.c-time")?.textContent === "2026-03-10 05:45:00");
      if (!phone(viewport)) {
        expect(await page.textContent("#th-time")).toBe("Time local");
        expect(await page.getAttribute("#th-time", "title")).toBe("Times local, UTC+06:30");
      }
      await openFirstRow(page);
      expect(await page.textContent("#detail-fields .f-timestamp")).toContain("2026-03-10 05:45:00");
      expect(await page.textContent("#detail-fields .f-timestamp")).toContain("2026-03-10T08:15:00.123456+09:00");
      await page.click("#detail-close");

      // Date inputs are in the zone too: 05:45 in Yangon is the Tokyo entry's minute.
      await openFilters(page);
      await page.fill("#f-q", "Legacy");
      await waitForTotal(page, LEGACY.length);
      await page.fill("#f-from", "2026-03-10T05:45");
      await page.fill("#f-to", "2026-03-10T05:45");
      await waitForTotal(page, 1);
      expect(Date.parse(addressOf(page).get("from")!)).toBe(Date.parse("2026-03-09T23:15:00Z"));
      // Shown in UTC, the same bounds read 23:15 the day before.
      await page.selectOption("#tz", "utc");
      await page.waitForFunction(() => (document.getElementById("f-from") as HTMLInputElement).value.startsWith("2026-03-09T23:15"));
      expect(await pagerTotal(page)).toBe(1);

      // The header's latest entry follows the zone.
      await page.click("#f-clear");
      await waitForTotal(page, entries.length);
      const latest = [...entries].sort((a, b) => Date.parse(String(b.timestamp)) - Date.parse(String(a.timestamp)))[0]!;
      const latestUtc = new Date(Date.parse(String(latest.timestamp))).toISOString().replace("T", " ").slice(0, 19);
      await page.waitForFunction((text) => document.getElementById("stat-latest")?.textContent === text, latestUtc);
      expect(seriousErrors(errors)).toEqual([]);
      await page.close();
    });

    it("filters by IP (address, block, or a click in the detail) and by several values per field", async () => {
      const { page, errors } = await browser.newPage(viewport);
      await openViewer(page, viewer.url);
      await openFilters(page);
      await page.fill("#f-ip", "10.30");
      await page.waitForSelector("#f-ip[aria-invalid]");
      expect(await pagerTotal(page)).toBe(entries.length);
      await page.fill("#f-ip", "10.30.1.0/24, 172.16.5.9");
      const byIp = entries.filter((e) => String(e.ip).startsWith("10.30.1.") || e.ip === "172.16.5.9");
      await waitForTotal(page, byIp.length);
      await page.fill("#f-ip", "");
      await waitForTotal(page, entries.length);

      await chooseValues(page, "level", ["WARNING", "CRITICAL"]);
      const byLevel = entries.filter((e) => e.level === "WARNING" || e.level === "CRITICAL");
      await waitForTotal(page, byLevel.length);
      expect(new Set(await columnTexts(page, "level"))).toEqual(new Set(byLevel.map((e) => String(e.level))));
      await page.fill("#f-user", "thida, nilar");
      const byUsers = byLevel.filter((e) => e.user === "thida" || e.user === "nilar");
      await waitForTotal(page, byUsers.length);
      await page.fill("#f-user", "");
      await chooseValues(page, "level", []);
      await page.fill("#f-branch", "br-mdy");
      await waitForTotal(page, entries.filter((e) => e.branch_id === "BR-MDY").length);
      await page.check("#f-branch-exact");
      await waitForTotal(page, 0);
      await page.uncheck("#f-branch-exact");
      await page.fill("#f-branch", "");
      await waitForTotal(page, entries.length);

      // The address in the detail panel filters by it.
      const withIp = [...entries].reverse().find((e) => e.ip && e.id)!;
      await page.click(`#rows tr.row[data-id="${withIp.id}"] td.c-desc`);
      await page.waitForSelector("#detail:not([hidden])");
      const ip = String(withIp.ip);
      await page.click("#detail-fields .ip-link");
      await waitForTotal(page, entries.filter((e) => e.ip === ip).length);
      expect(await page.inputValue("#f-ip")).toBe(ip);
      expect(seriousErrors(errors)).toEqual([]);
      await page.close();
    });

    it("opens a user's activity timeline from a click on the user, grouped by day", async () => {
      const { page, errors } = await browser.newPage(viewport);
      await openViewer(page, viewer.url);
      const user = "su.su";
      const mine = entries.filter((e) => e.user === user).reverse();
      if (phone(viewport)) {
        // Cards have no user column: the detail panel's user opens the timeline.
        await page.click(`#rows tr.row:has-text("${user}") >> nth=0 >> td.c-desc`);
        await page.click("#detail-fields .user-link");
      } else {
        await page.click(`#rows .user-link:text-is("${user}") >> nth=0`);
      }
      await page.waitForSelector("#timeline:not([hidden]) .tl-item");
      await waitForTotal(page, mine.length);
      expect(await page.isVisible("#grid")).toBe(false);
      expect(await page.textContent("#chips")).toContain(`Activity of ${user}`);
      expect(addressOf(page).get("view")).toBe("timeline");
      expect(addressOf(page).get("user_match")).toBe("exact");
      const shown = await page.$$eval("#timeline .tl-item .tl-desc", (nodes) => nodes.map((node) => node.textContent));
      expect(shown).toEqual(mine.slice(0, 50).map((e) => e.description));
      const days = await page.$$eval("#timeline .tl-day > h3", (nodes) => nodes.map((node) => node.textContent));
      expect(days.length).toBeGreaterThan(0);
      for (const day of days) expect(day).toMatch(/^\d{4}-\d{2}-\d{2}$/);

      await page.click("#chips .chip-remove");
      await waitForTotal(page, entries.length);
      expect(await page.isVisible("#timeline")).toBe(false);
      expect(seriousErrors(errors)).toEqual([]);
      await page.close();
    });

    it("shows an entity's history as versions: what each entry changed from the one before, and a change the trail does not explain", async () => {
      const { page, errors } = await browser.newPage(viewport);
      await openViewer(page, viewer.url);
      const history = entries.filter((e) => e.entity_id === "CUST-900");
      expect(history).toHaveLength(4);
      await page.click(`#rows tr.row:has-text("Customer credit limit raised again") >> nth=0 >> .entity-link`);
      await waitForTotal(page, 4);
      expect(await page.textContent("#chips")).toContain("History of customer CUST-900");
      const changes = await page.$$eval("#rows tr.changes-row", (rows) =>
        rows.map((row) =>
          [...row.querySelectorAll("li.change")].map((item) => ({
            text: [...item.querySelectorAll(".change-field, .change-before, .change-after")].map((part) => part.textContent).join(" "),
            disputed: item.classList.contains("is-disputed"),
          })),
        ),
      );
      expect(changes).toEqual([
        [{ text: "credit_limit 1,000,000 1,200,000", disputed: true }],
        [
          { text: "credit_limit 750,000 1,000,000", disputed: false },
          { text: "payment_terms NET30 NET45", disputed: false },
        ],
        [{ text: "credit_limit 500,000 750,000", disputed: false }],
        [
          { text: "credit_limit — 500,000", disputed: false },
          { text: "payment_terms — NET30", disputed: false },
          { text: "risk — low", disputed: false },
        ],
      ]);
      expect(await page.textContent("#rows tr.changes-row >> nth=0")).toContain("entry says before was 900,000");

      await openFirstRow(page);
      await page.waitForSelector("#detail-version-section:not([hidden])");
      expect(await page.textContent("#detail-version")).toContain("1,000,000");
      expect(await page.textContent("#detail-version")).toContain("the previous version in the trail says otherwise");
      expect(seriousErrors(errors)).toEqual([]);
      await page.close();
    });

    it("reads the trail again on Refresh, and by itself while no live connection works", async () => {
      const { page, errors } = await browser.newPage(viewport);
      // No live connection: WebSocket and SSE both refused, as by a proxy.
      await page.routeWebSocket(/\/api\/ws/, (socket) => socket.close());
      await page.route(/\/api\/stream/, (route) => route.abort());
      await openViewer(page, viewer.url);
      await page.waitForFunction(() => document.getElementById("conn")?.dataset.state === "offline", undefined, { timeout: 15_000 });
      const before = await pagerTotal(page);
      await writeFromAnotherProcess(trail.logDir, [
        { method: "log", description: `Refreshed by hand ${viewport.width}`, options: { module: "system" } },
      ]);
      await page.click("#refresh");
      await waitForTotal(page, before + 1);
      expect((await columnTexts(page, "desc"))[0]).toBe(`Refreshed by hand ${viewport.width}`);
      expect(await page.textContent("#pager-refreshed")).toMatch(/^read \d{2}:\d{2}:\d{2}$/);
      await writeFromAnotherProcess(trail.logDir, [
        { method: "log", description: `Refreshed by itself ${viewport.width}`, options: { module: "system" } },
      ]);
      await waitForTotal(page, before + 2);
      expect((await columnTexts(page, "desc"))[0]).toBe(`Refreshed by itself ${viewport.width}`);
      entries = trailEntries(trail.logDir);
      expect(seriousErrors(errors)).toEqual([]);
      await page.close();
    });
  });
}

describe("viewer for an auditor at 1400 px: columns, results, statistics", () => {
  it("shows the statistics of the active tab", async () => {
    const { page, errors } = await browser.newPage(WIDE);
    await openViewer(page, viewer.url);
    const security = trailEntries(trail.logDir, "security");
    await page.waitForFunction((n) => /\d/.test(document.getElementById("stat-total")?.textContent ?? "") && n > 0, security.length);
    expect(digits(await page.textContent("#stat-total"))).toBe(entries.length);
    expect(digits(await page.textContent("#stat-failures"))).toBe(entries.filter((e) => e.success === false).length);
    await page.click("#tab-security");
    await waitForTotal(page, security.length);
    expect(await page.textContent("#stat-total-label")).toBe("Security events");
    expect(digits(await page.textContent("#stat-total"))).toBe(security.length);
    expect(digits(await page.textContent("#stat-failures"))).toBe(security.filter((e) => e.success === false).length);
    expect(digits(await page.textContent("#stat-matching"))).toBe(security.length);
    expect(addressOf(page).get("source")).toBe("security");
    await page.goBack();
    await waitForTotal(page, entries.length);
    expect(await page.textContent("#stat-total-label")).toBe("Entries");
    expect(seriousErrors(errors)).toEqual([]);
    await page.close();
  });

  it("gives one Result rule: a status when it tells the outcome, otherwise ok or failed", async () => {
    const { page, errors } = await browser.newPage(WIDE);
    await openViewer(page, `${viewer.url}?q=Legacy`);
    await waitForTotal(page, LEGACY.length);
    const results = await page.$$eval("#rows tr.row", (rows) =>
      rows.map((row) => [row.querySelector(".c-desc")?.textContent, row.querySelector(".c-status")?.textContent]),
    );
    expect(Object.fromEntries(results)).toEqual({
      "Legacy Tokyo entry": "✕ failed", // failed, though the writer left the default status 200
      "Legacy export refused": "✕ 403",
      "Legacy stock adjusted": "✓ ok",
      "Legacy order approved": "✓ 200",
    });
    expect(seriousErrors(errors)).toEqual([]);
    await page.close();
  });

  it("cuts no standard value at 1400 px, and the detail panel hides no column", async () => {
    const { page, errors } = await browser.newPage(WIDE);
    await openViewer(page, `${viewer.url}?limit=200`);
    const cutCells = () =>
      page.$$eval("#rows tr.row td", (cells) =>
        cells
          .filter((cell) => /c-(time|level|module|action|branch|status|ref)/.test(cell.className))
          .filter((cell) => {
            const inner = (cell.firstElementChild as HTMLElement | null) ?? cell;
            return cell.scrollWidth > cell.clientWidth + 1 || inner.scrollWidth > inner.clientWidth + 1;
          })
          .map((cell) => `${cell.className}: ${cell.textContent}`),
      );
    const shownValues = async (column: string) => new Set(await columnTexts(page, column as "level"));
    expect(await shownValues("level")).toContain("CRITICAL");
    expect(await shownValues("action")).toContain("TRANSFER");
    expect(await shownValues("module")).toContain("accounting");
    expect(await cutCells()).toEqual([]);

    const columns = () =>
      page.$$eval("#grid thead th", (cells) => cells.map((cell) => [cell.className, (cell as HTMLElement).getBoundingClientRect().width]));
    const before = await columns();
    await openFirstRow(page);
    const after = await columns();
    expect(after.map(([name]) => name)).toEqual(before.map(([name]) => name));
    for (const [name, width] of after) expect(width, String(name)).toBeGreaterThan(40);
    expect(await cutCells()).toEqual([]);
    // The panel sits beside the table, not over it.
    const table = await page.$eval(".results", (node) => node.getBoundingClientRect());
    const panel = await page.$eval("#detail", (node) => node.getBoundingClientRect());
    expect(panel.left).toBeGreaterThanOrEqual(table.right);
    expect(seriousErrors(errors)).toEqual([]);
    await page.close();
  });

  it("keeps the open entry while the list still holds it, and holds live entries back until it is closed", async () => {
    const { page, errors } = await browser.newPage(WIDE);
    await openViewer(page, viewer.url);
    await page.waitForFunction(() => document.getElementById("conn")?.dataset.state === "ws", undefined, { timeout: 15_000 });
    const target = [...entries].reverse().find((e) => e.module === "inventory" && e.id)!;
    await page.click(`#rows tr.row[data-id="${target.id}"] td.c-desc`);
    await page.waitForSelector("#detail:not([hidden])");
    // Filters that keep the entry: the panel follows it, its row stays marked.
    await chooseValues(page, "module", ["inventory"]);
    await waitForTotal(page, entries.filter((e) => e.module === "inventory").length);
    expect(await page.isVisible("#detail")).toBe(true);
    await chooseValues(page, "module", ["inventory", "sales"]);
    await waitForTotal(page, entries.filter((e) => e.module === "inventory" || e.module === "sales").length);
    expect(await page.isVisible("#detail")).toBe(true);
    expect(await page.getAttribute("#rows tr.row.is-selected", "data-id")).toBe(target.id);
    // A live entry arrives: counted in the bar, the rows stay where the reader is.
    const rowsBefore = await columnTexts(page, "desc");
    await writeFromAnotherProcess(trail.logDir, [{ method: "log", description: "Stock counted live", options: { module: "inventory" } }]);
    await page.waitForFunction(() => (document.getElementById("newbar-btn")?.textContent ?? "").startsWith("1 new entry"), undefined, {
      timeout: 15_000,
    });
    expect(await columnTexts(page, "desc")).toEqual(rowsBefore);
    await page.click("#detail-close");
    await page.locator("#rows tr.row", { hasText: "Stock counted live" }).waitFor({ timeout: 15_000 });
    entries = trailEntries(trail.logDir);
    expect(seriousErrors(errors)).toEqual([]);
    await page.close();
  });

  it("saves the README's screenshots", async () => {
    const folder = process.env.UPDATE_SCREENSHOT === "1" ? "docs" : "test-results";
    mkdirSync(join(ROOT, folder), { recursive: true });
    const { page, errors } = await browser.newPage(WIDE);
    await openViewer(page, viewer.url);
    await page.waitForFunction(() => ["ws", "sse"].includes(document.getElementById("conn")?.dataset.state ?? ""));
    await page.click('#rows tr.row:has-text("Customer credit limit raised again") >> nth=0 >> .entity-link');
    await waitForTotal(page, 4);
    await openFirstRow(page);
    await page.mouse.move(1, 1);
    await page.screenshot({ path: join(ROOT, folder, "viewer-history.png") });
    await page.click("#chips .chip-remove");
    await waitForTotal(page, entries.length);
    await page.click('#rows .user-link:text-is("may.phyu") >> nth=0');
    await page.waitForSelector("#timeline:not([hidden]) .tl-item");
    await page.mouse.move(1, 1);
    await page.screenshot({ path: join(ROOT, folder, "viewer-timeline.png") });
    const small = await browser.newPage(PHONE);
    await openViewer(small.page, `${viewer.url}?from=${new Date(trail.dayStart).toISOString()}`);
    await small.page.screenshot({ path: join(ROOT, folder, "viewer-phone.png") });
    expect(seriousErrors([...errors, ...small.errors])).toEqual([]);
    await small.page.close();
    await page.close();
  });
});
