/**
 * The viewer's REST answers beyond filtering: page sizes as auditX (100 by
 * default, up to 5000), one entry by its id (the permalink), the time
 * histogram of a filter, and the SSE replay of a trail after a cursor.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditHub, entryIdOf } from "../src/index.js";
import { histogramLayout, type RunningViewer } from "../src/viewer/index.js";
import { eventually } from "./support/eventually.js";
import {
  appendTrail,
  entryLine,
  getJson,
  type Line,
  SseReader,
  startTestViewer,
  viewerTempDir,
  writeTrail,
} from "./support/viewer-server.js";

const COUNT = 5200;
const MINUTE = 60_000;
const START = Date.UTC(2026, 5, 27, 20, 0, 0);

/** Entries a minute apart over about three and a half days, a failure every seventh, users and branches varied. */
function line(i: number): Line {
  const time = new Date(START + i * MINUTE);
  return {
    ...entryLine(i),
    timestamp: time.toISOString().replace("Z", "+00:00"),
    id: `019f0000-0000-7000-8000-${String(i).padStart(12, "0")}`,
    user: ["admin", "may.phyu", "kyaw.zin"][i % 3],
    branch_id: ["BR-YGN", "BR-MDY"][i % 2],
    module: ["sales", "inventory", "crm"][i % 3 === 0 ? 0 : i % 5 === 0 ? 1 : 2],
    success: i % 7 !== 0,
    level: i % 50 === 0 ? "SECURITY" : "AUDIT",
    ip: i % 10 === 0 ? `2001:db8::${i.toString(16)}` : `10.${(i >> 8) & 255}.${i & 255}.9`,
  };
}

