/**
 * A trail file deleted, moved or truncated while the logger writes it is an
 * incident: it is noticed at once (the folder is watched; a check every
 * second is the fallback), the writer opens a new file, writes there again
 * the recent lines the change took, and records the incident as a SECURITY
 * entry. No record a call acknowledged after the change is lost.
 */
import { readFileSync, renameSync, rmSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AuditLogger, createLogger, verifyTrail } from "../src/index.js";
import { readJsonl, tempDir } from "./support/core-trail.js";
import { eventually } from "./support/eventually.js";

let dir: string;
let cleanup: () => void;
let logger: AuditLogger | undefined;
beforeEach(() => {
  ({ dir, cleanup } = tempDir("auditx-vanish-"));
});
afterEach(async () => {
  await logger?.shutdown();
  logger = undefined;
  cleanup();
});

const auditPath = () => join(dir, "audit.jsonl");
const incidents = (event: string) =>
  readJsonl(auditPath()).filter((record) => (record.metadata as { auditx_event?: string } | undefined)?.auditx_event === event);
const descriptions = (path = auditPath()) => readJsonl(path).map((record) => String(record.description));

describe.each([
  ["watching the folder", true, 600],
  ["the periodic check alone (watch: false)", false, 2500],
])("a trail file that vanishes, noticed by %s", (_how, watch, noticeWithinMs) => {
  it("deleted: noticed at once, a SECURITY entry says so, the lines written after the deletion are in the new file", async () => {
    logger = createLogger({ logDir: dir, watch, integrity: true });
    for (let i = 0; i < 10; i++) logger.log(`before ${i}`);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the file has been checked since
    logger.log("checked");
    rmSync(auditPath());
    // A burst right after the deletion, before the event loop turns: these land in the deleted file first.
    for (let i = 0; i < 5; i++) logger.log(`burst ${i}`);
    const removed = Date.now();
    const incident = await eventually(() => incidents("trail.file_removed")[0], noticeWithinMs + 2000, "the removal entry");
    expect(Date.now() - removed).toBeLessThan(noticeWithinMs);
    expect(incident).toMatchObject({
      level: "SECURITY",
      user: "auditx",
      module: "system",
      action: "DELETE",
      entity_id: "audit.jsonl",
      success: false,
    });
    expect(String(incident.description)).toMatch(/^audit\.jsonl was removed while in use: a new one was opened; 6 recent line\(s\)/);
    for (let i = 0; i < 5; i++) logger.log(`after ${i}`);
    const now = descriptions();
    for (const description of [
      "checked",
      ...Array.from({ length: 5 }, (_, i) => `burst ${i}`),
      ...Array.from({ length: 5 }, (_, i) => `after ${i}`),
    ]) {
      expect(now).toContain(description);
    }
    expect(now.filter((d) => d.startsWith("before"))).toEqual([]);
    expect(logger.stats().trail.incidents.removed).toBe(1);
    expect(readFileSync(join(dir, "app.log"), "utf8")).toContain("audit.jsonl was removed while in use");
    // verify sees what is gone (the deleted lines) and the recorded incident explains it.
    const report = await verifyTrail({ logDir: dir });
    expect(report.ok).toBe(false);
    expect(report.problems.map((problem) => problem.kind)).toContain("chain-start-missing");
    expect(report.notes.some((note) => note.kind === "incident" && note.detail.includes("removed while in use"))).toBe(true);
  });

  it("renamed: noticed at once, the entry names where it went, nothing is written twice", async () => {
    logger = createLogger({ logDir: dir, watch });
    for (let i = 0; i < 10; i++) logger.log(`before ${i}`);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    renameSync(auditPath(), join(dir, "audit.jsonl.bak"));
    const incident = await eventually(() => incidents("trail.file_renamed")[0], noticeWithinMs + 2000, "the rename entry");
    expect(String(incident.description)).toBe("audit.jsonl was renamed to audit.jsonl.bak while in use: a new one was opened");
    logger.log("after");
    expect(descriptions(join(dir, "audit.jsonl.bak"))).toEqual(Array.from({ length: 10 }, (_, i) => `before ${i}`));
    expect(descriptions()).toEqual([String(incident.description), "after"]);
  });

  it("truncated: noticed, the recent lines it took are written again", async () => {
    logger = createLogger({ logDir: dir, watch });
    for (let i = 0; i < 10; i++) logger.log(`before ${i}`);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    for (let i = 0; i < 3; i++) logger.log(`recent ${i}`);
    truncateSync(auditPath(), 0);
    const incident = await eventually(() => incidents("trail.file_truncated")[0], noticeWithinMs + 2000, "the truncation entry");
    expect(String(incident.description)).toMatch(/audit\.jsonl was truncated while in use \(to 0 bytes\).*3 recent line\(s\)/);
    const now = descriptions();
    expect(now.filter((d) => d.startsWith("recent"))).toEqual(["recent 0", "recent 1", "recent 2"]);
    expect(logger.stats().trail.incidents.truncated).toBe(1);
  });
});
