import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditAction, type AuditEntry, BusinessModule, createLogger, LogLevel } from "../src/index.js";
import type { RunningViewer } from "../src/viewer/index.js";
import { getJson, startTestViewer, viewerTempDir } from "./support/viewer-server.js";

/** A trail written by the real logger: 60 entries over users, branches, modules, with failures and security events. */
const USERS = ["alice", "Bob", "carol"];
const BRANCHES = ["BR-YGN", "BR-MDY"];
/** Clients on two IPv4 networks and one IPv6 one. */
const ipOf = (i: number) => (i % 3 === 0 ? `192.168.1.${i}` : i % 3 === 1 ? `10.20.${i}.7` : `2001:db8::${i.toString(16)}`);

describe("viewer REST API on a trail written by the logger", () => {
  const temp = viewerTempDir();
  let running: RunningViewer;
  let base: string;
  const written: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    const logger = createLogger({ auditLifecycle: false, logDir: temp.dir, console: false });
    for (let i = 0; i < 60; i++) {
      const options = {
        user: USERS[i % 3]!,
        branchId: BRANCHES[i % 2]!,
        companyId: "CO-001",
        requestId: `req-${i}`,
        ip: ipOf(i),
      };
      let entry: AuditEntry;
      if (i % 10 === 9) entry = logger.logSecurity(`Failed login attempt ${i}`, { ...options, action: AuditAction.LOGIN, success: false });
      else if (i % 4 === 0)
        entry = logger.logInventory(`Stock adjusted ${i}`, {
          ...options,
          action: AuditAction.ADJUST,
          entityType: "item",
          entityId: `item-${i}`,
        });
      else
        entry = logger.logTransaction(`Sales invoice posted ${i} for "Golden Trading Co."`, {
          ...options,
          module: BusinessModule.SALES,
          action: AuditAction.POST,
          referenceNo: `SI-2026-${String(i).padStart(4, "0")}`,
          amount: 1000 * i,
          entityType: "sales_invoice",
          entityId: `inv-${i}`,
        });
      written.push(entry.toDict() as unknown as Record<string, unknown>);
    }
    await logger.shutdown();
    running = await startTestViewer({ logDir: temp.dir });
    base = running.url;
  });

  afterAll(async () => {
    await running?.close();
    temp.cleanup();
  });

  const newestFirst = (entries: Array<Record<string, unknown>>) => [...entries].reverse();

  it("answers the first page newest first with the exact total", async () => {
    const { status, body, headers } = await getJson(`${base}api/entries?limit=5`);
    expect(status).toBe(200);
    expect(headers.get("cache-control")).toBe("no-store");
    expect(body.total).toBe(60);
    expect(body.limit).toBe(5);
    expect(body.offset).toBe(0);
    expect(body.source).toBe("audit");
    expect(body.items).toEqual(newestFirst(written).slice(0, 5));
  });

  it("pages through every entry without gaps or repeats", async () => {
    const seen: string[] = [];
    for (let offset = 0; offset < 60; offset += 7) {
      const { body } = await getJson(`${base}api/entries?limit=7&offset=${offset}`);
      seen.push(...body.items.map((item: { request_id: string }) => item.request_id));
    }
    expect(seen).toEqual(newestFirst(written).map((entry) => entry.request_id));
    const past = await getJson(`${base}api/entries?offset=1000`);
    expect(past.body).toMatchObject({ total: 60, items: [] });
  });

  it("filters as auditX: user and branch by case-insensitive substring, module and level whole and ignoring case", async () => {
    const cases: Array<[string, (entry: Record<string, unknown>) => boolean]> = [
      ["user=bob", (e) => e.user === "Bob"],
      ["user=O", (e) => e.user === "Bob" || e.user === "carol"],
      ["user=al", (e) => e.user === "alice"],
      ["user=BOB&branch_id=mdy", (e) => e.user === "Bob" && e.branch_id === "BR-MDY"],
      ["branch_id=br-", () => true],
      ["branch_id=ygn", (e) => e.branch_id === "BR-YGN"],
      ["module=INVENTORY", (e) => e.module === "inventory"],
      ["level=security", (e) => e.level === LogLevel.SECURITY],
      ["action=post", (e) => e.action === "POST"],
      ["company_id=CO-001", () => true],
      ["success=false", (e) => e.success === false],
      ["entity_type=item", (e) => e.entity_type === "item"],
      ["entity_type=sales_invoice&entity_id=inv-13", (e) => e.entity_id === "inv-13"],
      ["reference_no=SI-2026-0042", (e) => e.reference_no === "SI-2026-0042"],
      ["request_id=req-7", (e) => e.request_id === "req-7"],
    ];
    for (const [query, predicate] of cases) {
      const expected = newestFirst(written).filter(predicate);
      expect(expected.length, query).toBeGreaterThan(0);
      const { status, body } = await getJson(`${base}api/entries?limit=500&${query}`);
      expect(status, query).toBe(200);
      expect(body.total, query).toBe(expected.length);
      expect(body.items, query).toEqual(expected);
    }
  });

  it("matches user and branch exactly when asked, and nothing for values no entry has", async () => {
    const cases: Array<[string, (entry: Record<string, unknown>) => boolean]> = [
      ["user=bob&user_match=exact", (e) => e.user === "Bob"],
      ["user=bo&user_match=exact", () => false],
      ["branch_id=BR-YGN&branch_id_match=exact", (e) => e.branch_id === "BR-YGN"],
      ["branch_id=br-ygn&branch_id_match=exact", () => false],
      ["branch_id=YGN&branch_id_match=contains", (e) => e.branch_id === "BR-YGN"],
      ["user=nobody", () => false],
      ["reference_no=SI-2026", () => false],
      ["request_id=req-", () => false],
      ["entity_id=inv-1x", () => false],
    ];
    for (const [query, predicate] of cases) {
      const expected = newestFirst(written).filter(predicate);
      const { body } = await getJson(`${base}api/entries?limit=500&${query}`);
      expect(body.total, query).toBe(expected.length);
      expect(body.items, query).toEqual(expected);
    }
  });

  it("takes several values per filter, comma-separated or repeated: any of them matches", async () => {
    const cases: Array<[string, (entry: Record<string, unknown>) => boolean]> = [
      ["module=sales,inventory", (e) => e.module === "sales" || e.module === "inventory"],
      ["module=sales&module=auth", (e) => e.module === "sales" || e.module === "auth"],
      ["level=AUDIT,security", (e) => e.level === "AUDIT" || e.level === "SECURITY"],
      ["user=alice,carol", (e) => e.user === "alice" || e.user === "carol"],
      ["user=alice,%20bob%20&user_match=exact", (e) => e.user === "alice" || e.user === "Bob"],
      ["request_id=req-1,req-2,req-59", (e) => ["req-1", "req-2", "req-59"].includes(String(e.request_id))],
      ["entity_id=inv-13,item-4&entity_type=item", (e) => e.entity_id === "item-4"],
      ["module=sales,inventory&user=bob", (e) => (e.module === "sales" || e.module === "inventory") && e.user === "Bob"],
      ["module=,,", () => true],
    ];
    for (const [query, predicate] of cases) {
      const expected = newestFirst(written).filter(predicate);
      expect(expected.length, query).toBeGreaterThan(0);
      const { status, body } = await getJson(`${base}api/entries?limit=500&${query}`);
      expect(status, query).toBe(200);
      expect(body.total, query).toBe(expected.length);
      expect(body.items, query).toEqual(expected);
    }
  });

  it("filters by client address: exact addresses, CIDR blocks, IPv6 in any spelling", async () => {
    const ipv4 = (text: unknown) => String(text).split(".").map(Number);
    const cases: Array<[string, (entry: Record<string, unknown>) => boolean]> = [
      ["ip=192.168.1.3", (e) => e.ip === "192.168.1.3"],
      ["ip=192.168.1.0/24", (e) => String(e.ip).startsWith("192.168.1.")],
      ["ip=10.20.16.0/20", (e) => String(e.ip).startsWith("10.20.") && ipv4(e.ip)[2]! >= 16 && ipv4(e.ip)[2]! < 32],
      ["ip=10.0.0.0/8,192.168.1.0/24", (e) => !String(e.ip).includes(":")],
      ["ip=2001:db8::/32", (e) => String(e.ip).includes(":")],
      ["ip=2001:0DB8:0:0::b", (e) => e.ip === "2001:db8::b"],
      ["ip=::ffff:192.168.1.6", (e) => e.ip === "192.168.1.6"],
      ["ip=0.0.0.0/0", (e) => !String(e.ip).includes(":")],
    ];
    for (const [query, predicate] of cases) {
      const expected = newestFirst(written).filter(predicate);
      expect(expected.length, query).toBeGreaterThan(0);
      const { status, body } = await getJson(`${base}api/entries?limit=500&${query}`);
      expect(status, query).toBe(200);
      expect(body.items, query).toEqual(expected);
    }
    for (const bad of ["192.168.1", "10.0.0.0/33", "300.1.1.1", "2001:db8:::1", "abc"]) {
      const { status, body } = await getJson(`${base}api/entries?ip=${encodeURIComponent(bad)}`);
      expect(status, bad).toBe(400);
      expect(body.detail[0].loc, bad).toEqual(["query", "ip"]);
    }
  });

  it("searches free text case-insensitively anywhere in the entry, quotes included", async () => {
    const expected = newestFirst(written).filter((e) => String(e.description).includes("Golden Trading"));
    for (const q of ["golden trading", "GOLDEN TRADING", '"Golden Trading Co."']) {
      const { body } = await getJson(`${base}api/entries?limit=500&q=${encodeURIComponent(q)}`);
      expect(body.total, q).toBe(expected.length);
      expect(body.items, q).toEqual(expected);
    }
    const combined = await getJson(`${base}api/entries?limit=500&q=golden&user=alice`);
    expect(combined.body.total).toBe(expected.filter((e) => e.user === "alice").length);
    const none = await getJson(`${base}api/entries?q=zz-not-there`);
    expect(none.body.total).toBe(0);
  });

  it("searches the values of an entry, not its field names", async () => {
    const valueText = (value: unknown): string[] =>
      value !== null && typeof value === "object"
        ? Object.values(value as Record<string, unknown>).flatMap(valueText)
        : [String(value).toLowerCase()];
    const containing = (q: string) => newestFirst(written).filter((e) => valueText(e).some((text) => text.includes(q)));
    // Field names every invoice has, which no value contains.
    for (const q of ["reference_no", "amount", "entity_type", "user"]) {
      expect(written.some((e) => q in e)).toBe(true);
      expect(containing(q)).toEqual([]);
      expect((await getJson(`${base}api/entries?q=${q}`)).body.total, q).toBe(0);
    }
    // Words that are both a value and part of a field name find the values.
    for (const q of ["sales", "inv-4", "4000", "item"]) {
      const expected = containing(q);
      expect(expected.length, q).toBeGreaterThan(0);
      const { body } = await getJson(`${base}api/entries?limit=500&q=${encodeURIComponent(q)}`);
      expect(body.total, q).toBe(expected.length);
      expect(body.items, q).toEqual(expected);
    }
  });

  it("reads the security trail as its own source", async () => {
    const expected = newestFirst(written).filter((e) => e.level === LogLevel.SECURITY || e.level === LogLevel.CRITICAL);
    const { body } = await getJson(`${base}api/entries?source=security&limit=500`);
    expect(body.source).toBe("security");
    expect(body.total).toBe(expected.length);
    expect(body.items).toEqual(expected);
  });

  it("answers stats with totals, failures, modules, levels and the latest timestamp", async () => {
    const { status, body } = await getJson(`${base}api/stats`);
    expect(status).toBe(200);
    expect(body.log_dir).toBe(temp.dir);
    const count = (key: string) => {
      const counts: Record<string, number> = {};
      for (const e of written) counts[String(e[key])] = (counts[String(e[key])] ?? 0) + 1;
      return counts;
    };
    expect(body.audit).toMatchObject({
      total: 60,
      failures: written.filter((e) => e.success === false).length,
      modules: count("module"),
      levels: count("level"),
      latest_timestamp: written.at(-1)!.timestamp,
      malformed: 0,
    });
    expect(body.security.total).toBe(written.filter((e) => e.level === LogLevel.SECURITY).length);
  });

  it("exports the current filter as JSONL and CSV, streamed as a download", async () => {
    const expected = newestFirst(written).filter((e) => e.user === "carol");
    const jsonl = await fetch(`${base}api/export?format=jsonl&user=carol`);
    expect(jsonl.status).toBe(200);
    expect(jsonl.headers.get("content-type")).toContain("application/x-ndjson");
    expect(jsonl.headers.get("content-disposition")).toMatch(/^attachment; filename="auditx-audit-\d{8}T\d{6}\.jsonl"$/);
    const lines = (await jsonl.text())
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines).toEqual(expected);

    const csv = await fetch(`${base}api/export?format=csv&user=carol`);
    expect(csv.headers.get("content-type")).toContain("text/csv");
    expect(csv.headers.get("content-disposition")).toContain(".csv");
    const rows = parseCsv((await csv.text()).replace(/^\uFEFF/, ""));
    const [header, ...data] = rows;
    expect(header!.slice(0, 5)).toEqual(["timestamp", "level", "module", "action", "description"]);
    expect(data).toHaveLength(expected.length);
    const column = (name: string) => header!.indexOf(name);
    data.forEach((row, i) => {
      expect(row[column("description")]).toBe(expected[i]!.description);
      expect(row[column("request_id")]).toBe(expected[i]!.request_id);
      expect(row[column("success")]).toBe(String(expected[i]!.success));
    });
  });

  it("answers bad parameters with 400 and a message, never 500", async () => {
    for (const query of [
      "limit=abc",
      "limit=0",
      "limit=5001",
      "limit=-1",
      "offset=-5",
      "offset=1.5",
      "from=garbage",
      "to=2026-13-45",
      "from=2026-06-30&to=2026-06-01",
      "source=x",
      "success=maybe",
      "limit=1&limit=2",
      `q=${"x".repeat(1001)}`,
      "user_match=prefix",
      `module=${Array.from({ length: 101 }, (_, i) => `m${i}`).join(",")}`,
    ]) {
      const { status, body } = await getJson(`${base}api/entries?${query}`);
      expect(status, query).toBe(400);
      // auditX's (FastAPI's) shape: {"detail": [{type, loc, msg, input}]}, naming the parameter.
      const parameter = query.split("=")[0];
      expect(body.detail, query).toEqual([
        { type: "value_error", loc: ["query", parameter], msg: expect.any(String), input: expect.anything() },
      ]);
      expect(body.detail[0].msg, query).toContain(parameter);
    }
    expect((await getJson(`${base}api/export?format=xml`)).status).toBe(400);
    expect((await getJson(`${base}api/recent?source=nope`)).status).toBe(400);
    expect((await getJson(`${base}api/entries?q=%E0%A4%A`)).status).toBe(200);
    const missing = await getJson(`${base}api/nothing`);
    expect(missing.status).toBe(404);
    expect(typeof missing.body.detail).toBe("string");
  });

  it("refuses every method that could write, with 405", async () => {
    for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
      const response = await fetch(`${base}api/entries`, { method });
      expect(response.status, method).toBe(405);
      expect(response.headers.get("allow")).toBe("GET, HEAD");
    }
  });

  it("sends the security headers on pages, assets and API answers", async () => {
    for (const path of ["", "api/stats", "api/entries?limit=abc", "no-such-file"]) {
      const response = await fetch(`${base}${path}`);
      await response.arrayBuffer();
      expect(response.headers.get("content-security-policy"), path).toContain("default-src 'self'");
      expect(response.headers.get("content-security-policy"), path).toContain("frame-ancestors 'none'");
      expect(response.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect(response.headers.get("referrer-policy"), path).toBe("no-referrer");
      expect(response.headers.get("x-frame-options"), path).toBe("DENY");
      expect(response.headers.get("access-control-allow-origin"), path).toBeNull();
      expect(response.headers.get("x-powered-by"), path).toBeNull();
    }
    const page = await fetch(base);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
  });

  it("tells the page whether live push is on", async () => {
    const { body } = await getJson(`${base}api/config`);
    expect(body.realtime).toBe(true);
    expect(typeof body.version).toBe("string");
  });
});

/** RFC 4180 parsing, enough for the export. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(cell);
      cell = "";
    } else if (c === "\r" && text[i + 1] === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
      i++;
    } else cell += c;
  }
  if (cell !== "" || row.length) rows.push([...row, cell]);
  return rows;
}
