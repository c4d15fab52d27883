/**
 * The viewer over the PostgreSQL store, against a real server: the same page
 * and REST API as over a log folder (each filter, totals, stats, entity
 * history, export answer exactly as the JSONL source does for the same
 * trail), plus service and host filters across services, and live entries
 * from the shippers' NOTIFY.
 */
import { execFile, spawn } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditAction, type AuditLogger, createLogger, entryIdOf } from "../src/index.js";
import { Shipper } from "../src/store/Shipper.js";
import { type RunningViewer, startViewer } from "../src/viewer/index.js";
import { ROOT } from "./support/core-trail.js";
import { eventually } from "./support/eventually.js";
import { usePostgres } from "./support/postgres.js";
import { journalIds } from "./support/store.js";
import { entryLine, getJson, type Line, SseReader, startTestViewer, viewerTempDir, writeTrail } from "./support/viewer-server.js";

const run = promisify(execFile);
const CLI = join(ROOT, "dist", "cli", "main.js");
const USERS = ["alice", "Bob", "carol", "dave"];
const MODULES = ["sales", "inventory", "accounting", "service"];
const ACTIONS = ["POST", "UPDATE", "APPROVE", "VOID"];
const PARTIES = ["Golden Trading Co.", "Mandalay Steel", "Yangon Rice Mill"];

/** A varied trail of one service: spread over about three weeks, with failures, security events, entities and metadata. */
function trailLines(service: string, hostname: string, count: number, start: number): Line[] {
  return Array.from({ length: count }, (_, i) => {
    const n = start + i;
    const line = entryLine(n * 53, {
      level: n % 17 === 0 ? "CRITICAL" : n % 9 === 0 ? "SECURITY" : n % 11 === 0 ? "ERROR" : "AUDIT",
      module: MODULES[n % MODULES.length],
      action: ACTIONS[n % ACTIONS.length],
      description: `${MODULES[n % MODULES.length]} document ${n} for ${PARTIES[n % PARTIES.length]}`,
      user: USERS[n % USERS.length],
      company_id: n % 5 === 0 ? "CO-002" : "CO-001",
      branch_id: n % 3 === 0 ? "BR-MDY" : "BR-YGN",
      entity_type: n % 2 ? "sales_invoice" : "customer",
      entity_id: `E-${n % 40}`,
      reference_no: `REF-${n}`,
      request_id: `req-${service}-${n}`,
      amount: n * 1000.5,
      currency: "MMK",
      metadata: { party: PARTIES[n % PARTIES.length], line_count: n % 7, note: n % 13 === 0 ? "Urgent: credit hold" : "routine" },
      status: n % 8 === 0 ? 403 : 200,
      success: n % 8 !== 0,
      hostname,
      service,
      // IPv4, an IPv4 client seen by a dual-stack server, IPv6, another IPv4 network, a value that is no address.
      ip: [`10.1.${n % 4}.${n % 250}`, `::ffff:10.1.2.${n % 250}`, `2001:db8::${(n % 16).toString(16)}`, `192.168.${n % 3}.7`, "unknown"][
        n % 5
      ],
    });
    return line;
  });
}

/** CSV records with JSON cells parsed (the export quotes cells with "" and writes maps as JSON). */
function csvRecords(text: string): unknown[][] {
  return text
    .replace(/^\uFEFF/, "")
    .trim()
    .split("\r\n")
    .map((line) => {
      const cells: unknown[] = [];
      for (const match of line.matchAll(/("(?:[^"]|"")*"|[^,]*)(,|$)/g)) {
        if (match[0] === "" && match.index === line.length) break;
        const raw = match[1] as string;
        const cell = raw.startsWith('"') ? raw.slice(1, -1).replaceAll('""', '"') : raw;
        cells.push(cell.startsWith("{") ? JSON.parse(cell) : cell);
      }
      return cells;
    });
}

