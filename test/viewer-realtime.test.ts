import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AuditConfigError, AuditHub, audit, configure, createLogger, hubFor } from "../src/index.js";
import { connectLogger, createApp, enableRealtime } from "../src/viewer/index.js";
import { eventually } from "./support/eventually.js";
import { getJson, SseReader, startTestViewer, viewerTempDir } from "./support/viewer-server.js";

/**
 * In-process push as auditX has it: a hub per log folder, enableRealtime() and
 * connectLogger() publish a logger's entries to its folder's hub, a viewer of
 * that folder listens to it, and createApp({ logDir }) connects the global
 * logger by itself when it writes that folder.
 */
describe("enableRealtime, connectLogger and the folder's hub", () => {
  const temp = viewerTempDir();
  const other = viewerTempDir();
  afterAll(async () => {
    await audit.shutdown();
    temp.cleanup();
    other.cleanup();
  });

  it("enableRealtime() pushes the global audit logger's entries to a viewer of its folder, once", async () => {
    configure({ auditLifecycle: false, logDir: temp.dir, console: false });
    const disconnect = enableRealtime();
    const running = await startTestViewer({ logDir: temp.dir });
    try {
      const sse = new SseReader(`${running.url}api/stream?after=0`);
      await eventually(() => sse.connected, 5000, "connected");
      audit.logTransaction("Sales invoice posted", { referenceNo: "SI-REALTIME-1", user: "admin" });
      await eventually(() => sse.entries().length === 1, 5000, "the pushed entry");
      expect(sse.entries()[0]!.data).toMatchObject({
        type: "entry",
        source: "audit",
        transport: "realtime",
        entry: { reference_no: "SI-REALTIME-1" },
      });
      const recent = await getJson(`${running.url}api/recent`);
      expect(recent.body.items.map((e: { reference_no?: string }) => e.reference_no)).toContain("SI-REALTIME-1");
      // The tail reads the same line from the file: it must not be pushed again.
      await eventually(async () => (await getJson(`${running.url}api/entries`)).body.total === 1, 5000, "indexed");
      await running.viewer.refresh();
      expect(sse.entries()).toHaveLength(1);
      disconnect();
      sse.close();
    } finally {
      await running.close();
    }
  });

  it("enableRealtime({ logDir }) refuses a folder the logger does not write, and accepts its own however spelt", () => {
    configure({ auditLifecycle: false, logDir: temp.dir, console: false });
    expect(() => enableRealtime({ logDir: other.dir })).toThrow(AuditConfigError);
    expect(() => enableRealtime({ logDir: other.dir })).toThrow(/does not match the logger's folder/);
    expect(audit.connectedHubs()).toEqual([]);
    const disconnect = enableRealtime({ logDir: `${temp.dir}/./` });
    expect(audit.connectedHubs()).toEqual([hubFor(temp.dir)]);
    disconnect();
    const logger = createLogger({ auditLifecycle: false, logDir: other.dir, console: false });
    expect(() => enableRealtime({ logger, logDir: temp.dir })).toThrow(AuditConfigError);
    const off = enableRealtime({ logger, logDir: other.dir });
    expect(logger.connectedHubs()).toEqual([hubFor(other.dir)]);
    off();
    return logger.shutdown();
  });

  it("createApp({ logDir }) connects the global logger when it writes that folder, and lets it go on close", async () => {
    configure({ auditLifecycle: false, logDir: temp.dir, console: false });
    expect(audit.connectedHubs()).toEqual([]);
    const elsewhere = createApp({ logDir: other.dir });
    expect(audit.connectedHubs()).toEqual([]);
    await elsewhere.auditViewer.close();
    const off = createApp({ logDir: temp.dir, realtime: false });
    expect(audit.connectedHubs()).toEqual([]);
    await off.auditViewer.close();

    const app = createApp({ logDir: temp.dir });
    expect(audit.connectedHubs()).toEqual([hubFor(temp.dir)]);
    const seen: string[] = [];
    const unsubscribe = hubFor(temp.dir).subscribe(({ entry }) => seen.push(String(entry.reference_no)));
    audit.logTransaction("Invoice posted", { referenceNo: "SI-AUTO-1" });
    expect(seen).toEqual(["SI-AUTO-1"]);
    unsubscribe();
    await app.auditViewer.close();
    expect(audit.connectedHubs()).toEqual([]);
  });

  it("keeps folders apart: a viewer never shows live entries written to another folder", async () => {
    const tenantA = createLogger({ auditLifecycle: false, logDir: join(temp.dir, "tenant-a"), console: false });
    const tenantB = createLogger({ auditLifecycle: false, logDir: join(other.dir, "tenant-b"), console: false });
    const offA = connectLogger(tenantA);
    const offB = connectLogger(tenantB);
    const viewerA = await startTestViewer({ logDir: join(temp.dir, "tenant-a") });
    try {
      const sse = new SseReader(`${viewerA.url}api/stream?after=0`);
      await eventually(() => sse.connected, 5000, "connected");
      tenantB.log("tenant B's entry", { requestId: "b-1" });
      tenantA.log("tenant A's entry", { requestId: "a-1" });
      await eventually(() => sse.entries().length === 1, 5000, "tenant A's entry");
      await viewerA.viewer.refresh();
      expect(sse.entries().map((e) => e.data.entry.request_id)).toEqual(["a-1"]);
      expect((await getJson(`${viewerA.url}api/recent`)).body.items.map((e: { request_id: string }) => e.request_id)).toEqual(["a-1"]);
      sse.close();
    } finally {
      offA();
      offB();
      await viewerA.close();
      await Promise.all([tenantA.shutdown(), tenantB.shutdown()]);
    }
  });

  it("configure() to another folder moves the global logger to that folder's hub", () => {
    configure({ auditLifecycle: false, logDir: temp.dir, console: false });
    const disconnect = enableRealtime();
    const explicit = new AuditHub();
    audit.connectHub(explicit);
    configure({ auditLifecycle: false, logDir: other.dir, console: false });
    expect(audit.connectedHubs()).toEqual([hubFor(other.dir), explicit]);
    disconnect();
  });

  it("connectLogger(logger, hub) publishes what that logger writes to that hub", async () => {
    const hub = new AuditHub();
    const logger = createLogger({ auditLifecycle: false, logDir: temp.dir, console: false });
    const disconnect = connectLogger(logger, hub);
    logger.log("first", { user: "u1" });
    disconnect();
    logger.log("second", { user: "u1" });
    await logger.shutdown();
    expect(hub.recent("audit").map((e) => e.description)).toEqual(["first"]);
  });
});