describe("viewer queries: pages, entries by id, histogram, replay", () => {
  const temp = viewerTempDir();
  let running: RunningViewer;
  let base: string;
  const lines = Array.from({ length: COUNT }, (_, i) => line(i));
  // Two lines as the Python original writes them: no id.
  const legacy = [
    {
      timestamp: "2026-06-28T16:10:59.123456+06:30",
      level: "AUDIT",
      module: "sales",
      action: "POST",
      description: "Legacy one",
      user: "admin",
      ip: "::ffff:10.9.8.7",
    },
    {
      timestamp: "2026-06-28T16:11:00.000001+06:30",
      level: "AUDIT",
      module: "sales",
      action: "POST",
      description: "Legacy two",
      user: "admin",
    },
  ];

  beforeAll(async () => {
    writeTrail(join(temp.dir, "audit.jsonl"), [...lines, ...legacy]);
    writeTrail(
      join(temp.dir, "security.jsonl"),
      lines.filter((entry) => entry.level === "SECURITY"),
    );
    running = await startTestViewer({ logDir: temp.dir, hub: new AuditHub() });
    base = running.url;
  });
  afterAll(async () => {
    await running?.close();
    temp.cleanup();
  });

  const all = () => [...lines, ...legacy].reverse();

  it("gives 100 entries by default and up to 5000 per page, as auditX", async () => {
    const first = await getJson(`${base}api/entries`);
    expect(first.body.limit).toBe(100);
    expect(first.body.items).toHaveLength(100);
    expect(first.body.total).toBe(COUNT + 2);
    const big = await getJson(`${base}api/entries?limit=5000&offset=100`);
    expect(big.body.items).toHaveLength(5000);
    expect(big.body.items.map((e: Line) => e.description)).toEqual(
      all()
        .slice(100, 5100)
        .map((e) => e.description),
    );
    expect((await getJson(`${base}api/entries?limit=5001`)).status).toBe(400);
  });

  it("serves one entry by its id, also a line written without one (by its derived id), and 404 for none", async () => {
    const target = lines[4321]!;
    const byId = await getJson(`${base}api/entries/${target.id}`);
    expect(byId.status).toBe(200);
    expect(byId.body).toEqual({ entry: target, source: "audit" });

    // The page's rows carry the ids, the derived ones included: the permalink of any row works.
    const newest = await getJson(`${base}api/entries?limit=2`);
    const derived = legacy.map((entry) => entryIdOf(entry, JSON.stringify(entry))).reverse();
    expect(newest.body.items.map((e: Line) => e.id)).toEqual(derived);
    for (const [i, id] of derived.entries()) {
      const found = await getJson(`${base}api/entries/${id}`);
      expect(found.status, id).toBe(200);
      expect(found.body.entry).toEqual({ ...legacy[1 - i], id });
    }

    const security = lines.find((entry) => entry.level === "SECURITY")!;
    expect((await getJson(`${base}api/entries/${security.id}?source=security`)).body.entry).toEqual(security);
    const missing = await getJson(`${base}api/entries/019f0000-0000-7000-8000-999999999999`);
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ detail: "no entry has this id" });
    expect((await getJson(`${base}api/entries/${target.id}?source=nope`)).status).toBe(400);
  });

  it("filters by IP blocks over thousands of entries: IPv4 by number, IPv6 and mapped addresses by their line", async () => {
    const octets = (ip: unknown) => String(ip).replace("::ffff:", "").split(".").map(Number);
    const cases: Array<[string, (entry: Line) => boolean]> = [
      ["ip=10.3.0.0/16", (e) => !String(e.ip).startsWith("2001") && octets(e.ip)[0] === 10 && octets(e.ip)[1] === 3],
      ["ip=10.9.8.0/24", (e) => e.ip === "::ffff:10.9.8.7" || (!String(e.ip).startsWith("2001") && String(e.ip).startsWith("10.9.8."))],
      ["ip=2001:db8::/32", (e) => String(e.ip).startsWith("2001:db8::")],
      ["ip=2001:db8::64", (e) => e.ip === "2001:db8::64"],
      ["ip=::/0", (e) => e.ip !== undefined],
      ["ip=10.0.0.0/8,2001:db8::/32&success=false", (e) => e.ip !== undefined && e.success === false],
    ];
    for (const [query, predicate] of cases) {
      const expected = all().filter(predicate);
      expect(expected.length, query).toBeGreaterThan(0);
      const { body } = await getJson(`${base}api/entries?limit=5000&${query}`);
      expect(body.total, query).toBe(expected.length);
      expect(
        body.items.map((e: Line) => e.description),
        query,
      ).toEqual(expected.slice(0, 5000).map((e) => e.description));
    }
  });

  it("counts a filter's entries per round stretch of time, failures apart", async () => {
    const cases: Array<[string, (entry: Line) => boolean, { buckets: number; offsetMinutes: number }]> = [
      ["", () => true, { buckets: 60, offsetMinutes: 0 }],
      [
        "module=sales,crm&user=adm",
        (e) => (e.module === "sales" || e.module === "crm") && String(e.user).includes("adm"),
        { buckets: 24, offsetMinutes: 390 },
      ],
      ["success=false&branch_id=mdy", (e) => e.success === false && e.branch_id === "BR-MDY", { buckets: 200, offsetMinutes: -300 }],
    ];
    for (const [query, predicate, request] of cases) {
      const matching = [...lines, ...legacy].filter(predicate);
      const times = matching.map((entry) => Date.parse(String(entry.timestamp)));
      const first = Math.min(...times);
      const last = Math.max(...times);
      const layout = histogramLayout(first, last, request);
      const counts = new Array<number>(layout.buckets).fill(0);
      const failures = new Array<number>(layout.buckets).fill(0);
      for (const [i, entry] of matching.entries()) {
        const bucket = Math.floor((times[i]! - layout.start) / layout.bucketMs);
        counts[bucket]!++;
        if (entry.success === false) failures[bucket]!++;
      }
      const { status, body } = await getJson(`${base}api/histogram?${query}&buckets=${request.buckets}&tz_offset=${request.offsetMinutes}`);
      expect(status, query).toBe(200);
      expect(body, query).toEqual({
        source: "audit",
        start: layout.start,
        bucket_ms: layout.bucketMs,
        counts,
        failures,
        total: matching.length,
      });
      expect(body.counts.length, query).toBeLessThanOrEqual(request.buckets);
      // Edges fall on whole units of the zone asked for: hours (and days) start at the zone's midnight.
      expect((body.start + request.offsetMinutes * MINUTE) % Math.min(body.bucket_ms, 86_400_000), query).toBe(0);
    }
  });

  it("lays the histogram over the filter's own time range, and answers no matches and bad parameters", async () => {
    const from = "2026-06-28T00:00:00Z";
    const to = "2026-06-28T23:59:59.999Z";
    const { body } = await getJson(`${base}api/histogram?from=${from}&to=${to}&buckets=24`);
    expect(body.bucket_ms).toBe(3_600_000);
    expect(body.start).toBe(Date.parse(from));
    expect(body.counts).toHaveLength(24);
    // An entry a minute, and the two legacy lines at 09:40 UTC.
    expect(body.counts).toEqual(Array.from({ length: 24 }, (_, hour) => (hour === 9 ? 62 : 60)));
    const none = await getJson(`${base}api/histogram?user=nobody`);
    expect(none.body).toEqual({ source: "audit", start: null, bucket_ms: 0, counts: [], failures: [], total: 0 });
    for (const bad of ["buckets=0", "buckets=501", "tz_offset=900", "tz_offset=abc", "ip=nope"]) {
      const answer = await getJson(`${base}api/histogram?${bad}`);
      expect(answer.status, bad).toBe(400);
      expect(answer.body.detail[0].loc[1], bad).toBe(bad.split("=")[0]);
    }
  });

  it("replays a trail after a cursor, oldest first with each entry's cursor, then goes on live without a gap or a repeat", async () => {
    const sse = new SseReader(`${base}api/stream?after=5000`);
    const security = new SseReader(`${base}api/stream?source=security&after=100`);
    try {
      // Appended while the replay may still run: each arrives once, after the replayed ones.
      const added = Array.from({ length: 30 }, (_, i) => ({ ...line(COUNT + i), id: undefined, request_id: `live-${i}` }));
      appendTrail(join(temp.dir, "audit.jsonl"), added.slice(0, 10));
      await eventually(() => sse.entries().length >= 202 + 10, 20_000, "the replay and the first live entries");
      appendTrail(join(temp.dir, "audit.jsonl"), added.slice(10));
      await eventually(() => sse.entries().length === 202 + 30, 20_000, "all live entries");
      const received = sse.entries().map((event) => event.data);
      expect(received.map((data) => data.cursor)).toEqual(Array.from({ length: 232 }, (_, i) => 5001 + i));
      expect(received.map((data) => data.entry.description)).toEqual([
        ...lines.slice(5000).map((e) => e.description),
        ...legacy.map((e) => e.description),
        ...added.map((e) => e.description),
      ]);
      expect(new Set(received.map((data) => data.transport))).toEqual(new Set(["file"]));
      // The stats tell the trail's current cursor: where a stream of what comes next starts.
      expect((await getJson(`${base}api/stats`)).body.audit.cursor).toBe(5232);
      const securityLines = lines.filter((entry) => entry.level === "SECURITY");
      await eventually(() => security.entries().length === securityLines.length - 100, 10_000, "the security replay");
      expect(security.entries().map((event) => event.data.entry.id)).toEqual(securityLines.slice(100).map((e) => e.id));
      expect(security.entries().every((event) => event.data.source === "security")).toBe(true);
      expect((await getJson(`${base}api/stream?after=-1`)).status).toBe(400);
    } finally {
      sse.close();
      security.close();
    }
  });
});