describe("the viewer over the PostgreSQL store", () => {
  const postgres = usePostgres();
  const sales = viewerTempDir();
  const stock = viewerTempDir();
  let dbUrl = "";
  let overFolder: RunningViewer;
  let overStore: RunningViewer;
  /** Every combination of filters read through its indexes' bitmaps, as a large store reads those found together seldom. */
  let overStoreSparse: RunningViewer;
  let written: AuditLogger;

  beforeAll(async () => {
    // As the logger writes them: every entry in audit.jsonl, the SECURITY and CRITICAL ones in security.jsonl too.
    for (const [dir, lines] of [
      [sales.dir, trailLines("sales-api", "host-a", 400, 0)],
      [stock.dir, trailLines("stock-api", "host-b", 150, 1000)],
    ] as const) {
      writeTrail(join(dir, "audit.jsonl"), lines);
      writeTrail(
        join(dir, "security.jsonl"),
        lines.filter((line) => line.level === "SECURITY" || line.level === "CRITICAL"),
      );
    }
    // Entries the logger writes (with ids), after the hand-written ones.
    written = createLogger({ logDir: sales.dir, serviceName: "sales-api", hostname: "host-a", auditLifecycle: false });
    written.logTransaction("Sales invoice SI-2026-0042 posted", {
      referenceNo: "SI-2026-0042",
      entityType: "sales_invoice",
      entityId: "inv-42",
      party: "Golden Trading Co.",
    });
    written.logSecurity("Login failed", { action: AuditAction.LOGIN, user: "mallory", success: false });
    await written.flush();
    const db = await postgres.database();
    dbUrl = db.url;
    const shipper = new Shipper({ postgres: dbUrl, folders: [sales.dir, stock.dir], pollIntervalMs: 20 });
    expect(await shipper.drained(120_000)).toBe(true);
    await shipper.close();
    overFolder = await startTestViewer({ logDir: sales.dir });
    overStore = await startTestViewer({ store: { postgres: dbUrl } });
    overStoreSparse = await startTestViewer({ store: { postgres: dbUrl, sparseMinEntries: 0 } });
  });

  afterAll(async () => {
    await overFolder?.close();
    await overStore?.close();
    await overStoreSparse?.close();
    await written?.shutdown();
    sales.cleanup();
    stock.cleanup();
  });

  const QUERIES = [
    "",
    "module=sales",
    "module=SALES",
    "level=security",
    "level=CRITICAL",
    "user=bob",
    "user=Bob&module=inventory",
    "action=VOID",
    "branch_id=BR-MDY",
    "company_id=CO-002",
    "entity_type=customer",
    "entity_type=customer&entity_id=E-12",
    "reference_no=REF-77",
    "request_id=req-sales-api-300",
    "success=false",
    "success=true&branch_id=BR-YGN",
    "module=accounting&success=false",
    "from=2026-07-02&to=2026-07-05",
    "from=2026-07-02T10:17:00Z&to=2026-07-09T03:00:00Z",
    "from=2026-07-02T10:17:00Z&to=2026-07-09T03:00:00Z&module=service",
    "from=2026-07-03T00:00:00Z&success=false",
    "to=2026-07-01T12:00:00Z&level=error",
    "q=golden",
    "q=GOLDEN trading",
    "q=credit hold",
    "q=REF-12",
    "q=golden&module=sales&success=true",
    "q=no such text anywhere",
    "module=no-such-module",
    "limit=7&offset=13",
    "module=sales&limit=5&offset=40",
    "source=security",
    "source=security&user=carol",
    "source=security&from=2026-07-02&to=2026-07-05",
    "source=security&q=steel",
    // Several values of one filter: any of them.
    "module=sales,inventory",
    "module=sales&module=SERVICE,crm",
    "level=security,critical",
    "entity_type=customer,sales_invoice&entity_id=E-12,E-13",
    "reference_no=REF-77,REF-78,REF-1",
    "company_id=CO-002,CO-009&success=false",
    // User and branch: part of the value, ignoring case, unless asked for whole values.
    "user=o",
    "user=BO",
    "user=bob&user_match=exact",
    "user=bo&user_match=exact",
    "user=alice,DAVE&module=sales",
    "branch_id=mdy",
    "branch_id=BR-MDY&branch_id_match=exact",
    "branch_id=br-mdy&branch_id_match=exact",
    "branch_id=ygn&user=a&module=accounting,sales",
    "user=o&from=2026-07-02&to=2026-07-05",
    "source=security&user=o&from=2026-07-02T10:17:00Z&success=false",
    // Client addresses and blocks, IPv4 and IPv6.
    "ip=10.1.0.0/16",
    "ip=10.1.2.0/24",
    "ip=10.1.2.7",
    "ip=::ffff:10.1.0.0/112",
    "ip=2001:db8::/32",
    "ip=2001:DB8:0::3",
    "ip=192.168.0.0/16,2001:db8::/125&module=sales",
    "ip=0.0.0.0/0",
    "source=security&ip=10.0.0.0/8",
    "q=golden&ip=10.1.0.0/16",
    // A whole request id, typed as free text (the store finds it through the request id's index).
    "q=req-sales-api-300",
    "q=REQ-Sales-API-300",
    "q=req-sales-api-300&module=sales",
    // Free text in the counted columns (module, level, user, action, branch, company, entity type, host): the store
    // finds their values through the per-day counts and each column's index, not in its search text.
    "q=inventory",
    "q=INVENT",
    "q=critical",
    "q=bob",
    "q=o&module=sales",
    "q=void",
    "q=mdy",
    "q=co-002",
    "q=customer",
    "q=host-a",
    "q=bob&source=security",
    "q=ygn&success=false",
  ];

  it.each(QUERIES)("answers /api/entries?%s exactly as the JSONL source does", async (query) => {
    // The store holds two services; the folder one: the service filter makes them the same trail.
    const [folder, store, sparse] = await Promise.all([
      getJson(`${overFolder.url}api/entries?${query}`),
      getJson(`${overStore.url}api/entries?service=sales-api${query ? `&${query}` : ""}`),
      getJson(`${overStoreSparse.url}api/entries?service=sales-api${query ? `&${query}` : ""}`),
    ]);
    expect(folder.status).toBe(200);
    expect(store.status).toBe(200);
    expect(store.body.total).toBe(folder.body.total);
    expect(store.body.items).toEqual(folder.body.items);
    expect(store.body.partial).toBeUndefined();
    expect([sparse.status, sparse.body.total, sparse.body.partial, sparse.body.items]).toEqual([
      200,
      folder.body.total,
      undefined,
      folder.body.items,
    ]);
  });

  it("finds free text among more stored values of a column than it lists, by checking the rows", async () => {
    // 1,001 users contain "zed-": past the 1,000 values the counts' lookup lists, the user column is tested on the rows.
    const zed = viewerTempDir();
    try {
      const lines = Array.from({ length: 1001 }, (_, n) =>
        entryLine(n, { user: `Zed-${String(n).padStart(4, "0")}`, description: `Posting ${n}`, service: "posting-api" }),
      );
      writeTrail(join(zed.dir, "audit.jsonl"), lines);
      const db = await postgres.database();
      const shipper = new Shipper({ postgres: db.url, folders: [zed.dir], pollIntervalMs: 20 });
      expect(await shipper.drained(120_000)).toBe(true);
      await shipper.close();
      const folderViewer = await startTestViewer({ logDir: zed.dir });
      const storeViewer = await startTestViewer({ store: { postgres: db.url } });
      try {
        for (const query of ["q=ZED-&limit=50", "q=zed-0&limit=50&offset=950", "q=zed-1000", "q=zed-&user=zed-09"]) {
          const [folder, store] = await Promise.all([
            getJson(`${folderViewer.url}api/entries?${query}`),
            getJson(`${storeViewer.url}api/entries?${query}`),
          ]);
          expect(store.body.items.length).toBeGreaterThan(0);
          expect(store.body.items).toEqual(folder.body.items);
        }
      } finally {
        await folderViewer.close();
        await storeViewer.close();
      }
    } finally {
      zed.cleanup();
    }
  });

  it("leaves the machine identifiers out of free text, but finds a whole request id", async () => {
    const [folder, store] = await Promise.all([
      getJson(`${overFolder.url}api/entries?limit=100&q=req-sales-api-30`),
      getJson(`${overStore.url}api/entries?limit=100&service=sales-api&q=req-sales-api-30`),
    ]);
    // The folder reads every value of the line: request ids 30 and 300-309 contain the text.
    expect(folder.body.total).toBe(11);
    // The store's search text leaves request ids out (as the entry's id): only the request whose id it is.
    expect(store.body.items.map((entry: { request_id: string }) => entry.request_id)).toEqual(["req-sales-api-30"]);
    // Nor is the entry's own id.
    const [entry] = (await getJson(`${overStore.url}api/entries?limit=1&request_id=req-sales-api-30`)).body.items;
    expect(entry.id).toMatch(/^[0-9a-f-]{36}$/);
    expect((await getJson(`${overStore.url}api/entries?q=${entry.id.slice(0, 13)}`)).body.total).toBe(0);
  });

  it.each([
    "",
    "module=sales",
    "user=o&success=false",
    "ip=10.1.0.0/16",
    "from=2026-07-02T10:17:00Z&to=2026-07-09T03:00:00Z",
    "q=golden",
    "source=security&branch_id=mdy",
    // Time, result and trail alone: from the quarter-hour slots, the edges of the range from the rows.
    "success=false",
    "source=security",
    "from=2026-07-02T10:17:00Z&to=2026-07-09T03:00:00Z&success=true",
    "source=security&from=2026-07-03T00:00:00Z&to=2026-07-04T05:07:00Z",
    // One counted filter: whole UTC days from the per-day counts (buckets=5 and 10: 2-day and 1-day buckets), the
    // part-days at the range's edges from the rows.
    "module=service&from=2026-07-02T10:17:00Z&to=2026-07-09T03:00:00Z",
    "level=error,critical&success=false&to=2026-07-06T12:00:00Z",
    "source=security&user=o&from=2026-07-03T00:00:00Z",
  ])("answers /api/histogram?%s exactly as the JSONL source does", async (query) => {
    for (const layout of ["buckets=40", "buckets=200&tz_offset=390", "buckets=500&tz_offset=-210", "buckets=5", "buckets=10"]) {
      const [folder, store] = await Promise.all([
        getJson(`${overFolder.url}api/histogram?${layout}&${query}`),
        getJson(`${overStore.url}api/histogram?service=sales-api&${layout}&${query}`),
      ]);
      expect(folder.status).toBe(200);
      expect(folder.body.total).toBeGreaterThan(0);
      expect(store.body).toEqual(folder.body);
    }
  });

  it("counts on rows only up to a limit, then gives that lower bound as partial; its pages stay exact", async () => {
    // Small limits stand for a large store: several filters counted on at most 40 rows of the narrowest, else up
    // to 30 matches; free text up to 20, found among the 25 newest entries.
    const capped = await startTestViewer({
      store: { postgres: dbUrl, countScanRows: 40, exactCountLimit: 30, textCountLimit: 20, textWindow: 25 },
    });
    const narrow = await startTestViewer({ store: { postgres: dbUrl, exactCountLimit: 30 } });
    const cappedSparse = await startTestViewer({
      store: { postgres: dbUrl, countScanRows: 40, exactCountLimit: 30, textCountLimit: 20, textWindow: 25, sparseMinEntries: 0 },
    });
    try {
      for (const query of [
        "user=Bob&module=inventory",
        "module=accounting&success=false",
        "entity_type=customer&entity_id=E-12",
        "q=golden",
        "q=golden&offset=40",
        "q=credit hold",
        "q=credit hold&offset=20",
        "q=REF-12",
        "q=steel&source=security",
      ]) {
        const [folder, store, sparse] = await Promise.all([
          getJson(`${overFolder.url}api/entries?${query}`),
          getJson(`${capped.url}api/entries?service=sales-api&${query}`),
          getJson(`${cappedSparse.url}api/entries?service=sales-api&${query}`),
        ]);
        expect(store.body.items, query).toEqual(folder.body.items);
        expect([sparse.body.total, sparse.body.partial, sparse.body.items], query).toEqual([
          store.body.total,
          store.body.partial,
          store.body.items,
        ]);
        // A lower bound: the limit, or what the pages up to this one hold when that is more. Free text looks for
        // as many matches as the page needs, so up to the page's end its total is exact.
        const offset = Number(/offset=(\d+)/.exec(query)?.[1] ?? 0);
        const limit = query.includes("q=") ? Math.max(20, offset + 100) : 30;
        const shown = offset + store.body.items.length;
        if (folder.body.total > limit) expect([store.body.total, store.body.partial], query).toEqual([Math.max(limit, shown), true]);
        else expect([store.body.total, store.body.partial], query).toEqual([folder.body.total, undefined]);
      }
      // Several filters whose narrowest has few enough entries are counted exactly on its rows, whatever the limit.
      const both = await getJson(`${narrow.url}api/entries?service=sales-api&user=Bob&module=inventory`);
      const bothInFolder = await getJson(`${overFolder.url}api/entries?user=Bob&module=inventory`);
      expect(bothInFolder.body.total).toBeGreaterThan(30);
      expect([both.body.total, both.body.partial, both.body.items]).toEqual([bothInFolder.body.total, undefined, bothInFolder.body.items]);
      // One counted filter is answered by the per-day counts, exactly, whatever the limit.
      const exact = await getJson(`${overStore.url}api/entries?module=sales&from=2026-07-02T10:00:00Z`);
      const fromCounts = await getJson(`${capped.url}api/entries?module=sales&from=2026-07-02T10:00:00Z`);
      expect(exact.body.total).toBeGreaterThan(30);
      expect([fromCounts.body.total, fromCounts.body.partial]).toEqual([exact.body.total, undefined]);
    } finally {
      await capped.close();
      await narrow.close();
      await cappedSparse.close();
    }
  });

  it("filters by service and host across the services shipped into it", async () => {
    const expected = { sales: journalIds(sales.dir).ids.length, stock: journalIds(stock.dir).ids.length };
    const all = await getJson(`${overStore.url}api/entries?limit=1`);
    expect(all.body.total).toBe(expected.sales + expected.stock);
    expect(
      (await getJson(`${overStore.url}api/entries?service=stock-api&limit=500`)).body.items.every((e: Line) => e.service === "stock-api"),
    ).toBe(true);
    expect((await getJson(`${overStore.url}api/entries?service=stock-api`)).body.total).toBe(expected.stock);
    expect((await getJson(`${overStore.url}api/entries?hostname=host-a`)).body.total).toBe(expected.sales);
    expect((await getJson(`${overStore.url}api/entries?hostname=host-b&module=sales`)).body.total).toBe(
      trailLines("stock-api", "host-b", 150, 1000).filter((line) => line.module === "sales").length,
    );
    // Exact, as in the folder viewer: a service name's case matters.
    expect((await getJson(`${overStore.url}api/entries?service=STOCK-API`)).body.total).toBe(0);
    expect((await getJson(`${overStore.url}api/entries?service=stock-api,sales-api&hostname=host-b,host-a`)).body.total).toBe(
      expected.sales + expected.stock,
    );
    // The folder viewer has the same filters, for a folder several services write.
    const folderTotal = (await getJson(`${overFolder.url}api/entries?limit=1`)).body.total;
    expect((await getJson(`${overFolder.url}api/entries?service=sales-api&hostname=host-a`)).body.total).toBe(folderTotal);
    expect((await getJson(`${overFolder.url}api/entries?service=stock-api`)).body.total).toBe(0);
    expect((await getJson(`${overFolder.url}api/entries?hostname=HOST-A`)).body.total).toBe(0);
  });

  it("gives the stats of both trails from its counts, as the JSONL source counts them", async () => {
    const [folder, store, storeForSales] = await Promise.all([
      getJson(`${overFolder.url}api/stats`),
      getJson(`${overStore.url}api/stats`),
      getJson(`${overStore.url}api/entries?service=sales-api&limit=1`),
    ]);
    const stockLines = trailLines("stock-api", "host-b", 150, 1000);
    // The store's URL as given (postgres:// or postgresql://), its password (whatever it is, the role's name too) masked.
    expect(store.body.log_dir).toMatch(/^postgres(ql)?:\/\/.*\(schema auditx\)$/);
    const { username, password } = new URL(dbUrl);
    expect(store.body.log_dir).toContain(`${username}${password ? ":***" : ""}@`);
    if (password) expect(store.body.log_dir).not.toContain(`:${password}@`);
    for (const trail of ["audit", "security"] as const) {
      const own = folder.body[trail];
      const others = trail === "audit" ? stockLines : stockLines.filter((line) => line.level === "SECURITY" || line.level === "CRITICAL");
      expect(store.body[trail].total).toBe(own.total + others.length);
      expect(store.body[trail].failures).toBe(own.failures + others.filter((line) => line.success === false).length);
      const modules: Record<string, number> = { ...own.modules };
      for (const line of others) modules[line.module as string] = (modules[line.module as string] ?? 0) + 1;
      expect(store.body[trail].modules).toEqual(modules);
      const levels: Record<string, number> = { ...own.levels };
      for (const line of others) levels[line.level as string] = (levels[line.level as string] ?? 0) + 1;
      expect(store.body[trail].levels).toEqual(levels);
      expect(store.body[trail]).toMatchObject({ malformed: 0, evicted: 0 });
    }
    expect(store.body.audit.latest_timestamp).toBe(folder.body.audit.latest_timestamp);
    expect(storeForSales.body.total).toBe(folder.body.audit.total);
  });

  it("finds an entry by id and an entity's history", async () => {
    const { body: page } = await getJson(`${overStore.url}api/entries?reference_no=SI-2026-0042`);
    const entry = page.items[0];
    expect(entry.id).toMatch(/^[0-9a-f-]{36}$/);
    const source = overStore.viewer.source;
    expect(await source.entry("audit", entry.id)).toEqual(entry);
    expect(await source.entry("security", entry.id)).toBeNull();
    expect(await source.entry("audit", "not-a-uuid")).toBeNull();
    // A line written without an id is given the id derived from it (as the JSONL source gives it), and found by it.
    const legacy = (await getJson(`${overStore.url}api/entries?reference_no=REF-77`)).body.items[0];
    const line = JSON.stringify(trailLines("sales-api", "host-a", 400, 0)[77]);
    expect(legacy.id).toBe(entryIdOf(JSON.parse(line), line));
    expect(await source.entry("audit", legacy.id)).toEqual(legacy);
    const [byId, byIdInFolder] = await Promise.all([
      getJson(`${overStore.url}api/entries/${legacy.id}`),
      getJson(`${overFolder.url}api/entries/${legacy.id}`),
    ]);
    expect([byId.status, byId.body]).toEqual([200, byIdInFolder.body]);
    expect((await getJson(`${overStore.url}api/entries/${legacy.id}?source=security`)).status).toBe(404);
    const history = await getJson(`${overStore.url}api/entries?entity_type=customer&entity_id=E-12&service=sales-api`);
    const folderHistory = await getJson(`${overFolder.url}api/entries?entity_type=customer&entity_id=E-12`);
    expect(history.body.items).toEqual(folderHistory.body.items);
  });

  it("exports what the JSONL source exports, as CSV and JSONL", async () => {
    for (const query of [
      "format=csv",
      "format=jsonl",
      "format=csv&module=sales&success=true",
      "format=jsonl&q=golden",
      "format=jsonl&source=security",
    ]) {
      const [folder, store] = await Promise.all([
        fetch(`${overFolder.url}api/export?${query}`).then((response) => response.text()),
        fetch(`${overStore.url}api/export?${query}&service=sales-api`).then((response) => response.text()),
      ]);
      expect(store.length).toBeGreaterThan(100);
      // The same entries, fields and values; only the order of keys inside a map may differ (jsonb keeps its own).
      const parse = query.startsWith("format=csv")
        ? csvRecords
        : (text: string) =>
            text
              .trim()
              .split("\n")
              .map((line) => JSON.parse(line));
      expect(parse(store)).toEqual(parse(folder));
    }
    // Past one batch (1000 entries): the store pages by key, newest first, with nothing repeated or left out.
    const everything = (await fetch(`${overStore.url}api/export?format=jsonl`).then((response) => response.text())).trim().split("\n");
    expect(everything).toHaveLength(552);
  });

  it("streams the entries shippers store to live views, once, to the audit and security streams, with trail cursors", async () => {
    const { body: before } = await getJson(`${overStore.url}api/stats`);
    // Every stored entry has its place in its trails: the cursors are the counts.
    expect([before.audit.cursor, before.security.cursor]).toEqual([before.audit.total, before.security.total]);
    const sse = new SseReader(`${overStore.url}api/stream?source=audit&after=${before.audit.cursor}`);
    const securitySse = new SseReader(`${overStore.url}api/stream?source=security&after=${before.security.cursor}`);
    await eventually(() => sse.comments.includes("connected") && securitySse.comments.includes("connected"), 10_000, "the streams to open");
    const live = viewerTempDir();
    const logger = createLogger({ logDir: live.dir, serviceName: "hr-api", auditLifecycle: false });
    const shipper = new Shipper({ postgres: dbUrl, folders: [live.dir], pollIntervalMs: 20 });
    try {
      logger.log("Payroll approved", { action: AuditAction.APPROVE, referenceNo: "PAY-1" });
      logger.logSecurity("Role change refused", { action: AuditAction.UPDATE, referenceNo: "ROLE-1", success: false });
      await eventually(() => sse.entries().length >= 2 && securitySse.entries().length >= 1, 30_000, "the live entries");
      const cursor = before.audit.cursor;
      expect(sse.entries().map((event) => [event.data.entry.reference_no, event.data.cursor])).toEqual([
        ["PAY-1", cursor + 1],
        ["ROLE-1", cursor + 2],
      ]);
      expect(securitySse.entries().map((event) => [event.data.entry.reference_no, event.data.cursor])).toEqual([
        ["ROLE-1", before.security.cursor + 1],
      ]);
      expect(sse.entries()[0]?.data.entry).toMatchObject({ service: "hr-api", description: "Payroll approved" });
      // A replay (a lost cursor) announces the same ids again: nothing is pushed twice.
      await shipper.close();
      const again = new Shipper({ postgres: dbUrl, folders: [live.dir], pollIntervalMs: 20 });
      for (const file of readdirSync(live.dir)) if (file.includes(".shipped-")) rmSync(join(live.dir, file));
      logger.log("After the replay", { referenceNo: "PAY-2" });
      await eventually(
        () => sse.entries().some((event) => event.data.entry.reference_no === "PAY-2"),
        30_000,
        "the entry after the replay",
      );
      await again.close();
      expect(sse.entries().map((event) => [event.data.entry.reference_no, event.data.cursor])).toEqual([
        ["PAY-1", cursor + 1],
        ["ROLE-1", cursor + 2],
        ["PAY-2", cursor + 3],
      ]);
      // A stream resumed from a cursor replays what came after it, oldest first, then goes on live.
      const resumed = new SseReader(`${overStore.url}api/stream?source=audit&after=${cursor + 1}`);
      try {
        await eventually(() => resumed.entries().length >= 2, 10_000, "the replay");
        expect(resumed.entries().map((event) => [event.data.entry.reference_no, event.data.cursor])).toEqual([
          ["ROLE-1", cursor + 2],
          ["PAY-2", cursor + 3],
        ]);
      } finally {
        resumed.close();
      }
      // From the start: every entry of the trail, once, numbered 1, 2, 3…
      const source = overStore.viewer.source;
      let from = 0;
      const seen = new Set<string>();
      for (;;) {
        const batch = await source.since("audit", from, 200);
        if (batch.entries.length === 0) break;
        expect(batch.cursor).toBe(from + batch.entries.length);
        for (const entry of batch.entries) seen.add(entry.id as string);
        from = batch.cursor;
      }
      expect([from, seen.size]).toEqual([cursor + 3, cursor + 3]);
    } finally {
      sse.close();
      securitySse.close();
      await shipper.close();
      await logger.shutdown();
      live.cleanup();
    }
  });

  it("answers bad parameters with 400 and an unreachable store with 500, and keeps serving", async () => {
    expect((await getJson(`${overStore.url}api/entries?limit=0`)).status).toBe(400);
    expect((await getJson(`${overStore.url}api/entries?from=yesterday`)).status).toBe(400);
    const away = await startViewer({
      host: "127.0.0.1",
      port: 0,
      auditReads: false,
      store: { postgres: "postgresql://nobody:x@127.0.0.1:1/none" },
    });
    try {
      await expect(away.viewer.ready).rejects.toThrow(/ECONNREFUSED/);
      const answer = await getJson(`${away.url}api/entries`);
      expect(answer).toMatchObject({ status: 500, body: { detail: "internal error" } });
    } finally {
      await away.close();
    }
    expect((await getJson(`${overStore.url}api/entries?limit=1`)).status).toBe(200);
  });

  it("auditx ui --postgres serves the store, and says clearly when there is none", async () => {
    const child = spawn(process.execPath, [CLI, "ui", "--postgres", dbUrl, "--port", "0", "--no-audit-reads"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      let out = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        out += chunk;
      });
      const url = await eventually(() => /auditx viewer: (http:\S+)/.exec(out)?.[1], 30_000, "the viewer's URL");
      expect(out).toMatch(/\(store: postgresql:\/\/.*\(schema auditx\)\)/);
      expect((await getJson(`${url}api/entries?service=stock-api&limit=1`)).body.total).toBe(150);
    } finally {
      child.kill("SIGTERM");
    }
    const empty = await postgres.database();
    const failed = await run(process.execPath, [CLI, "ui", "--postgres", empty.url, "--port", "0", "--no-audit-reads"]).catch(
      (error) => error,
    );
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/cannot be read: no auditx store in schema auditx .*auditx pg init/);
  });

  it("records its readers into the store it reads, through a folder of its own that it ships", async () => {
    const db = await postgres.database();
    await run(process.execPath, [CLI, "pg", "init", "--url", db.url]);
    const own = viewerTempDir();
    const viewer = await startViewer({ host: "127.0.0.1", port: 0, store: { postgres: db.url }, auditLogDir: own.dir });
    const client = await db.connect();
    try {
      await viewer.viewer.ready;
      expect((await getJson(`${viewer.url}api/entries?user=mallory`)).status).toBe(200);
      const read = await eventually(
        async () => {
          const { rows } = await client.query(
            `SELECT action, "user", metadata FROM auditx.entries WHERE entity_type = 'auditx' AND entity_id = 'viewer' AND action = 'READ'`,
          );
          return rows[0];
        },
        30_000,
        "the reader's entry in the store",
        50,
      );
      expect(read.metadata).toMatchObject({ filter: { user: ["mallory"] } });
      expect(readdirSync(own.dir)).toContain("audit.jsonl");
    } finally {
      await client.end();
      await viewer.close();
      own.cleanup();
    }
  });
});
