/**
 * The viewer against hostile requests and hostile trails, on a real server:
 * a DNS-rebinding request (a foreign Host, a matching Origin) on every route,
 * REST, SSE, WebSocket and static files; WebSocket origins compared by scheme,
 * host and port; a line nested 10,000 levels deep and a 20 MB line on every
 * route that shows entries; CSV cells that a spreadsheet would run.
 */
import { appendFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningViewer } from "../src/viewer/index.js";
import { csvCell } from "../src/viewer/TrailExport.js";
import { eventually } from "./support/eventually.js";
import {
  appendTrail,
  entryLine,
  getJson,
  openWebSocket,
  SseReader,
  startTestViewer,
  viewerTempDir,
  webSocketRefusal,
  writeTrail,
} from "./support/viewer-server.js";

const REBIND_HOST = "rebind.attacker.example";

/** A GET with the Host (and Origin) a rebinding page sends; fetch cannot set Host. */
function getWithHost(url: string, host: string, origin?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host };
    if (origin) headers.origin = origin;
    const req = request(url, { headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        // A stream that was let through would never end: enough has been seen.
        body += chunk;
        if (body.length > 0 && res.headers["content-type"]?.includes("event-stream")) res.destroy();
      });
      res.on("close", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

const ROUTES = [
  "",
  "index.html",
  "app.js",
  "app.css",
  "api/config",
  "api/stats",
  "api/entries",
  "api/entries/some-id",
  "api/histogram",
  "api/recent",
  "api/export?format=csv",
  "api/export?format=jsonl",
  "api/stream",
  "api/ws",
  "no-such-file",
];

describe("DNS rebinding", () => {
  const temp = viewerTempDir();
  let running: RunningViewer;
  let port: number;

  beforeAll(async () => {
    writeTrail(join(temp.dir, "audit.jsonl"), [entryLine(1, { description: "trail secret data" })]);
    running = await startTestViewer({ logDir: temp.dir });
    port = Number(new URL(running.url).port);
  });
  afterAll(async () => {
    await running?.close();
    temp.cleanup();
  });

  it("answers 403, with no trail data, to a foreign Host on every route of a viewer without a key", async () => {
    for (const route of ROUTES) {
      const url = `${running.url}${route}`;
      const rebound = await getWithHost(url, `${REBIND_HOST}:${port}`, `http://${REBIND_HOST}:${port}`);
      expect(rebound.status, route).toBe(403);
      expect(rebound.body, route).not.toContain("trail secret data");
      expect(rebound.body, route).toContain(REBIND_HOST);
      // The same route by the viewer's own address is answered.
      const own = await getWithHost(url, `127.0.0.1:${port}`);
      expect(own.status, route).not.toBe(403);
    }
  });

  it("refuses the WebSocket upgrade of a foreign Host, even with its own matching Origin", async () => {
    const ws = `ws://127.0.0.1:${port}/api/ws`;
    expect(await webSocketRefusal(ws, { Host: `${REBIND_HOST}:${port}`, Origin: `http://${REBIND_HOST}:${port}` })).toBe(403);
    expect(await webSocketRefusal(ws, { Host: `${REBIND_HOST}:${port}` })).toBe(403);
    const accepted = await openWebSocket(ws, { Origin: `http://127.0.0.1:${port}` });
    accepted.socket.close();
  });

  it("compares a WebSocket Origin by scheme, host and port", async () => {
    const ws = `ws://127.0.0.1:${port}/api/ws`;
    expect(await webSocketRefusal(ws, { Origin: `https://127.0.0.1:${port}` })).toBe(403);
    expect(await webSocketRefusal(ws, { Origin: `http://127.0.0.1:${port + 1}` })).toBe(403);
    expect(await webSocketRefusal(ws, { Origin: "http://127.0.0.1" })).toBe(403);
    expect(await webSocketRefusal(ws, { Origin: `http://localhost:${port}` })).toBe(403);
    const own = await openWebSocket(`ws://localhost:${port}/api/ws`, { Origin: `http://localhost:${port}` });
    own.socket.close();
  });

  it("answers the names of allowedHosts, a domain with a leading dot, and nothing else", async () => {
    const named = await startTestViewer({ logDir: temp.dir, allowedHosts: ["audit.erp.example", ".corp.example"] });
    try {
      const namedPort = new URL(named.url).port;
      for (const [host, status] of [
        [`audit.erp.example:${namedPort}`, 200],
        [`viewer.corp.example:${namedPort}`, 200],
        [`corp.example:${namedPort}`, 200],
        [`localhost:${namedPort}`, 200],
        [`[::1]:${namedPort}`, 200],
        [`evilcorp.example:${namedPort}`, 403],
        [`audit.erp.example.attacker.example:${namedPort}`, 403],
      ] as const) {
        expect((await getWithHost(`${named.url}api/stats`, host)).status, host).toBe(status);
      }
    } finally {
      await named.close();
    }
    await expect(startTestViewer({ logDir: temp.dir, allowedHosts: ["not a host"] })).rejects.toThrow(/allowedHosts/);
  });
});

/** A line of one entry whose metadata nests `depth` levels. */
function deepLine(depth: number, marker: string): string {
  const line = JSON.stringify(entryLine(50, { description: marker, id: `deep-${marker}` }));
  return `${line.slice(0, -1)},"metadata":${'{"a":'.repeat(depth)}1${"}".repeat(depth)}}`;
}

/** A line of one entry of about `bytes` bytes (a huge description). */
function hugeLine(bytes: number, marker: string): string {
  return JSON.stringify(entryLine(51, { id: `huge-${marker}`, description: `${marker} ${"x".repeat(bytes)}`, module: "crm" }));
}

describe("a line nested 10,000 levels deep and a 20 MB line", () => {
  const temp = viewerTempDir();
  let running: RunningViewer;
  const path = () => join(temp.dir, "audit.jsonl");

  beforeAll(async () => {
    writeTrail(path(), [entryLine(1), entryLine(2)]);
    appendFileSync(path(), `${deepLine(10_000, "deep-one")}\n${hugeLine(20 * 1024 * 1024, "huge-one")}\n`);
    appendTrail(path(), [entryLine(3, { description: "after them" })]);
    running = await startTestViewer({ logDir: temp.dir });
  }, 60_000);
  afterAll(async () => {
    await running?.close();
    temp.cleanup();
  });

  it("counts them in the stats, apart from malformed lines", async () => {
    const { status, body } = await getJson(`${running.url}api/stats`);
    expect(status).toBe(200);
    expect(body.audit).toMatchObject({ total: 5, deep: 1, truncated: 1, malformed: 0 });
    expect(body.audit.modules.crm).toBe(1);
  });

  it("shows them on a page: flattened, and cut from the first bytes, each with a note", async () => {
    const { status, body } = await getJson(`${running.url}api/entries?limit=10`);
    expect(status).toBe(200);
    expect(body.total).toBe(5);
    const byId = Object.fromEntries(body.items.map((item: { id?: string }) => [item.id, item]));
    const deep = byId["deep-deep-one"];
    expect(deep.viewer_note).toMatch(/nested deeper than 64 levels/);
    expect(JSON.stringify(deep.metadata)).toContain("[nested deeper than 64 levels] {");
    const huge = byId["huge-huge-one"];
    expect(huge.viewer_note).toMatch(/^line of 2097\d+ bytes, longer than maxLineBytes \(16777216\)/);
    expect(huge).toMatchObject({ level: "AUDIT", module: "crm", user: "admin" });
    expect(huge.description).toMatch(/^huge-one x+…$/);
    expect(huge.description.length).toBeLessThan(70_000);
    // Filters and search still work around and on them.
    expect((await getJson(`${running.url}api/entries?module=crm`)).body.total).toBe(1);
    expect((await getJson(`${running.url}api/entries?q=after%20them`)).body.total).toBe(1);
  });

  it("shows each of them as a single entry", async () => {
    for (const id of ["deep-deep-one", "huge-huge-one"]) {
      const { status, body } = await getJson(`${running.url}api/entries/${id}`);
      expect(status, id).toBe(200);
      expect(body.entry.id).toBe(id);
      expect(body.entry.viewer_note).toBeDefined();
    }
  });

  it("exports every row, in CSV and JSONL, the stream whole to its end", async () => {
    const csv = await (await fetch(`${running.url}api/export?format=csv`)).text();
    const rows = csv.trim().split("\r\n");
    expect(rows).toHaveLength(6);
    expect(csv).toContain("deep-deep-one");
    expect(csv).toContain("huge-huge-one");
    const jsonl = await (await fetch(`${running.url}api/export?format=jsonl`)).text();
    const lines = jsonl
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    // Lines written without an id get one derived from the line: those are named by their description here.
    const derived = /^[0-9a-f]{8}-[0-9a-f]{4}-8/;
    expect(lines.map((line) => (derived.test(line.id) ? line.description : line.id))).toEqual([
      "after them",
      "huge-huge-one",
      "deep-deep-one",
      "Entry number 2",
      "Entry number 1",
    ]);
  });

  it("streams them over SSE (replayed from the file, then live) and the WebSocket when they are appended", async () => {
    const sse = new SseReader(`${running.url}api/stream`);
    const ws = await openWebSocket(`${running.url.replace("http", "ws")}api/ws`);
    // The SSE client first gets the trail from its start (auditX's after=0), the deep and huge lines among it.
    await eventually(() => sse.entries().length >= 5, 10_000, "the SSE replay");
    appendFileSync(path(), `${deepLine(10_000, "deep-two")}\n${hugeLine(20 * 1024 * 1024, "huge-two")}\n`);
    appendTrail(path(), [entryLine(60, { description: "marker after the two" })]);
    await running.viewer.refresh();
    const seen = (messages: { entry?: { description?: string; viewer_note?: string } }[]) =>
      messages.filter((message) => message.entry).map((message) => message.entry!);
    const sseSeen = () => seen(sse.entries().map((event) => event.data));
    await eventually(() => sseSeen().length >= 8, 15_000, "eight SSE entries");
    await eventually(() => seen(ws.messages).length >= 3, 15_000, "three WebSocket entries");
    const replayed = sseSeen().slice(0, 5);
    expect(replayed.map((entry) => entry.description?.slice(0, 12))).toEqual([
      "Entry number",
      "Entry number",
      "deep-one",
      "huge-one xxx",
      "after them",
    ]);
    expect(replayed[2]!.viewer_note).toMatch(/nested deeper/);
    expect(replayed[3]!.viewer_note).toMatch(/longer than maxLineBytes/);
    for (const entries of [sseSeen().slice(5), seen(ws.messages)]) {
      expect(entries.map((entry) => entry.description?.slice(0, 12))).toEqual(["deep-two", "huge-two xxx", "marker after"]);
      expect(entries[0]!.viewer_note).toMatch(/nested deeper/);
      expect(entries[1]!.viewer_note).toMatch(/longer than maxLineBytes/);
    }
    sse.close();
    ws.socket.close();
  }, 60_000);
});

describe("CSV export", () => {
  it("neutralises formulas, also after leading spaces and line breaks", () => {
    for (const text of ["=1+1", "+cmd", "-2+3", "@SUM(A1)", ' =HYPERLINK("x")', "\n=1", "\r\n@x", "\t=1", "\u00a0=1", "＝1"]) {
      const cell = csvCell(text);
      expect(cell.replace(/^"/, ""), JSON.stringify(text)).toMatch(/^'/);
    }
    for (const text of ["plain", "a=b", "e-mail", "1-2"]) expect(csvCell(text)).not.toMatch(/^"?'/);
    expect(csvCell(-5)).toBe("-5");
  });
});
