import type { Socket } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AuditHub } from "../src/index.js";
import { eventually } from "./support/eventually.js";
import {
  appendTrail,
  entryLine,
  getJson,
  openWebSocket,
  SseReader,
  startTestViewer,
  viewerTempDir,
  writeTrail,
} from "./support/viewer-server.js";

describe("viewer bounds and edge cases", () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  function temp(): string {
    const t = viewerTempDir();
    cleanups.push(t.cleanup);
    return t.dir;
  }

  it("keeps at most maxEntries, forgetting the oldest and counting them", async () => {
    const dir = temp();
    writeTrail(
      join(dir, "audit.jsonl"),
      Array.from({ length: 1500 }, (_, i) => entryLine(i)),
    );
    const running = await startTestViewer({ logDir: dir, maxEntries: 1000 });
    cleanups.push(() => running.close());
    const { body } = await getJson(`${running.url}api/stats`);
    expect(body.audit.total + body.audit.evicted).toBe(1500);
    expect(body.audit.total).toBeLessThanOrEqual(1000);
    const page = await getJson(`${running.url}api/entries?limit=500&offset=${body.audit.total - 1}`);
    // The oldest entry still indexed is the first one not forgotten.
    expect(page.body.items.map((e: { request_id: string }) => e.request_id)).toEqual([`req-${body.audit.evicted}`]);
    const first = await getJson(`${running.url}api/entries?limit=1`);
    expect(first.body.items[0].request_id).toBe("req-1499");
  });

  it("answers 503 past maxStreamClients", async () => {
    const dir = temp();
    const running = await startTestViewer({ logDir: dir, maxStreamClients: 1, hub: new AuditHub() });
    cleanups.push(() => running.close());
    const first = new SseReader(`${running.url}api/stream`);
    cleanups.push(() => first.close());
    await eventually(() => first.connected, 5000, "first client");
    const second = new SseReader(`${running.url}api/stream`);
    await second.done;
    expect(second.status).toBe(503);
  });

  it("drops a WebSocket client that does not read, instead of buffering without end", async () => {
    const dir = temp();
    const hub = new AuditHub();
    const running = await startTestViewer({ logDir: dir, hub, maxClientBufferBytes: 256 * 1024 });
    cleanups.push(() => running.close());
    const { socket, messages } = await openWebSocket(`${running.url.replace("http:", "ws:")}api/ws`);
    cleanups.push(() => socket.terminate());
    await eventually(() => messages.length === 1, 5000, "connected");
    const closed = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
    const raw = (socket as unknown as { _socket: Socket })._socket;
    raw.pause(); // a client that stops reading
    const published = 300;
    // Publishing is synchronous: the viewer drops the client within this loop, once its unsent data passes the limit.
    for (let i = 0; i < published; i++) hub.publish("audit", entryLine(i, { description: "x".repeat(100_000) }) as never);
    raw.resume();
    expect(await closed).toBe(1006); // cut off, not closed politely
    expect(messages.length - 1).toBeLessThan(published);
    // The viewer itself goes on serving.
    expect((await getJson(`${running.url}api/stats`)).status).toBe(200);
  });

  it("extends a cached free-text search with entries appended since", async () => {
    const dir = temp();
    writeTrail(join(dir, "audit.jsonl"), [entryLine(1, { description: "Needle one" }), entryLine(2)]);
    const running = await startTestViewer({ logDir: dir });
    cleanups.push(() => running.close());
    expect((await getJson(`${running.url}api/entries?q=needle`)).body.total).toBe(1);
    appendTrail(join(dir, "audit.jsonl"), [entryLine(3, { description: "another NEEDLE" }), entryLine(4)]);
    await running.viewer.refresh();
    const { body } = await getJson(`${running.url}api/entries?q=needle`);
    expect(body.items.map((e: { request_id: string }) => e.request_id)).toEqual(["req-3", "req-1"]);
    // Appended entries are matched on their values only, as the first scan does.
    expect((await getJson(`${running.url}api/entries?q=reference`)).body.total).toBe(0);
    appendTrail(join(dir, "audit.jsonl"), [
      entryLine(5, { reference_no: "SI-5" }),
      entryLine(6, { description: "reference checked", reference_no: "SI-6" }),
    ]);
    await running.viewer.refresh();
    const reference = await getJson(`${running.url}api/entries?q=reference`);
    expect(reference.body.items.map((e: { request_id: string }) => e.request_id)).toEqual(["req-6"]);
  });

  it("exports CSV safely: formulas neutralised, quotes and newlines quoted, extra fields kept", async () => {
    const dir = temp();
    writeTrail(join(dir, "audit.jsonl"), [
      entryLine(1, { description: '=HYPERLINK("http://x")', user: "+cmd", custom_field: "kept" }),
      entryLine(2, { description: "line one\nline two, with comma" }),
    ]);
    const running = await startTestViewer({ logDir: dir });
    cleanups.push(() => running.close());
    const bytes = Buffer.from(await (await fetch(`${running.url}api/export?format=csv`)).arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]); // UTF-8 byte order mark, for spreadsheets
    const text = bytes.toString("utf8", 3);
    expect(text.startsWith("timestamp,level,")).toBe(true);
    expect(text).toContain('"line one\nline two, with comma"');
    expect(text).toContain(`"'=HYPERLINK(""http://x"")"`);
    expect(text).toContain(",'+cmd,");
    expect(text).toContain('"{""custom_field"":""kept""}"');
    expect(text).not.toMatch(/,=HYPERLINK/);
  });

  it("answers HEAD like GET without a body, and gives the hub's latest entries oldest first (as auditX)", async () => {
    const dir = temp();
    const hub = new AuditHub();
    for (let i = 0; i < 3; i++) hub.publish("audit", entryLine(i) as never);
    const running = await startTestViewer({ logDir: dir, hub });
    cleanups.push(() => running.close());
    const head = await fetch(`${running.url}api/stats`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    const recent = await getJson(`${running.url}api/recent?limit=2`);
    expect(recent.body.items.map((e: { request_id: string }) => e.request_id)).toEqual(["req-1", "req-2"]);
    expect((await getJson(`${running.url}api/recent`)).body.items.map((e: { request_id: string }) => e.request_id)).toEqual([
      "req-0",
      "req-1",
      "req-2",
    ]);
    expect((await getJson(`${running.url}api/recent?limit=0`)).status).toBe(400);
    expect((await getJson(`${running.url}api/recent?limit=200`)).status).toBe(200);
    expect((await getJson(`${running.url}api/recent?limit=201`)).status).toBe(400);
  });
});
