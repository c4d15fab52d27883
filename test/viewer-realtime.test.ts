import { afterAll, describe, expect, it } from "vitest";
import { AuditHub, audit, configure, createLogger } from "../src/index.js";
import { connectLogger, enableRealtime } from "../src/viewer/index.js";
import { eventually } from "./support/eventually.js";
import { getJson, SseReader, startTestViewer, viewerTempDir } from "./support/viewer-server.js";

describe("enableRealtime and connectLogger", () => {
  const temp = viewerTempDir();
  afterAll(async () => {
    await audit.shutdown();
    temp.cleanup();
  });

  it("enableRealtime() pushes the global audit logger's entries to a viewer on the default hub, once", async () => {
    configure({ logDir: temp.dir, console: false });
    const disconnect = enableRealtime();
    const running = await startTestViewer({ logDir: temp.dir });
    try {
      const sse = new SseReader(`${running.url}api/stream`);
      await eventually(() => sse.events.length > 0, 5000, "connected");
      audit.logTransaction("Sales invoice posted", { referenceNo: "SI-REALTIME-1", user: "admin" });
      await eventually(() => sse.entries().length === 1, 5000, "the pushed entry");
      expect(sse.entries()[0]!.data).toMatchObject({ type: "entry", source: "audit", entry: { reference_no: "SI-REALTIME-1" } });
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

  it("connectLogger(logger, hub) publishes what that logger writes to that hub", async () => {
    const hub = new AuditHub();
    const logger = createLogger({ logDir: temp.dir, console: false });
    const disconnect = connectLogger(logger, hub);
    logger.log("first", { user: "u1" });
    disconnect();
    logger.log("second", { user: "u1" });
    await logger.shutdown();
    expect(hub.recent("audit").map((e) => e.description)).toEqual(["first"]);
  });
});
