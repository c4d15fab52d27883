import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger, entryIdOf } from "../src/index.js";
import { listTrailSegments } from "../src/trail/segments.js";
import type { RunningViewer } from "../src/viewer/index.js";
import { eventually } from "./support/eventually.js";
import { entryLine, getJson, startTestViewer, viewerTempDir, writeTrail } from "./support/viewer-server.js";

describe("viewer trail reading", () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function viewerOn(dir: string): Promise<string> {
    const running: RunningViewer = await startTestViewer({ logDir: dir });
    cleanups.push(() => running.close());
    return running.url;
  }

  function temp(): string {
    const t = viewerTempDir();
    cleanups.push(t.cleanup);
    return t.dir;
  }

  it("skips and counts malformed lines and invalid UTF-8, keeping every good entry", async () => {
    const dir = temp();
    const invalidUtf8 = Buffer.concat([
      Buffer.from('{"timestamp":"2026-06-28T10:00:00+00:00","level":"AUDIT","description":"bad '),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}\n'),
    ]);
    const good = [entryLine(1), entryLine(2), entryLine(3)];
    writeFileSync(
      join(dir, "audit.jsonl"),
      Buffer.concat([
        Buffer.from(`${JSON.stringify(good[0])}\n{not json\n[1,2,3]\n"text"\n\n   \n`),
        invalidUtf8,
        Buffer.from(`${JSON.stringify(good[1])}\r\n${JSON.stringify(good[2])}\n{"truncated":`),
      ]),
    );
    const base = await viewerOn(dir);
    const { body } = await getJson(`${base}api/entries`);
    // The unterminated last line of the active file may still be being written: not counted yet.
    // Lines written without an id are served with the one derived from the line (CR excluded).
    expect(body.items).toEqual([...good].reverse().map((entry) => ({ ...entry, id: entryIdOf(entry, JSON.stringify(entry)) })));
    const stats = await getJson(`${base}api/stats`);
    expect(stats.body.audit.total).toBe(3);
    expect(stats.body.audit.malformed).toBe(4);
    expect(stats.body.security).toMatchObject({ total: 0, malformed: 0, latest_timestamp: null });
  });

  it("reads rotated backups oldest first as one trail, a finished backup's last line without newline, a byte order mark", async () => {
    const dir = temp();
    writeTrail(join(dir, "audit.jsonl.3"), [entryLine(0), entryLine(1)]);
    writeFileSync(join(dir, "audit.jsonl.2"), `${JSON.stringify(entryLine(2))}\n${JSON.stringify(entryLine(3))}`);
    writeFileSync(join(dir, "audit.jsonl.1"), `\uFEFF${JSON.stringify(entryLine(4))}\n`); // with a byte order mark
    writeTrail(join(dir, "audit.jsonl"), [entryLine(5), entryLine(6)]);
    writeTrail(join(dir, "audit.jsonl.bak"), [entryLine(99)]);
    writeTrail(join(dir, "security.jsonl.1"), [entryLine(7, { level: "SECURITY" })]);
    writeTrail(join(dir, "security.jsonl"), [entryLine(8, { level: "CRITICAL" })]);
    const base = await viewerOn(dir);
    const { body } = await getJson(`${base}api/entries?limit=100`);
    expect(body.total).toBe(7);
    expect(body.items.map((e: { request_id: string }) => e.request_id)).toEqual([
      "req-6",
      "req-5",
      "req-4",
      "req-3",
      "req-2",
      "req-1",
      "req-0",
    ]);
    const security = await getJson(`${base}api/entries?source=security`);
    expect(security.body.items.map((e: { request_id: string }) => e.request_id)).toEqual(["req-8", "req-7"]);
  });

  it("reads files of the Python original: microsecond and offset-less timestamps, ASCII-escaped text", async () => {
    const dir = temp();
    const python = [
      '{"timestamp": "2026-06-28T16:10:59.123456+06:30", "level": "AUDIT", "module": "sales", "action": "POST", "description": "Invoice \\u1000\\u102d\\u102f posted", "user": "admin", "success": true, "status": null}',
      '{"timestamp": "2026-06-28T11:00:00.5", "level": "INFO", "module": "crm", "description": "no offset", "user": "admin", "success": true, "status": null}',
      '{"timestamp": "2026-06-29T02:00:00Z", "level": "ERROR", "module": "hr", "description": "zulu", "user": "admin", "success": false, "status": 500}',
    ];
    writeTrail(join(dir, "audit.jsonl"), python);
    const base = await viewerOn(dir);
    const { body } = await getJson(`${base}api/entries`);
    expect(body.total).toBe(3);
    expect(body.items.map((e: { description: string }) => e.description)).toEqual(["zulu", "no offset", "Invoice ကို posted"]);
    // 16:10:59.123456+06:30 is 09:40:59.123Z: inside this window, and only it.
    const window = await getJson(
      `${base}api/entries?from=${encodeURIComponent("2026-06-28T09:40:00Z")}&to=${encodeURIComponent("2026-06-28T09:41:00Z")}`,
    );
    expect(window.body.items.map((e: { module: string }) => e.module)).toEqual(["sales"]);
    const local = new Date(2026, 5, 28, 11, 0, 0, 500).getTime();
    const around = (ms: number) => new Date(ms).toISOString();
    const noOffset = await getJson(`${base}api/entries?from=${around(local - 1)}&to=${around(local + 1)}`);
    expect(noOffset.body.items.map((e: { module: string }) => e.module)).toEqual(["crm"]);
    // Non-ASCII free text finds the \u-escaped form too.
    const text = await getJson(`${base}api/entries?q=${encodeURIComponent("ကို")}`);
    expect(text.body.items.map((e: { module: string }) => e.module)).toEqual(["sales"]);
    // Field names do not count as text, with the original's ": " separators too; "zulu" is a value.
    expect((await getJson(`${base}api/entries?q=description`)).body.total).toBe(0);
    expect((await getJson(`${base}api/entries?q=escription`)).body.total).toBe(0);
    const zulu = await getJson(`${base}api/entries?q=ZULU`);
    expect(zulu.body.items.map((e: { module: string }) => e.module)).toEqual(["hr"]);
  });

  it("tells field names from values in free text, whatever the keys and values look like", async () => {
    const dir = temp();
    writeTrail(join(dir, "audit.jsonl"), [
      // A value that quotes a key-like text: it is a value, so it counts.
      JSON.stringify({ timestamp: "2026-06-28T09:00:00Z", level: "INFO", module: "crm", description: 'He said "amount": 5' }),
      // Keys and values that start with characters that may follow a closing quote, with the original's separators.
      '{"timestamp": "2026-06-28T09:01:00Z", "level": "INFO", "module": "hr", "description": ",reference kept", "metadata": {" note": "fine", ",odd": ":x"}}',
      JSON.stringify({
        timestamp: "2026-06-28T09:02:00Z",
        level: "INFO",
        module: "sales",
        description: "plain",
        metadata: { note: "kept" },
      }),
    ]);
    const base = await viewerOn(dir);
    const modules = async (q: string) =>
      (await getJson(`${base}api/entries?q=${encodeURIComponent(q)}`)).body.items.map((e: { module: string }) => e.module);
    expect(await modules("amount")).toEqual(["crm"]);
    expect(await modules("note")).toEqual([]);
    expect(await modules("odd")).toEqual([]);
    expect(await modules("fine")).toEqual(["hr"]);
    expect(await modules(":x")).toEqual(["hr"]);
    expect(await modules(",reference")).toEqual(["hr"]);
    expect(await modules("kept")).toEqual(["sales", "hr"]);
    expect(await modules("metadata")).toEqual([]);
  });

  it("filters by time range with inclusive bounds, ISO date-times with offsets and plain dates", async () => {
    const dir = temp();
    // entryLine(i) is 2026-06-28T09:00Z + i minutes.
    writeTrail(
      join(dir, "audit.jsonl"),
      Array.from({ length: 30 }, (_, i) => entryLine(i)),
    );
    const base = await viewerOn(dir);
    const ids = async (query: string) =>
      (await getJson(`${base}api/entries?limit=100&${query}`)).body.items.map((e: { request_id: string }) => e.request_id);
    expect(await ids("from=2026-06-28T09:10:00Z&to=2026-06-28T09:12:00Z")).toEqual(["req-12", "req-11", "req-10"]);
    expect(
      await ids(`from=${encodeURIComponent("2026-06-28T15:55:00+06:30")}&to=${encodeURIComponent("2026-06-28T15:56:30+06:30")}`),
    ).toEqual(["req-26", "req-25"]);
    expect(await ids("from=2026-06-28T09:28:00.000Z")).toEqual(["req-29", "req-28"]);
    expect(await ids("to=2026-06-28T09:01:00Z")).toEqual(["req-1", "req-0"]);
    expect((await getJson(`${base}api/entries?from=2026-06-29T00:00:00Z`)).body.total).toBe(0);
    expect((await getJson(`${base}api/entries?from=2026-06-27&to=2026-06-29`)).body.total).toBe(30);
  });

  it("starts on a log folder that does not exist yet, and shows entries once it does", async () => {
    const parent = temp();
    const dir = join(parent, "not-yet");
    const base = await viewerOn(dir);
    const empty = await getJson(`${base}api/stats`);
    expect(empty.status).toBe(200);
    expect(empty.body.audit).toMatchObject({ total: 0, failures: 0, modules: {}, levels: {}, latest_timestamp: null, malformed: 0 });
    expect((await getJson(`${base}api/entries`)).body).toEqual({ items: [], total: 0, limit: 100, offset: 0, source: "audit" });
    mkdirSync(dir);
    writeTrail(join(dir, "audit.jsonl"), [entryLine(1)]);
    await eventually(async () => (await getJson(`${base}api/entries`)).body.total === 1, 10_000, "the new folder's entry");
  });

  it("reads compressed segments as part of the trail: those found compressed and those compressed while it runs", async () => {
    const dir = temp();
    const compressedAll = () => listTrailSegments(dir, "audit.jsonl").every((segment) => segment.live || segment.compressed);
    const write = async (from: number, count: number) => {
      // The trail holds these entries alone (no START and STOP of the logger): the counts below are exact.
      const logger = createLogger({
        logDir: dir,
        maxFileBytes: 16 * 1024,
        compress: { afterMs: 0 },
        console: false,
        auditLifecycle: false,
      });
      for (let i = from; i < from + count; i++) logger.log(`entry ${i}`, { requestId: `c-${i}`, metadata: { pad: "p".repeat(200) } });
      await eventually(() => listTrailSegments(dir, "audit.jsonl").length > 3 && compressedAll(), 20_000, "compressed segments");
      await logger.shutdown();
    };
    await write(0, 300);
    const base = await viewerOn(dir);
    const total = async () => (await getJson(`${base}api/stats`)).body.audit.total;
    expect(await total()).toBe(300);
    const requestIds = async () =>
      (await getJson(`${base}api/entries?limit=1000`)).body.items.map((entry: { request_id: string }) => entry.request_id);
    expect(await requestIds()).toEqual(Array.from({ length: 300 }, (_, i) => `c-${299 - i}`));
    // Segments rotated, read plain, then compressed under the viewer: their entries stay, counted once.
    await write(300, 300);
    await eventually(async () => (await total()) === 600, 10_000, "600 entries");
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await total()).toBe(600);
    expect(await requestIds()).toEqual(Array.from({ length: 600 }, (_, i) => `c-${599 - i}`));
  });
});
