/**
 * A scoped key in the browser: the page opened with a key scoped to CO-001
 * and the audit trail shows only CO-001 entries, counts only those in its
 * header, hides the security tab, and receives only CO-001 entries live.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Browser, launchBrowser } from "./support/browser-launch.js";
import { openViewer, pagerTotal } from "./support/browser-page.js";
import { startTestViewer, type TestViewer } from "./support/browser-viewer.js";
import { appendTrail, entryLine, viewerTempDir, writeTrail } from "./support/viewer-server.js";

const KEY = "scoped-browser-key-co1";

describe("a scoped key in the browser", () => {
  const temp = viewerTempDir();
  let viewer: TestViewer;
  let browser: Browser;

  beforeAll(async () => {
    const lines = Array.from({ length: 12 }, (_, i) =>
      entryLine(i, {
        company_id: i % 3 === 0 ? "CO-002" : "CO-001",
        description: `${i % 3 === 0 ? "other tenant" : "own tenant"} entry ${i}`,
      }),
    );
    writeTrail(join(temp.dir, "audit.jsonl"), lines);
    writeTrail(join(temp.dir, "security.jsonl"), [entryLine(40, { company_id: "CO-001", level: "SECURITY" })]);
    viewer = await startTestViewer({
      logDir: temp.dir,
      apiKeys: [{ id: "co1-auditor", key: KEY, companies: ["CO-001"], sources: ["audit"] }],
    });
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await viewer?.close();
    temp.cleanup();
  });

  it("shows, counts and streams only the key's tenant, and only the trails it may read", async () => {
    const { page, errors } = await browser.newPage({ width: 1400, height: 900 });
    await openViewer(page, `${viewer.url}?api_key=${KEY}`);
    expect(await pagerTotal(page)).toBe(8);
    const rows = await page.$$eval("#rows tr.row td.c-desc", (cells) => cells.map((cell) => cell.textContent ?? ""));
    expect(rows.every((text) => text.includes("own tenant"))).toBe(true);
    expect(await page.textContent("#stat-total")).toBe("8");
    expect(await page.isVisible("#tab-security")).toBe(false);
    await page.waitForFunction(() => ["ws", "sse"].includes(document.getElementById("conn")?.dataset.state ?? ""), undefined, {
      timeout: 15_000,
    });
    appendTrail(join(temp.dir, "audit.jsonl"), [
      entryLine(50, { company_id: "CO-002", description: "live other tenant" }),
      entryLine(51, { company_id: "CO-001", description: "live own tenant" }),
    ]);
    await page.waitForFunction(() => document.getElementById("rows")?.textContent?.includes("live own tenant"), undefined, {
      timeout: 15_000,
    });
    // The other tenant's entry was appended first: had it been pushed, it would be on screen by now.
    expect(await page.textContent("#rows")).not.toContain("live other tenant");
    expect(errors).toEqual([]);
    await page.close();
  });
});
