/**
 * DNS rebinding in a real browser: chromium resolves rebind.attacker.example
 * to 127.0.0.1, as an attacker's DNS would after the first load, so a page of
 * that origin reaches the viewer (started without a key) as "same origin".
 * The viewer answers it nothing: not the page, not the API, not the
 * WebSocket; the same browser on the viewer's own address works.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Browser, launchBrowser } from "./support/browser-launch.js";
import { startTestViewer, type TestViewer } from "./support/browser-viewer.js";
import { entryLine, viewerTempDir, writeTrail } from "./support/viewer-server.js";

const ATTACKER = "rebind.attacker.example";

describe("a DNS-rebinding page in chromium", () => {
  const temp = viewerTempDir();
  let viewer: TestViewer;
  let browser: Browser;
  let port: string;

  beforeAll(async () => {
    writeTrail(join(temp.dir, "audit.jsonl"), [entryLine(1, { description: "payroll approved for branch YGN" })]);
    viewer = await startTestViewer({ logDir: temp.dir });
    port = new URL(viewer.url).port;
    browser = await launchBrowser({ args: [`--host-resolver-rules=MAP ${ATTACKER} 127.0.0.1`] });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await viewer?.close();
    temp.cleanup();
  });

  it("gets 403 for the page, the REST API and the WebSocket, and no trail data", async () => {
    const { page } = await browser.newPage();
    const response = await page.goto(`http://${ATTACKER}:${port}/`);
    expect(response?.status()).toBe(403);
    expect(await page.textContent("body")).toContain(`Host "${ATTACKER}" is not allowed`);
    // Script of the attacker's origin, reading its "own" origin, as a rebinding page does.
    const result = await page.evaluate(async () => {
      const entries = await fetch("/api/entries");
      const text = await entries.text();
      const ws = await new Promise<string>((resolve) => {
        const socket = new WebSocket(`ws://${location.host}/api/ws`);
        socket.onopen = () => resolve("open");
        socket.onerror = () => resolve("error");
        socket.onmessage = (message) => resolve(`message ${message.data}`);
      });
      return { status: entries.status, text, ws };
    });
    expect(result.status).toBe(403);
    expect(result.text).not.toContain("payroll");
    expect(result.ws).toBe("error");
    await page.close();
  });

  it("works on the viewer's own address in the same browser", async () => {
    const { page, errors } = await browser.newPage();
    await page.goto(viewer.url);
    await page.waitForSelector("#rows tr.row", { timeout: 15_000 });
    expect(await page.textContent("#rows")).toContain("payroll approved");
    expect(errors).toEqual([]);
    await page.close();
  });
});
