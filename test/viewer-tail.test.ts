import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { AuditHub, createLogger } from "../src/index.js";
import { JsonlTrailSource } from "../src/viewer/index.js";
import { DIST_INDEX, readJsonl, trailFiles } from "./support/core-trail.js";
import { eventually } from "./support/eventually.js";
import {
  appendTrail,
  entryEvents,
  entryLine,
  getJson,
  openWebSocket,
  SseReader,
  startTestViewer,
  streamSettled,
  viewerTempDir,
  writeTrail,
} from "./support/viewer-server.js";

describe("viewer tail and live streams", () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  function temp(): string {
    const t = viewerTempDir();
    cleanups.push(t.cleanup);
    return t.dir;
  }

  it("indexes and streams (SSE and WebSocket) entries another process appends", async () => {
    const dir = temp();
    writeTrail(join(dir, "audit.jsonl"), [entryLine(0)]);
    const running = await startTestViewer({ logDir: dir, hub: new AuditHub() });
    cleanups.push(() => running.close());
    // One stream per trail, as auditX: `after=1` skips the entry already there.
    const sse = new SseReader(`${running.url}api/stream?after=1`);
    cleanups.push(() => sse.close());
    const securitySse = new SseReader(`${running.url}api/stream?source=security&after=0`);
    cleanups.push(() => securitySse.close());
    const { socket, messages } = await openWebSocket(`${running.url.replace("http:", "ws:")}api/ws`);
    cleanups.push(() => socket.terminate());
    await eventually(() => sse.connected && securitySse.connected && messages.length > 0, 5000, "connected");
    expect(sse.events).toEqual([]);
    expect(messages[0]).toEqual({ type: "connected", transport: "websocket" });

    const added = [entryLine(1), entryLine(2, { level: "SECURITY" })];
    appendTrail(join(dir, "audit.jsonl"), added);
    appendTrail(join(dir, "security.jsonl"), [added[1]!]);
    await eventually(
      () => sse.entries().length === 2 && securitySse.entries().length === 1 && messages.length === 4,
      10_000,
      "three live entries",
    );
    // Read from the files: transport "file" and each entry's cursor in its trail.
    expect(sse.entries().map((event) => [event.data.source, event.data.entry.request_id, event.data.transport, event.data.cursor])).toEqual(
      [
        ["audit", "req-1", "file", 2],
        ["audit", "req-2", "file", 3],
      ],
    );
    expect(securitySse.entries().map((event) => [event.data.source, event.data.entry.request_id, event.data.cursor])).toEqual([
      ["security", "req-2", 1],
    ]);
    expect(
      messages
        .slice(1)
        .map((m) => [m.type, m.source, m.entry.request_id, m.transport])
        .sort(),
    ).toEqual([
      ["entry", "audit", "req-1", "file"],
      ["entry", "audit", "req-2", "file"],
      ["entry", "security", "req-2", "file"],
    ]);
    const ids = [...sse.entries(), ...securitySse.entries()].map((event) => Number(event.id));
    expect(new Set(ids).size).toBe(3);
    expect((await getJson(`${running.url}api/entries`)).body.total).toBe(3);
  });

  it("pushes what an in-process logger writes once, from the hub, not again from the tail", async () => {
    const dir = temp();
    const hub = new AuditHub();
    const logger = createLogger({ auditLifecycle: false, logDir: dir, console: false });
    cleanups.push(() => logger.shutdown());
    const running = await startTestViewer({ logDir: dir, hub, logger });
    cleanups.push(() => running.close());
    const sse = new SseReader(`${running.url}api/stream?after=0`);
    cleanups.push(() => sse.close());
    const securitySse = new SseReader(`${running.url}api/stream?source=security&after=0`);
    cleanups.push(() => securitySse.close());
    await eventually(() => sse.connected && securitySse.connected, 5000, "connected");
    for (let i = 0; i < 20; i++) logger.log(`same text`, { user: "twin", requestId: "r-same" });
    logger.logSecurity("Login failed", { user: "mallory", success: false });
    await eventually(async () => (await getJson(`${running.url}api/entries`)).body.total === 21, 10_000, "indexed");
    await running.viewer.refresh();
    await streamSettled(dir, sse);
    const audit = entryEvents(sse);
    expect(audit).toHaveLength(21);
    expect(new Set(audit.map((e) => e.data.transport))).toEqual(new Set(["realtime"]));
    await eventually(() => securitySse.entries().length === 1, 5000, "the security entry");
    expect(securitySse.entries()[0]!.data.entry.user).toBe("mallory");
    const recent = await getJson(`${running.url}api/recent?limit=5`);
    expect(recent.body.source).toBe("audit");
    expect(recent.body.items.at(-1).user).toBe("mallory");
    expect(recent.body.items).toHaveLength(5);
  });

  it("follows rotation while tailing: every entry indexed and streamed exactly once", async () => {
    const dir = temp();
    const logger = createLogger({ auditLifecycle: false, logDir: dir, console: false, maxFileBytes: 16 * 1024, backupCount: 1000 });
    cleanups.push(() => logger.shutdown());
    for (let i = 0; i < 100; i++) logger.log(`before ${i}`, { user: "writer", requestId: `n-${i}` });
    const running = await startTestViewer({ logDir: dir, hub: new AuditHub() });
    cleanups.push(() => running.close());
    const sse = new SseReader(`${running.url}api/stream?after=100`);
    cleanups.push(() => sse.close());
    await eventually(() => sse.connected, 5000, "connected");
    const total = 1500;
    for (let i = 100; i < total; i++) {
      logger.log(`entry ${i} ${"x".repeat(i % 50)}`, { user: "writer", requestId: `n-${i}` });
      if (i % 37 === 0) await sleep(3);
    }
    expect(trailFiles(dir, "audit.jsonl").length).toBeGreaterThan(20);
    await eventually(async () => (await getJson(`${running.url}api/stats`)).body.audit.total === total, 20_000, "all entries indexed");
    await running.viewer.refresh();
    const onDisk = trailFiles(dir, "audit.jsonl").flatMap((file) => readJsonl(file).map((e) => e.request_id));
    expect(onDisk).toHaveLength(total);
    const indexed: string[] = [];
    for (let offset = 0; offset < total; offset += 500) {
      const { body } = await getJson(`${running.url}api/entries?limit=500&offset=${offset}`);
      indexed.push(...body.items.map((e: { request_id: string }) => e.request_id));
    }
    expect(indexed.reverse()).toEqual(onDisk);
    await eventually(() => sse.entries().length >= total - 100, 10_000, "streamed entries");
    await streamSettled(dir, sse);
    const streamed = entryEvents(sse).map((e) => e.data.entry.request_id);
    expect(streamed).toEqual(onDisk.slice(100));
    // Cursors count the trail's entries across its segments: entry n of the trail has cursor n.
    expect(entryEvents(sse).map((e) => e.data.cursor)).toEqual(Array.from({ length: total - 100 }, (_, i) => 101 + i));
  });

  /**
   * Two other processes log 600 entries each in bursts, rotating every 8 KiB (and, with `compress`, gzip
   * each rotated segment at once) while the viewer follows: every entry indexed and streamed once, each
   * writer's entries in the order it wrote them.
   */
  async function followTwoWriters(compress: boolean): Promise<void> {
    const dir = temp();
    const running = await startTestViewer({ logDir: dir, hub: new AuditHub() });
    cleanups.push(() => running.close());
    const sse = new SseReader(`${running.url}api/stream?after=0`);
    cleanups.push(() => sse.close());
    await eventually(() => sse.connected, 5000, "connected");
    // Compiled code (npm test builds first).
    const writer = `
      import { createLogger } from ${JSON.stringify(DIST_INDEX)};
      const [dir, tag, count, compress] = process.argv.slice(1);
      const logger = createLogger({ auditLifecycle: false, logDir: dir, console: false, maxFileBytes: 8192, backupCount: 1000,
        compress: compress === "now" ? { afterMs: 0 } : false });
      for (let i = 0; i < Number(count); i++) {
        logger.log("entry " + i, { user: tag, requestId: tag + "-" + i });
        if (i % 50 === 0) await new Promise((r) => setTimeout(r, 2));
      }
      await logger.shutdown();`;
    const runWriter = (tag: string) =>
      new Promise<number | null>((resolve) => {
        const args = ["--input-type=module", "-e", writer, dir, tag, "600", compress ? "now" : "never"];
        const child = spawn(process.execPath, args, { stdio: "ignore" });
        cleanups.push(() => {
          if (child.exitCode === null) child.kill("SIGKILL");
        });
        child.once("exit", resolve);
      });
    expect(await Promise.all([runWriter("w1"), runWriter("w2")])).toEqual([0, 0]);
    await eventually(async () => (await getJson(`${running.url}api/stats`)).body.audit.total === 1200, 20_000, "1200 indexed");
    await running.viewer.refresh();
    const onDisk = trailFiles(dir, "audit.jsonl").flatMap((file) => readJsonl(file).map((e) => e.request_id));
    if (compress) expect(trailFiles(dir, "audit.jsonl").some((file) => file.endsWith(".gz"))).toBe(true);
    await streamSettled(dir, sse);
    expect(onDisk).toHaveLength(1200);
    expect(new Set(onDisk).size).toBe(1200);
    const streamed = entryEvents(sse).map((e) => e.data.entry.request_id);
    expect(streamed).toHaveLength(1200);
    expect(new Set(streamed)).toEqual(new Set(onDisk));
    // Each writer's own entries arrive in the order it wrote them.
    for (const tag of ["w1", "w2"]) {
      const mine = streamed.filter((id: string) => id.startsWith(`${tag}-`));
      expect(mine).toEqual(Array.from({ length: 600 }, (_, i) => `${tag}-${i}`));
    }
  }

  it("follows two other processes writing and rotating the same trail: each entry indexed and streamed once", async () => {
    await followTwoWriters(false);
  });

  it("follows two other processes rotating and compressing the same trail at once: each entry streamed once, in order", async () => {
    await followTwoWriters(true);
  });

  it("forgets backups that rotation deleted, and re-reads a file truncated in place", async () => {
    const dir = temp();
    const logger = createLogger({ auditLifecycle: false, logDir: dir, console: false, maxFileBytes: 4 * 1024, backupCount: 2 });
    cleanups.push(() => logger.shutdown());
    const running = await startTestViewer({ logDir: dir, hub: new AuditHub() });
    cleanups.push(() => running.close());
    for (let i = 0; i < 200; i++) {
      logger.log(`entry ${i}`, { requestId: `d-${i}` });
      if (i % 20 === 0) await sleep(5);
    }
    // Segments past backupCount are deleted in the background; the writer then stops (the truncation
    // below is done by someone else, and a running writer would restore its recent lines).
    await eventually(() => trailFiles(dir, "audit.jsonl").length === 3, 10_000, "pruning to 2 segments");
    await logger.shutdown();
    const onDisk = () => trailFiles(dir, "audit.jsonl").flatMap((file) => readJsonl(file).map((e) => e.request_id));
    expect(onDisk().length).toBeLessThan(200);
    await eventually(async () => (await getJson(`${running.url}api/stats`)).body.audit.total === onDisk().length, 10_000, "index = files");
    const { body } = await getJson(`${running.url}api/entries?limit=500`);
    expect(body.items.map((e: { request_id: string }) => e.request_id).reverse()).toEqual(onDisk());

    writeFileSync(join(dir, "audit.jsonl"), `${JSON.stringify(entryLine(1, { request_id: "after-truncate" }))}\n`);
    await eventually(
      async () => (await getJson(`${running.url}api/entries?limit=1`)).body.items[0]?.request_id === "after-truncate",
      10_000,
      "truncation",
    );
    expect((await getJson(`${running.url}api/stats`)).body.audit.total).toBe(onDisk().length);
  });

  it("resumes an SSE stream with Last-Event-ID: the missed live events, not the replay again", async () => {
    const dir = temp();
    writeTrail(join(dir, "audit.jsonl"), []);
    const running = await startTestViewer({ logDir: dir, hub: new AuditHub() });
    cleanups.push(() => running.close());
    const first = new SseReader(`${running.url}api/stream`);
    await eventually(() => first.connected, 5000, "connected");
    appendTrail(join(dir, "audit.jsonl"), [entryLine(1), entryLine(2)]);
    await eventually(() => first.entries().length === 2, 10_000, "two entries");
    const lastSeen = first.entries()[0]!.id!;
    first.close();
    const second = new SseReader(`${running.url}api/stream?after=0`, { "Last-Event-ID": lastSeen });
    cleanups.push(() => second.close());
    await eventually(() => second.connected && second.events.length >= 1, 5000, "resumed events");
    await streamSettled(dir, second);
    expect(entryEvents(second).map((e) => e.data.entry.request_id)).toEqual(["req-2"]);
  });

  it("replays while another writer's late line lands in an older segment: each entry once, none lost at the hand-over", async () => {
    const dir = temp();
    // A rotated segment of writer w2 (which has not noticed the rotation yet) and the live file of w1.
    const segment = join(dir, "audit.20261203T070000.000Z.c0ffee.jsonl");
    const line = (user: string, i: number) => entryLine(i, { user, request_id: `${user}-${i}` });
    writeTrail(
      segment,
      Array.from({ length: 100 }, (_, i) => line("w2", i)),
    );
    writeTrail(
      join(dir, "audit.jsonl"),
      Array.from({ length: 1100 }, (_, i) => line("w1", i)),
    );
    const trail = new JsonlTrailSource({ logDir: dir, indexDir: false, pollIntervalMs: 60_000 });
    cleanups.push(() => trail.close());
    // The real source; once the replay has sent its first batch, w2's next line is written and read (told live).
    let sinceCalls = 0;
    const source = new Proxy(trail, {
      get(target, property) {
        if (property === "since")
          return async (...args: Parameters<JsonlTrailSource["since"]>) => {
            if (++sinceCalls === 2) {
              appendTrail(segment, [line("w2", 100)]);
              await target.refresh();
            }
            return target.since(...args);
          };
        const value = Reflect.get(target, property, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const running = await startTestViewer({ logDir: dir, source, hub: new AuditHub() });
    cleanups.push(() => running.close());
    const sse = new SseReader(`${running.url}api/stream?after=0`);
    cleanups.push(() => sse.close());
    await eventually(() => sse.entries().length >= 1201, 10_000, "the replay and the late line");
    await streamSettled(dir, sse);
    expect(sinceCalls).toBeGreaterThan(2);
    const streamed = entryEvents(sse).map((e) => e.data.entry.request_id);
    expect(streamed).toHaveLength(1201);
    expect(streamed.filter((id: string) => id.startsWith("w1-"))).toEqual(Array.from({ length: 1100 }, (_, i) => `w1-${i}`));
    expect(streamed.filter((id: string) => id.startsWith("w2-"))).toEqual(Array.from({ length: 101 }, (_, i) => `w2-${i}`));
  });

  it("with realtime off, keeps the file tail on both streams and pushes nothing in process", async () => {
    const dir = temp();
    const hub = new AuditHub();
    const logger = createLogger({ logDir: dir, console: false, auditLifecycle: false });
    cleanups.push(() => logger.shutdown());
    const running = await startTestViewer({ logDir: dir, realtime: false, hub, logger });
    cleanups.push(() => running.close());
    expect((await getJson(`${running.url}api/config`)).body.realtime).toBe(false);
    // The logger given was not connected: in-process push is what realtime turns off.
    expect(logger.connectedHubs()).toEqual([]);
    const sse = new SseReader(`${running.url}api/stream?after=0`);
    cleanups.push(() => sse.close());
    const { socket, messages } = await openWebSocket(`${running.url.replace("http:", "ws:")}api/ws`);
    cleanups.push(() => socket.terminate());
    await eventually(() => sse.connected && messages.length === 1, 5000, "connected");
    logger.log("written in process", { requestId: "in-process" });
    appendTrail(join(dir, "audit.jsonl"), [entryLine(1)]);
    await eventually(() => sse.entries().length === 2 && messages.length === 3, 10_000, "tailed entries");
    expect(sse.entries().map((e) => [e.data.entry.request_id, e.data.transport, e.data.cursor])).toEqual([
      ["in-process", "file", 1],
      ["req-1", "file", 2],
    ]);
    expect(messages.slice(1).map((m) => m.transport)).toEqual(["file", "file"]);
    expect((await getJson(`${running.url}api/entries`)).body.total).toBe(2);
  });
});
