/**
 * Every entry's unique, time-ordered id: a UUIDv7 in the line, on the
 * returned entry and in onAudit; strictly increasing within a process; and a
 * stable derived id for lines written without one (the Python original's).
 */
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AuditEntry, type AuditLogger, createLogger, entryFromDict, entryIdOf, entryToJsonLine } from "../src/index.js";
import { readJsonl, tempDir } from "./support/core-trail.js";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const UUID_V8 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let dir: string;
let cleanup: () => void;
let logger: AuditLogger;
const received: AuditEntry[] = [];
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
  received.length = 0;
  logger = createLogger({ auditLifecycle: false, logDir: dir, onAudit: (entry) => void received.push(entry) });
});
afterEach(async () => {
  await logger.shutdown();
  cleanup();
});

describe("entry ids", () => {
  it("are UUIDv7, unique, strictly increasing in write order, and the same in the line, the entry and onAudit", () => {
    const entries = Array.from({ length: 20_000 }, (_, i) => logger.log(`entry ${i}`));
    const lines = readJsonl(join(dir, "audit.jsonl"));
    const ids = lines.map((line) => line.id as string);
    expect(ids).toEqual(entries.map((entry) => entry.id));
    expect(received.map((entry) => entry.id)).toEqual(ids);
    for (const id of ids) expect(id).toMatch(UUID_V7);
    expect(new Set(ids).size).toBe(ids.length);
    // 20,000 entries in a few hundred milliseconds: many share a millisecond, and still sort in order.
    expect([...ids].sort()).toEqual(ids);
    // The first 48 bits are the entry's time, in every id (the time part changes from one millisecond to the next).
    const millisOf = (id: string) => Number.parseInt(id.replaceAll("-", "").slice(0, 12), 16);
    const offBy = lines.map((line) => Math.abs(millisOf(line.id as string) - Date.parse(line.timestamp as string)));
    expect(Math.max(...offBy)).toBeLessThanOrEqual(1);
    expect(new Set(ids.map(millisOf)).size).toBeGreaterThan(1);
  });

  it("read back with entryFromDict, and entryIdOf returns them as they are", () => {
    const entry = logger.logTransaction("Invoice posted", { amount: 5 });
    const line = readJsonl(join(dir, "audit.jsonl"))[0] as Record<string, unknown>;
    expect(entryFromDict(line).id).toBe(entry.id);
    expect(entryIdOf(line, JSON.stringify(line))).toBe(entry.id);
  });

  it("a line without an id (the Python original's) gets the same derived id every time, ordered by its time", () => {
    const earlier = '{"timestamp": "2026-06-28T16:10:59.123456+06:30", "level": "AUDIT", "description": "Invoice created"}';
    const later = '{"timestamp": "2026-06-28T16:11:00.000001+06:30", "level": "AUDIT", "description": "Invoice created"}';
    const idOf = (line: string) => entryIdOf(JSON.parse(line), line);
    expect(idOf(earlier)).toMatch(UUID_V8);
    expect(idOf(earlier)).toBe(idOf(earlier));
    expect(idOf(earlier)).not.toBe(idOf(later));
    expect(idOf(earlier) < idOf(later)).toBe(true);
    // Two lines differing only in content get different ids.
    expect(idOf(earlier)).not.toBe(idOf(earlier.replace("created", "posted")));
    // An id that is not a UUID is not trusted as one.
    expect(entryIdOf({ id: 'x"y', timestamp: "2026-06-28T16:10:59+06:30" }, "line")).toMatch(UUID_V8);
  });

  it("a hostile value in a field auditx writes unescaped stays valid JSON when read back and written again", () => {
    const hostile = { timestamp: 'x","level":"CRITICAL', level: "AUDIT", trace_id: 'a"b\n', hash: "}", description: "d" };
    const again = JSON.parse(entryToJsonLine(entryFromDict(hostile)));
    expect(again).toMatchObject({ timestamp: hostile.timestamp, level: "AUDIT", trace_id: hostile.trace_id, description: "d" });
  });
});
