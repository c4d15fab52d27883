import { appendFileSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { entryIdOf } from "../src/index.js";
import { type JsonlTrailSource, type RunningViewer, type StartViewerOptions, startViewer } from "../src/viewer/index.js";
import { histogramLayout } from "../src/viewer/TimeHistogram.js";
import { eventually } from "./support/eventually.js";
import { entryLine, getJson, type Line, viewerTempDir } from "./support/viewer-server.js";

const PARTIES = ["Golden Trading Co.", "Shwe Pyi Distribution", "Ayeyar Logistics", "Royal Ruby Traders"];
const USERS = ["alice", "Bob", "carol", "dave"];

/** An entry with values of every kind the index treats differently: few values, templates (digits), unique ids. */
function richLine(i: number, extra: Line = {}): Line {
  const ref = `SI-2026-${String(i).padStart(6, "0")}`;
  return entryLine(i, {
    user: USERS[i % USERS.length],
    module: i % 3 === 0 ? "inventory" : "sales",
    description: `Invoice ${ref} posted for ${PARTIES[i % PARTIES.length]}`,
    reference_no: ref,
    amount: 1000 + ((i * 7919) % 100_000),
    request_id: `${(i * 2654435761).toString(16).padStart(8, "0")}-${i.toString(16)}`,
    metadata: { channel: i % 2 ? "pos" : "web", tags: [`t${i % 5}`] },
    // Fields few entries have (kept as positions and ids only).
    ...(i % 20 === 0 ? { entity_type: "contract", old_values: { status: "draft", party: PARTIES[(i / 20) % PARTIES.length] } } : {}),
    ...extra,
  });
}

function lines(from: number, to: number, make = richLine): string {
  let text = "";
  for (let i = from; i < to; i++) text += `${JSON.stringify(make(i))}\n`;
  return text;
}

const rotatedName = (n: number) => `audit.20260628T0${n}0000.000Z.${(0xa00000 + n).toString(16)}.jsonl`;

/** Whether any value of the entry (nested ones too, field names not) contains `q`, ignoring ASCII case. */
function valuesContain(value: unknown, q: string): boolean {
  if (value !== null && typeof value === "object") return Object.values(value).some((item) => valuesContain(item, q));
  if (value === null || value === undefined || value === "") return false;
  return String(value).toLowerCase().includes(q.toLowerCase());
}

/** Every entry of the trail's files, oldest first, each with its id (what the viewer must answer from). */
function readTrail(dir: string): Line[] {
  const names = readdirSync(dir)
    .filter((name) => /^audit\.\d{8}T.*\.jsonl$/.test(name))
    .sort();
  if (readdirSync(dir).includes("audit.jsonl")) names.push("audit.jsonl");
  return names.flatMap((name) =>
    readFileSync(join(dir, name), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => withId(line)),
  );
}

/** The entry of a line as a source gives it: with its own id, or the one derived from the line. */
function withId(line: string): Line {
  const entry = JSON.parse(line) as Line;
  if (entry.id !== undefined) return entry;
  const given = { ...entry, id: entryIdOf(entry, line) };
  written.set(given, entry);
  return given;
}

/** The entries as written of those given a derived id (free text searches what is written, not derived ids). */
const written = new WeakMap<Line, Line>();

const QUERIES = [
  "limit=500",
  "limit=500&user=bob",
  "limit=500&module=INVENTORY&success=true",
  "limit=500&reference_no=SI-2026-000042",
  "limit=500&q=golden%20trading",
  "limit=500&q=ROYAL",
  "limit=500&q=SI-2026-0001",
  "limit=500&q=4a",
  "limit=500&q=pos",
  "limit=500&q=t3",
  "limit=500&q=reference_no",
  "limit=500&q=DRAFT",
  "limit=500&entity_type=contract&q=ruby",
  "limit=500&offset=37&limit=20&q=invoice",
];

describe("viewer index: large trails, persisted, never blocking", () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  function temp(): string {
    const t = viewerTempDir();
    cleanups.push(t.cleanup);
    return t.dir;
  }
  async function viewer(logDir: string, options: Partial<StartViewerOptions> = {}): Promise<RunningViewer> {
    const running = await startViewer({
      logDir,
      host: "127.0.0.1",
      port: 0,
      pollIntervalMs: 100,
      realtime: false,
      auditReads: false,
      ...options,
    });
    cleanups.push(() => running.close());
    return running;
  }
  const progress = (running: RunningViewer) => (running.viewer.source as JsonlTrailSource).progress().audit;
  async function answers(running: RunningViewer): Promise<unknown[]> {
    const result: unknown[] = [];
    for (const query of QUERIES) result.push((await getJson(`${running.url}api/entries?${query}`)).body);
    return result;
  }

  it("answers while it indexes: newest entries first, totals marked partial, progress in the stats", async () => {
    const dir = temp();
    const perSegment = 15_000;
    for (let s = 0; s < 4; s++) writeFileSync(join(dir, rotatedName(s + 1)), lines(s * perSegment, (s + 1) * perSegment));
    writeFileSync(join(dir, "audit.jsonl"), lines(4 * perSegment, 5 * perSegment));
    const total = 5 * perSegment;
    // On this thread, in slices: the live file first, then the older segments, one after another.
    const running = await viewer(dir, { indexDir: false, indexThreads: 0 });
    let partialStats: { total: number; partial?: boolean; indexing?: { done: number; total: number } } | null = null;
    await eventually(
      async () => {
        const { body } = await getJson(`${running.url}api/stats`);
        if (body.audit.partial && body.audit.total > 0) partialStats = body.audit;
        return partialStats !== null || !body.audit.partial;
      },
      30_000,
      "a partial answer",
    );
    expect(partialStats, "the build finished before any partial answer was seen").not.toBeNull();
    const seen = partialStats!;
    expect(seen.total).toBeLessThan(total);
    expect(seen.indexing!.done).toBeLessThan(seen.indexing!.total);
    expect(seen.indexing!.total).toBeGreaterThan(0);
    const page = await getJson(`${running.url}api/entries?limit=5`);
    if (page.body.partial) {
      // What is indexed first is the newest: the first page is already the right one.
      expect(page.body.items.map((e: Line) => e.request_id)).toEqual(
        [total - 1, total - 2, total - 3, total - 4, total - 5].map((i) => richLine(i).request_id),
      );
      expect(page.body.total).toBeLessThan(total);
    }
    await running.viewer.ready;
    const done = await getJson(`${running.url}api/entries?limit=1`);
    expect(done.body.total).toBe(total);
    expect(done.body.partial).toBeUndefined();
    const stats = await getJson(`${running.url}api/stats`);
    expect(stats.body.audit.total).toBe(total);
    expect(stats.body.audit.partial).toBeUndefined();
    expect(stats.body.audit.indexing).toBeUndefined();
  });

  it("keeps a light request fast while a heavy search runs, with worker threads and without", async () => {
    const dir = temp();
    writeFileSync(join(dir, rotatedName(1)), lines(0, 20_000));
    writeFileSync(join(dir, "audit.jsonl"), lines(20_000, 40_000));
    for (const indexThreads of [undefined, 0]) {
      const running = await viewer(dir, { indexDir: false, indexThreads });
      await running.viewer.ready;
      await getJson(`${running.url}api/entries?limit=50`);
      {
        // Digits that every timestamp holds: no dictionary can answer, every line is read and checked.
        const q = "2026-";
        const started = performance.now();
        let heavyDone = false;
        const heavy = getJson(`${running.url}api/entries?q=${q}&limit=10`).then((response) => {
          heavyDone = true;
          return { response, ms: performance.now() - started };
        });
        const light: number[] = [];
        while (!heavyDone) {
          const start = performance.now();
          const { status, body } = await getJson(`${running.url}api/entries?limit=50`);
          expect(status).toBe(200);
          expect(body.items).toHaveLength(50);
          light.push(performance.now() - start);
        }
        const { response, ms } = await heavy;
        expect(response.body.total).toBe(40_000);
        expect(light.length, `light requests during a ${ms.toFixed(0)} ms search`).toBeGreaterThanOrEqual(3);
        // The light requests took a small part of the heavy one: none waited for it (one that did
        // would take about as long as the search). The max allows one hiccup of a busy machine.
        const sorted = [...light].sort((a, b) => a - b);
        const message = `threads ${indexThreads ?? "default"}: light ${light.map((t) => t.toFixed(0)).join(",")} ms vs heavy ${ms.toFixed(0)} ms`;
        expect(sorted[Math.floor(sorted.length / 2)], message).toBeLessThan(ms / 5);
        expect(sorted.at(-1), message).toBeLessThan(ms / 2);
      }
      await running.close();
    }
  });

  it("gives the same answers from a fresh build, from the persisted index, and without one", async () => {
    const dir = temp();
    const indexDir = join(temp(), "index");
    writeFileSync(join(dir, rotatedName(1)), lines(0, 3000));
    writeFileSync(join(dir, rotatedName(2)), lines(3000, 6000));
    writeFileSync(join(dir, "audit.jsonl"), lines(6000, 9000));
    const expected = readTrail(dir).reverse();
    const fresh = await viewer(dir, { indexDir });
    await fresh.viewer.ready;
    const first = await answers(fresh);
    expect(progress(fresh).loadedChunks).toBe(0);
    await fresh.close();
    const restarted = await viewer(dir, { indexDir });
    await restarted.viewer.ready;
    expect(progress(restarted)).toMatchObject({ builtChunks: 0, complete: true });
    expect(progress(restarted).loadedChunks).toBeGreaterThan(0);
    expect(await answers(restarted)).toEqual(first);
    const memory = await viewer(dir, { indexDir: false, indexThreads: 0 });
    await memory.viewer.ready;
    expect(await answers(memory)).toEqual(first);
    // An export streams every match, newest first, over many batches.
    const exported = (await (await fetch(`${restarted.url}api/export?format=jsonl&module=sales`)).text())
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(exported).toEqual(expected.filter((entry) => entry.module === "sales"));
    // And the answers are the trail's: checked against the files for the free-text queries.
    for (const [k, query] of QUERIES.entries()) {
      const q = new URLSearchParams(query).get("q");
      if (!q || query.includes("offset")) continue;
      const type = new URLSearchParams(query).get("entity_type");
      const matching = expected.filter(
        (entry) => valuesContain(written.get(entry) ?? entry, q) && (type === null || entry.entity_type === type),
      );
      const body = first[k] as { total: number; items: Line[] };
      expect(body.total, query).toBe(matching.length);
      expect(body.items, query).toEqual(matching.slice(0, 500));
    }
  });

  it("reuses the persisted index after a rotation and an append, and re-indexes a segment truncated or replaced", async () => {
    const dir = temp();
    const indexDir = join(temp(), "index");
    writeFileSync(join(dir, rotatedName(1)), lines(0, 2000));
    writeFileSync(join(dir, "audit.jsonl"), lines(2000, 4000));
    const first = await viewer(dir, { indexDir });
    await first.viewer.ready;
    await first.close();

    // Rotated (renamed, same inode) and a new live file, while the viewer was down.
    renameSync(join(dir, "audit.jsonl"), join(dir, rotatedName(2)));
    writeFileSync(join(dir, "audit.jsonl"), lines(4000, 4500));
    const second = await viewer(dir, { indexDir });
    await second.viewer.ready;
    expect(progress(second).builtChunks, "only the new live file is built").toBe(1);
    expect((await getJson(`${second.url}api/entries?limit=1`)).body.total).toBe(4500);
    await second.close();

    // Appended to: only the new lines are read.
    appendFileSync(join(dir, "audit.jsonl"), lines(4500, 4600));
    const third = await viewer(dir, { indexDir });
    await third.viewer.ready;
    expect(progress(third).builtChunks).toBe(1);
    const appended = await getJson(`${third.url}api/entries?limit=3`);
    expect(appended.body.total).toBe(4600);
    expect(appended.body.items.map((e: Line) => e.request_id)).toEqual([4599, 4598, 4597].map((i) => richLine(i).request_id));
    await third.close();

    // Truncated and written again (copytruncate), shorter: nothing stale is served.
    writeFileSync(join(dir, "audit.jsonl"), lines(9000, 9010));
    // A rotated segment replaced by other content of the same size: found by its digests.
    const replacedPath = join(dir, rotatedName(1));
    const original = readFileSync(replacedPath, "utf8");
    writeFileSync(replacedPath, original.replace('"user":"alice"', '"user":"alicf"'));
    expect(statSync(replacedPath).size).toBe(Buffer.byteLength(original));
    const fourth = await viewer(dir, { indexDir });
    await fourth.viewer.ready;
    expect(progress(fourth).builtChunks).toBe(2);
    expect((await getJson(`${fourth.url}api/entries?user=alicf`)).body.total).toBe(1);
    const all = await getJson(`${fourth.url}api/entries?limit=500&q=SI-2026-0090`);
    expect(all.body.items.map((e: Line) => e.request_id)).toEqual(
      readTrail(dir)
        .reverse()
        .filter((e) => valuesContain(written.get(e) ?? e, "SI-2026-0090"))
        .map((e) => e.request_id),
    );
    expect((await getJson(`${fourth.url}api/entries?limit=1`)).body.total).toBe(readTrail(dir).length);
  });

  it("indexes a segment compressed while it runs, through its .gz, with no unpacked copy, and reuses it after a restart", async () => {
    const dir = temp();
    const indexDir = join(temp(), "index");
    const rotated = join(dir, rotatedName(1));
    writeFileSync(rotated, lines(0, 3000));
    writeFileSync(join(dir, "audit.jsonl"), lines(3000, 3100));
    const running = await viewer(dir, { indexDir });
    await running.viewer.ready;
    const before = await answers(running);
    // The rotation compresses the segment in the background: the .gz appears, then the plain file goes.
    const plain = readFileSync(rotated);
    writeFileSync(`${rotated}.gz`, gzipSync(plain));
    unlinkSync(rotated);
    await running.viewer.refresh();
    await eventually(() => progress(running).complete, 20_000, "the .gz indexed");
    expect(await answers(running)).toEqual(before);
    // An entry inside the .gz, by its derived id (it has no id field).
    const line = plain.toString("utf8").split("\n")[1234]!;
    const entry = withId(line);
    const id = entryIdOf(JSON.parse(line), line);
    expect(entry.id).toBe(id);
    const byId = await getJson(`${running.url}api/entries/${id}`);
    expect(byId.status).toBe(200);
    expect(byId.body.entry).toEqual(entry);
    // Nothing unpacked to disk: the log folder and the index hold no plain copy of the segment.
    expect(readdirSync(dir).sort()).toEqual([`${rotatedName(1)}.gz`, "audit.jsonl"]);
    await running.close();
    const storeBytes = readdirSync(join(indexDir, "audit.jsonl"))
      .filter((name) => name.endsWith(".lines"))
      .map((name) => statSync(join(indexDir, "audit.jsonl", name)).size);
    expect(storeBytes).toHaveLength(1);
    expect(storeBytes[0]).toBeLessThan(plain.length / 2);

    const restarted = await viewer(dir, { indexDir });
    await restarted.viewer.ready;
    expect(progress(restarted).builtChunks).toBe(0);
    expect(await answers(restarted)).toEqual(before);
  });

  it("names a .gz segment it cannot read, and serves the rest", async () => {
    const dir = temp();
    writeFileSync(join(dir, `${rotatedName(1)}.gz`), Buffer.concat([gzipSync(lines(0, 50)).subarray(0, 200), Buffer.from("not gzip")]));
    writeFileSync(join(dir, "audit.jsonl"), lines(50, 60));
    const running = await viewer(dir, { indexDir: false });
    await running.viewer.ready;
    const { body } = await getJson(`${running.url}api/stats`);
    expect(body.audit.unreadable).toEqual([`${rotatedName(1)}.gz`]);
    expect(body.audit.total).toBe(10);
  });

  it("finds an entry by its id, or by the id derived from a line written without one", async () => {
    const dir = temp();
    const withId = entryLine(1, { id: "01936d3c-9d2a-7b4e-8f00-0123456789ab", description: "has an id" });
    const withoutId = entryLine(2, { description: "written by the original" });
    const lineWithout = JSON.stringify(withoutId);
    writeFileSync(join(dir, "audit.jsonl"), `${JSON.stringify(withId)}\n${lineWithout}\n${JSON.stringify(entryLine(3))}\n`);
    const running = await viewer(dir, { indexDir: false });
    await running.viewer.ready;
    const found = await getJson(`${running.url}api/entries/01936d3c-9d2a-7b4e-8f00-0123456789ab`);
    expect(found.status).toBe(200);
    expect(found.body).toEqual({ entry: withId, source: "audit" });
    const derived = entryIdOf(withoutId, lineWithout);
    expect(derived).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect((await getJson(`${running.url}api/entries/${derived}`)).body.entry).toEqual({ ...withoutId, id: derived });
    expect((await getJson(`${running.url}api/entries/01936d3c-9d2a-7b4e-8f00-0123456789ac`)).status).toBe(404);
    expect((await getJson(`${running.url}api/entries/${derived}?source=security`)).status).toBe(404);
    expect((await getJson(`${running.url}api/entries/${derived}?source=nope`)).status).toBe(400);
  });

  it("counts address blocks, filtered histograms and lookups by id over many chunks as a scan of the lines does, built and restarted", async () => {
    const dir = temp();
    const indexDir = join(dir, ".index");
    const COUNT = 150_000;
    const MODULES = ["sales", "crm", "hr"];
    const idAt = (i: number) => {
      // A few ids carry a time far from their entry's (a clock set wrong): found all the same.
      const millis = i % 40_000 === 7 ? Date.UTC(2001, 0, 1) + i : Date.UTC(2026, 0, 1) + i * 1000;
      const hex = millis.toString(16).padStart(12, "0");
      return `${hex.slice(0, 8)}-${hex.slice(8)}-7000-8000-${i.toString(16).padStart(12, "0")}`;
    };
    const make = (i: number): Line => ({
      timestamp: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString().replace("Z", "+00:00"),
      module: MODULES[i % 3],
      success: i % 11 !== 0,
      // Blocks 10.0-10.3 in the older half, 10.4-10.7 in the newer; IPv6 only in the newest entries.
      ip:
        i > 140_000 && i % 5 === 0
          ? `2001:db8::${(i & 0xffff).toString(16)}`
          : `10.${(i < COUNT / 2 ? 0 : 4) + (i % 4)}.${(i >> 4) & 255}.${i & 15}`,
      id: idAt(i),
    });
    const entries = Array.from({ length: COUNT }, (_, i) => make(i));
    writeFileSync(
      join(dir, rotatedName(1)),
      entries
        .slice(0, 80_000)
        .map((e) => `${JSON.stringify(e)}\n`)
        .join(""),
    );
    writeFileSync(
      join(dir, "audit.jsonl"),
      entries
        .slice(80_000)
        .map((e) => `${JSON.stringify(e)}\n`)
        .join(""),
    );
    const newestFirst = [...entries].reverse();
    const inBlock = (ip: unknown, cidr: string) => {
      const [base, bits] = cidr.split("/") as [string, string];
      const number = (text: string) => text.split(".").reduce((sum, part) => sum * 256 + Number(part), 0);
      if (typeof ip !== "string" || ip.includes(":")) return false;
      const size = 2 ** (32 - Number(bits));
      return Math.floor(number(ip) / size) === Math.floor(number(base) / size);
    };
    const cases: Array<[string, (e: Line) => boolean]> = [
      ["ip=10.1.0.0/16", (e) => inBlock(e.ip, "10.1.0.0/16")],
      ["ip=10.6.0.0/15", (e) => inBlock(e.ip, "10.6.0.0/15")],
      ["ip=10.5.3.0/24", (e) => inBlock(e.ip, "10.5.3.0/24")],
      ["ip=10.0.0.0/8,10.5.0.0/16", (e) => inBlock(e.ip, "10.0.0.0/8")],
      ["ip=10.9.0.0/16", () => false],
      ["ip=2001:db8::/32", (e) => String(e.ip).startsWith("2001:db8::")],
      ["ip=10.2.0.0/16&module=crm", (e) => inBlock(e.ip, "10.2.0.0/16") && e.module === "crm"],
    ];
    const histograms: Array<[string, (e: Line) => boolean]> = [
      ["module=crm", (e) => e.module === "crm"],
      ["module=hr&success=false", (e) => e.module === "hr" && e.success === false],
      ["ip=10.5.0.0/16", (e) => inBlock(e.ip, "10.5.0.0/16")],
      [
        `from=${new Date(Date.UTC(2026, 0, 1) + 50_000_000).toISOString()}&module=sales`,
        (e) => e.module === "sales" && Date.parse(String(e.timestamp)) >= Date.UTC(2026, 0, 1) + 50_000_000,
      ],
    ];
    const check = async (running: RunningViewer) => {
      for (const [query, test] of cases) {
        const expected = newestFirst.filter(test);
        const { body } = await getJson(`${running.url}api/entries?limit=100&${query}`);
        expect(body.total, query).toBe(expected.length);
        expect(
          body.items.map((e: Line) => e.id),
          query,
        ).toEqual(expected.slice(0, 100).map((e) => e.id));
      }
      for (const [query, test] of histograms) {
        const matching = entries.filter(test);
        const times = matching.map((e) => Date.parse(String(e.timestamp)));
        const from = query.startsWith("from=") ? Date.UTC(2026, 0, 1) + 50_000_000 : Math.min(...times);
        const layout = histogramLayout(from, Math.max(...times), { buckets: 60 });
        const counts = new Array<number>(layout.buckets).fill(0);
        const failures = new Array<number>(layout.buckets).fill(0);
        matching.forEach((e, k) => {
          const bucket = Math.floor((times[k]! - layout.start) / layout.bucketMs);
          counts[bucket]!++;
          if (e.success === false) failures[bucket]!++;
        });
        const { body } = await getJson(`${running.url}api/histogram?buckets=60&${query}`);
        expect(body, query).toMatchObject({ start: layout.start, bucket_ms: layout.bucketMs, counts, failures, total: matching.length });
      }
      for (const i of [0, 7, 40_007, 77_777, 120_007, COUNT - 1]) {
        expect((await getJson(`${running.url}api/entries/${idAt(i)}`)).body.entry, `entry ${i}`).toEqual(entries[i]);
      }
      expect((await getJson(`${running.url}api/entries/${idAt(COUNT)}`)).status).toBe(404);
    };
    const built = await viewer(dir, { indexDir });
    await built.viewer.ready;
    expect(progress(built).builtChunks).toBeGreaterThan(2);
    await check(built);
    await built.close();
    const restarted = await viewer(dir, { indexDir });
    await restarted.viewer.ready;
    expect(progress(restarted).loadedChunks).toBeGreaterThan(2);
    await check(restarted);
  }, 120_000);

  it("filters by service and host, exactly", async () => {
    const dir = temp();
    writeFileSync(
      join(dir, "audit.jsonl"),
      lines(0, 30, (i) => entryLine(i, { service: i % 2 ? "erp-api" : "billing", hostname: `host-${i % 3}` })),
    );
    const running = await viewer(dir, { indexDir: false });
    await running.viewer.ready;
    const ids = async (query: string) =>
      (await getJson(`${running.url}api/entries?limit=100&${query}`)).body.items.map((e: Line) => e.request_id);
    const expected = (test: (i: number) => boolean) =>
      Array.from({ length: 30 }, (_, i) => 29 - i)
        .filter(test)
        .map((i) => `req-${i}`);
    expect(await ids("service=billing")).toEqual(expected((i) => i % 2 === 0));
    expect(await ids("service=billing&hostname=host-1")).toEqual(expected((i) => i % 2 === 0 && i % 3 === 1));
    expect(await ids("service=Billing")).toEqual([]);
  });
});
