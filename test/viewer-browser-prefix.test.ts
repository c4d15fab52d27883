/**
 * The page mounted inside an application under /audit: every request it makes
 * is relative to its own address, so it loads, filters and goes live there;
 * and a viewer without live push shows "offline" instead of retrying.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditHub } from "../src/index.js";
import { type AuditViewer, mountAuditViewer } from "../src/viewer/index.js";
import { type Browser, launchBrowser } from "./support/browser-launch.js";
import { chooseValues, columnTexts, openViewer, pagerTotal, seriousErrors, trailEntries, waitForTotal } from "./support/browser-page.js";
import { type TestTrail, writeTestTrail } from "./support/browser-trail.js";
import { writeFromAnotherProcess } from "./support/browser-writer.js";

let trail: TestTrail;
let browser: Browser;
let server: Server;
let base: string;
const viewers: AuditViewer[] = [];

beforeAll(async () => {
  trail = await writeTestTrail({ day: 30, walkthrough: false });
  const app = express();
  app.get("/", (_request, response) => {
    response.type("text/plain").send("the host application");
  });
  viewers.push(mountAuditViewer(app, { logDir: trail.logDir, prefix: "/audit", hub: new AuditHub(), auditReads: false }));
  viewers.push(mountAuditViewer(app, { logDir: trail.logDir, prefix: "/quiet", hub: new AuditHub(), realtime: false, auditReads: false }));
  server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, "127.0.0.1", () => resolve(listening));
  });
  for (const viewer of viewers) viewer.attach(server);
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  for (const viewer of viewers) await viewer.close();
  await new Promise<void>((resolve) => {
    if (!server) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
  await trail?.cleanup();
});

describe("viewer under a prefix", () => {
  it("loads at /audit, filters, and receives live entries over the prefixed WebSocket", async () => {
    const { page, errors } = await browser.newPage({ width: 1400, height: 900 });
    const requests: string[] = [];
    page.on("request", (request) => requests.push(new URL(request.url()).pathname));
    await openViewer(page, `${base}/audit`);
    expect(new URL(page.url()).pathname).toBe("/audit/");
    expect(await pagerTotal(page)).toBe(trailEntries(trail.logDir).length);
    await page.waitForFunction(() => document.getElementById("conn")?.dataset.state === "ws", undefined, { timeout: 15_000 });

    await chooseValues(page, "module", ["sales"]);
    await waitForTotal(page, trailEntries(trail.logDir).filter((entry) => entry.module === "sales").length);
    await writeFromAnotherProcess(trail.logDir, [
      { method: "log", description: "Quotation sent to Delta Builders", options: { module: "sales" } },
    ]);
    await page.locator("#rows tr.row", { hasText: "Quotation sent to Delta Builders" }).waitFor({ timeout: 15_000 });
    expect((await columnTexts(page, "desc"))[0]).toBe("Quotation sent to Delta Builders");

    // Nothing was asked of the host application's own routes.
    expect(requests.length).toBeGreaterThan(0);
    for (const path of requests) expect(path === "/audit" || path.startsWith("/audit/")).toBe(true);
    expect(seriousErrors(errors)).toEqual([]);
    await page.close();
  });

  it("still shows new entries when the viewer runs without in-process push: the file tail carries them", async () => {
    const { page, errors } = await browser.newPage({ width: 1400, height: 900 });
    await openViewer(page, `${base}/quiet/`);
    await page.waitForFunction(() => document.getElementById("conn")?.dataset.state === "ws", undefined, { timeout: 15_000 });
    expect(await page.textContent("#conn-label")).toBe("live · WebSocket (file tail)");
    const before = await pagerTotal(page);
    await writeFromAnotherProcess(trail.logDir, [
      { method: "log", description: "Written while push is off", options: { module: "system" } },
    ]);
    await page.locator("#rows tr.row", { hasText: "Written while push is off" }).waitFor({ timeout: 15_000 });
    await waitForTotal(page, before + 1);
    expect(seriousErrors(errors)).toEqual([]);
    await page.close();
  });
});
