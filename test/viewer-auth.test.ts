import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuditViewer, mountAuditViewer, type RunningViewer } from "../src/viewer/index.js";
import { eventually } from "./support/eventually.js";
import {
  entryLine,
  getJson,
  openWebSocket,
  SseReader,
  startTestViewer,
  viewerTempDir,
  webSocketCloseCode,
  webSocketRefusal,
  writeTrail,
} from "./support/viewer-server.js";

const KEY = "s3cret-key-for-tests";

describe("viewer API key", () => {
  const temp = viewerTempDir();
  let running: RunningViewer;
  let base: string;

  beforeAll(async () => {
    writeTrail(`${temp.dir}/audit.jsonl`, [entryLine(1), entryLine(2)]);
    // Many wrong keys in a row are the point of these tests: brute-force blocking is tested on its own.
    running = await startTestViewer({ logDir: temp.dir, apiKey: KEY, keyFailureLimit: { maxAttempts: 10_000 } });
    base = running.url;
  });
  afterAll(async () => {
    await running?.close();
    temp.cleanup();
  });

  const ROUTES = [
    "",
    "index.html",
    "app.js",
    "app.css",
    "api/config",
    "api/stats",
    "api/entries",
    "api/recent",
    "api/export?format=jsonl",
    "api/stream",
    "no-such-file",
  ];

  it("refuses every route without the key, static files included", async () => {
    for (const route of ROUTES) {
      const response = await fetch(`${base}${route}`);
      const text = await response.text();
      expect(response.status, route).toBe(401);
      expect(response.headers.get("set-cookie"), route).toBeNull();
      expect(text, route).not.toContain(KEY);
      if (route.startsWith("api/")) expect(JSON.parse(text).detail, route).toMatch(/API key/);
    }
  });

  it("refuses a wrong key, also one of the same length or a prefix of it", async () => {
    for (const wrong of ["x", KEY.slice(0, -1), KEY.replace(/.$/, "X"), `${KEY}x`, KEY.toUpperCase()]) {
      expect((await fetch(`${base}api/stats`, { headers: { "X-API-Key": wrong } })).status, wrong).toBe(401);
      expect((await fetch(`${base}api/stats?api_key=${encodeURIComponent(wrong)}`)).status, wrong).toBe(401);
    }
  });

  it("accepts the key as X-API-Key header or api_key query on every route", async () => {
    for (const route of ROUTES.filter((r) => r !== "api/stream" && r !== "no-such-file")) {
      const byHeader = await fetch(`${base}${route}`, { headers: { "X-API-Key": KEY } });
      await byHeader.arrayBuffer();
      expect(byHeader.status, route).toBe(200);
      const separator = route.includes("?") ? "&" : "?";
      const byQuery = await fetch(`${base}${route}${separator}api_key=${KEY}`);
      await byQuery.arrayBuffer();
      expect(byQuery.status, route).toBe(200);
    }
  });

  it("sets an HttpOnly SameSite=Strict cookie (not holding the key) that later requests may use instead", async () => {
    const page = await fetch(`${base}?api_key=${KEY}`);
    await page.text();
    const cookie = page.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^auditx_key=[0-9a-f]{64}; Path=\/; HttpOnly; SameSite=Strict$/);
    expect(cookie).not.toContain(KEY);
    const pair = cookie.split(";")[0]!;
    expect((await fetch(`${base}api/stats`, { headers: { Cookie: pair } })).status).toBe(200);
    expect((await fetch(`${base}app.js`, { headers: { Cookie: pair } })).status).toBe(200);
    expect((await fetch(`${base}api/stats`, { headers: { Cookie: "auditx_key=0000" } })).status).toBe(401);
    expect((await fetch(`${base}api/stats`, { headers: { Cookie: `auditx_key=${KEY}` } })).status).toBe(401);
  });

  it("guards the SSE stream", async () => {
    const refused = new SseReader(`${base}api/stream`);
    await refused.done;
    expect(refused.status).toBe(401);
    const accepted = new SseReader(`${base}api/stream?api_key=${KEY}`);
    await eventually(() => accepted.connected && accepted.entries().length === 2, 5000, "connected and the trail replayed");
    expect(accepted.status).toBe(200);
    accepted.close();
  });

  it("guards the WebSocket, and refuses cross-origin pages", async () => {
    const wsBase = base.replace("http:", "ws:");
    // As auditX: a missing or wrong key closes the socket with 4401, before any message.
    expect((await webSocketCloseCode(`${wsBase}api/ws`)).code).toBe(4401);
    expect(await webSocketCloseCode(`${wsBase}api/ws?api_key=wrong`)).toEqual({ code: 4401, reason: "a valid API key is required" });
    expect((await webSocketCloseCode(`${wsBase}api/ws`, { "X-API-Key": KEY.slice(1) })).code).toBe(4401);
    expect(await webSocketRefusal(`${wsBase}api/ws?api_key=${KEY}`, { Origin: "http://evil.example" })).toBe(403);
    const { socket, messages } = await openWebSocket(`${wsBase}api/ws`, { "X-API-Key": KEY });
    await eventually(() => messages.length > 0, 5000, "connected");
    expect(messages[0]).toEqual({ type: "connected", transport: "websocket" });
    socket.close();
  });
});

describe("viewer mounted under a prefix in an existing Express app", () => {
  const temp = viewerTempDir();
  let server: Server;
  let viewer: AuditViewer;
  let base: string;

  beforeAll(async () => {
    writeTrail(`${temp.dir}/audit.jsonl`, [entryLine(1)]);
    const app = express();
    app.get("/health", (_request, response) => {
      response.send("ok");
    });
    viewer = mountAuditViewer(app, {
      logDir: temp.dir,
      prefix: "/audit",
      apiKey: KEY,
      auditReads: false,
      keyFailureLimit: { maxAttempts: 10_000 },
    });
    server = createServer(app);
    viewer.attach(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    await viewer.ready;
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await viewer?.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    temp.cleanup();
  });

  it("serves the page and API under the prefix, guarded, and leaves the host's routes alone", async () => {
    expect(await (await fetch(`${base}/health`)).text()).toBe("ok");
    expect((await fetch(`${base}/audit/api/stats`)).status).toBe(401);
    const stats = await getJson(`${base}/audit/api/stats`, { "X-API-Key": KEY });
    expect(stats.body.audit.total).toBe(1);
    const redirect = await fetch(`${base}/audit?api_key=${KEY}`, { redirect: "manual" });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get("location")).toBe(`/audit/?api_key=${KEY}`);
    const page = await fetch(`${base}/audit/?api_key=${KEY}`);
    expect(page.status).toBe(200);
    expect(page.headers.get("set-cookie")).toMatch(/Path=\/audit\//);
    const { socket, messages } = await openWebSocket(`${base.replace("http:", "ws:")}/audit/api/ws?api_key=${KEY}`);
    await eventually(() => messages.length > 0, 5000, "connected");
    expect(messages[0]).toEqual({ type: "connected", transport: "websocket" });
    socket.close();
    expect((await webSocketCloseCode(`${base.replace("http:", "ws:")}/audit/api/ws`)).code).toBe(4401);
  });
});
