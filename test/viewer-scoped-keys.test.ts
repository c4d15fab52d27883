/**
 * Scoped viewer keys on a real server: a key scoped to CO-001 sees, counts,
 * exports and streams only CO-001 entries, on every route (REST, SSE,
 * WebSocket, the hub's recent entries, single entries); a key limited to the
 * audit trail gets 403 for the security trail and nothing of it on the
 * streams; keys come from the options, a key file or the environment, and
 * --api-key stays one unscoped key.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { AuditHub, createLogger } from "../src/index.js";
import type { RunningViewer } from "../src/viewer/index.js";
import { ROOT } from "./support/core-trail.js";
import { eventually } from "./support/eventually.js";
import {
  appendTrail,
  entryLine,
  getJson,
  openWebSocket,
  SseReader,
  startTestViewer,
  viewerTempDir,
  webSocketCloseCode,
  writeTrail,
} from "./support/viewer-server.js";

const KEYS = {
  tenant: "tenant-one-key-0001",
  tenantAudit: "tenant-audit-key-0002",
  admin: "admin-key-unscoped-0003",
};

/** 6 audit entries: 3 of CO-001 (one also SECURITY), 2 of CO-002, 1 without company. */
function trail(dir: string): void {
  const lines = [
    entryLine(1, { company_id: "CO-001", id: "co1-a", module: "sales", description: "CO-001 invoice" }),
    entryLine(2, { company_id: "CO-002", id: "co2-a", module: "sales", description: "CO-002 invoice zebra" }),
    entryLine(3, { company_id: "CO-001", id: "co1-b", module: "hr", success: false, description: "CO-001 payroll" }),
    entryLine(4, { id: "none-a", module: "system", description: "no company" }),
    entryLine(5, { company_id: "CO-002", id: "co2-b", module: "hr", description: "CO-002 payroll" }),
    entryLine(6, { company_id: "CO-001", id: "co1-c", level: "SECURITY", module: "auth", description: "CO-001 login" }),
  ];
  writeTrail(join(dir, "audit.jsonl"), lines);
  writeTrail(join(dir, "security.jsonl"), [
    lines[5]!,
    entryLine(7, { company_id: "CO-002", id: "co2-sec", level: "SECURITY", module: "auth", description: "CO-002 login" }),
  ]);
}

const headers = (key: string) => ({ "X-API-Key": key });

describe("scoped viewer keys", () => {
  const temp = viewerTempDir();
  const hub = new AuditHub();
  let running: RunningViewer;
  let base: string;

  beforeAll(async () => {
    trail(temp.dir);
    running = await startTestViewer({
      logDir: temp.dir,
      hub,
      apiKey: KEYS.admin,
      apiKeys: [
        { id: "tenant-one", key: KEYS.tenant, companies: ["CO-001"] },
        // Given as its SHA-256 only: the key file then holds no key.
        {
          id: "tenant-one-audit",
          sha256: createHash("sha256").update(KEYS.tenantAudit).digest("hex"),
          companies: ["CO-001"],
          sources: ["audit"],
        },
      ],
    });
    base = running.url;
  });
  afterAll(async () => {
    await running?.close();
    temp.cleanup();
  });

  it("tells the page who reads and what it may see", async () => {
    expect((await getJson(`${base}api/config`, headers(KEYS.tenantAudit))).body.reader).toEqual({
      id: "tenant-one-audit",
      sources: ["audit"],
      companies: ["CO-001"],
    });
    expect((await getJson(`${base}api/config`, headers(KEYS.admin))).body.reader).toEqual({
      id: "default",
      sources: ["audit", "security"],
    });
  });

  it("counts only its tenant's entries in the stats", async () => {
    const scoped = (await getJson(`${base}api/stats`, headers(KEYS.tenant))).body;
    expect(scoped.audit).toMatchObject({ total: 3, failures: 1, modules: { sales: 1, hr: 1, auth: 1 } });
    expect(scoped.security).toMatchObject({ total: 1 });
    expect(scoped.audit.latest_timestamp).toBe(entryLine(6).timestamp);
    const all = (await getJson(`${base}api/stats`, headers(KEYS.admin))).body;
    expect(all.audit.total).toBe(6);
    expect(all.security.total).toBe(2);
    const auditOnly = (await getJson(`${base}api/stats`, headers(KEYS.tenantAudit))).body;
    expect(auditOnly.audit.total).toBe(3);
    expect(auditOnly).not.toHaveProperty("security");
  });

  it("pages, filters and searches only its tenant's entries, with totals of those only", async () => {
    const page = (await getJson(`${base}api/entries`, headers(KEYS.tenant))).body;
    expect(page.total).toBe(3);
    expect(page.items.map((item: { id: string }) => item.id)).toEqual(["co1-c", "co1-b", "co1-a"]);
    // Asking for another tenant, or searching its text, finds nothing and says nothing of it.
    expect((await getJson(`${base}api/entries?company_id=CO-002`, headers(KEYS.tenant))).body.total).toBe(0);
    expect((await getJson(`${base}api/entries?q=zebra`, headers(KEYS.tenant))).body.total).toBe(0);
    expect((await getJson(`${base}api/entries?q=zebra`, headers(KEYS.admin))).body.total).toBe(1);
    expect((await getJson(`${base}api/entries?module=hr`, headers(KEYS.tenant))).body.items.map((item: { id: string }) => item.id)).toEqual(
      ["co1-b"],
    );
    expect(
      (await getJson(`${base}api/entries?source=security`, headers(KEYS.tenant))).body.items.map((item: { id: string }) => item.id),
    ).toEqual(["co1-c"]);
  });

  it("counts only its tenant's entries in the histogram", async () => {
    const histogram = async (key: string, query = "") =>
      (await getJson(`${base}api/histogram?buckets=10${query}`, headers(key))).body as {
        total: number;
        counts: number[];
        failures: number[];
      };
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    const scoped = await histogram(KEYS.tenant);
    expect(scoped.total).toBe(3);
    expect(sum(scoped.counts)).toBe(3);
    expect(sum(scoped.failures)).toBe(1);
    expect((await histogram(KEYS.admin)).total).toBe(6);
    expect((await histogram(KEYS.tenant, "&company_id=CO-002")).total).toBe(0);
    expect((await histogram(KEYS.tenant, "&source=security")).total).toBe(1);
  });

  it("opens only its tenant's entries by id", async () => {
    expect((await getJson(`${base}api/entries/co1-a`, headers(KEYS.tenant))).status).toBe(200);
    expect((await getJson(`${base}api/entries/co2-a`, headers(KEYS.tenant))).status).toBe(404);
    expect((await getJson(`${base}api/entries/none-a`, headers(KEYS.tenant))).status).toBe(404);
    expect((await getJson(`${base}api/entries/co2-a`, headers(KEYS.admin))).status).toBe(200);
  });

  it("exports only its tenant's entries, in CSV and JSONL", async () => {
    const jsonl = await (await fetch(`${base}api/export?format=jsonl`, { headers: headers(KEYS.tenant) })).text();
    expect(
      jsonl
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line).id),
    ).toEqual(["co1-c", "co1-b", "co1-a"]);
    const csv = await (await fetch(`${base}api/export?format=csv&module=sales`, { headers: headers(KEYS.tenant) })).text();
    expect(csv.trim().split("\r\n")).toHaveLength(2);
    expect(csv).toContain("co1-a");
    expect(csv).not.toContain("CO-002");
  });

  it("refuses a trail its key may not read, on every route that names one", async () => {
    for (const route of [
      "api/entries?source=security",
      "api/entries/co1-c?source=security",
      "api/recent?source=security",
      "api/export?source=security",
      "api/histogram?source=security",
      "api/stream?source=security",
    ]) {
      const { status, body } = await getJson(`${base}${route}`, headers(KEYS.tenantAudit));
      expect(status, route).toBe(403);
      expect(body.detail, route).toMatch(/may not read the security trail/);
    }
  });

  it("sees only its tenant's entries among the hub's recent ones", async () => {
    const loggerDir = viewerTempDir();
    onTestFinished(loggerDir.cleanup);
    const logger = createLogger({ logDir: loggerDir.dir, auditLifecycle: false });
    logger.connectHub(hub);
    logger.log("recent CO-001", { companyId: "CO-001" });
    logger.log("recent CO-002", { companyId: "CO-002" });
    logger.logSecurity("recent CO-001 security", { companyId: "CO-001", level: "SECURITY" });
    await logger.shutdown();
    const descriptions = async (key: string, source = "audit") =>
      (await getJson(`${base}api/recent?source=${source}`, headers(key))).body.items.map(
        (item: { description: string }) => item.description,
      );
    // Oldest first, as auditX answers.
    expect(await descriptions(KEYS.tenant)).toEqual(["recent CO-001", "recent CO-001 security"]);
    expect(await descriptions(KEYS.tenant, "security")).toEqual(["recent CO-001 security"]);
    expect(await descriptions(KEYS.admin)).toEqual(["recent CO-001", "recent CO-002", "recent CO-001 security"]);
    expect(
      (await getJson(`${base}api/recent?limit=1`, headers(KEYS.tenant))).body.items.map(
        (item: { description: string }) => item.description,
      ),
    ).toEqual(["recent CO-001 security"]);
  });

  it("streams only its tenant's entries, on SSE (replayed from the file, live and resumed) and the WebSocket, and of the trails it may read", async () => {
    const ws = (key: string) => openWebSocket(`${base.replace("http", "ws")}api/ws`, headers(key));
    const tenantWs = await ws(KEYS.tenant);
    const auditOnlyWs = await ws(KEYS.tenantAudit);
    const adminWs = await ws(KEYS.admin);
    // Each SSE client follows one trail and first gets the file's entries (after=0 by default): of its tenant only.
    const tenantSse = new SseReader(`${base}api/stream`, headers(KEYS.tenant));
    const tenantSecuritySse = new SseReader(`${base}api/stream?source=security`, headers(KEYS.tenant));
    const adminSse = new SseReader(`${base}api/stream`, headers(KEYS.admin));
    const ids = (messages: { type: string; source: string; entry: { id: string } }[]) =>
      messages.filter((message) => message.type === "entry").map((message) => `${message.source}:${message.entry.id}`);
    const sseIds = (reader: SseReader) => ids(reader.entries().map((event) => event.data));
    await eventually(() => sseIds(adminSse).length >= 6 && tenantSse.connected && tenantSecuritySse.connected, 10_000, "replays");
    await eventually(() => sseIds(tenantSse).length >= 3 && sseIds(tenantSecuritySse).length >= 1, 10_000, "the tenant's replays");
    appendTrail(join(temp.dir, "audit.jsonl"), [
      entryLine(20, { company_id: "CO-002", id: "live-co2", description: "live CO-002" }),
      entryLine(21, { company_id: "CO-001", id: "live-co1", description: "live CO-001" }),
      entryLine(22, { company_id: "CO-001", id: "live-co1-sec", level: "SECURITY", description: "live CO-001 security" }),
      entryLine(23, { id: "live-none", description: "live without company" }),
    ]);
    appendTrail(join(temp.dir, "security.jsonl"), [
      entryLine(22, { company_id: "CO-001", id: "live-co1-sec", level: "SECURITY", description: "live CO-001 security" }),
    ]);
    await running.viewer.refresh();
    await eventually(() => ids(adminWs.messages).length >= 5, 10_000, "admin's five entries");
    await eventually(() => sseIds(adminSse).length >= 10, 10_000, "admin's ten SSE entries");
    await eventually(() => sseIds(tenantSse).length >= 5 && sseIds(tenantSecuritySse).length >= 2, 10_000, "tenant's SSE entries");
    expect(ids(tenantWs.messages).sort()).toEqual(["audit:live-co1", "audit:live-co1-sec", "security:live-co1-sec"]);
    expect(sseIds(tenantSse)).toEqual(["audit:co1-a", "audit:co1-b", "audit:co1-c", "audit:live-co1", "audit:live-co1-sec"]);
    expect(sseIds(tenantSecuritySse)).toEqual(["security:co1-c", "security:live-co1-sec"]);
    expect(ids(auditOnlyWs.messages).sort()).toEqual(["audit:live-co1", "audit:live-co1-sec"]);
    // A client that comes back with Last-Event-ID gets what it missed, of its tenant only.
    const liveIds = adminSse.entries().flatMap((event) => (event.id ? [Number(event.id)] : []));
    const resumed = new SseReader(`${base}api/stream`, { ...headers(KEYS.tenant), "Last-Event-ID": String(Math.min(...liveIds) - 1) });
    await eventually(() => sseIds(resumed).length >= 2, 10_000, "the resumed tenant's events");
    await running.viewer.refresh();
    expect(sseIds(resumed)).toEqual(["audit:live-co1", "audit:live-co1-sec"]);
    for (const socket of [tenantWs, auditOnlyWs, adminWs]) socket.socket.close();
    for (const reader of [tenantSse, tenantSecuritySse, adminSse, resumed]) reader.close();
  });

  it("keeps the key's scope with the cookie it sets, and refuses keys that are not among them", async () => {
    const first = await fetch(`${base}api/stats`, { headers: headers(KEYS.tenant) });
    const cookie = (first.headers.get("set-cookie") ?? "").split(";")[0]!;
    expect(cookie).toMatch(/^auditx_key=[0-9a-f]{64}$/);
    expect(cookie).not.toContain(KEYS.tenant);
    const byKey = (await getJson(`${base}api/entries`, headers(KEYS.tenant))).body.total;
    expect((await getJson(`${base}api/entries`, { Cookie: cookie })).body.total).toBe(byKey);
    expect((await getJson(`${base}api/entries`, headers(KEYS.admin))).body.total).toBeGreaterThan(byKey);
    expect((await getJson(`${base}api/entries`, headers("tenant-one-key-000"))).status).toBe(401);
    expect((await webSocketCloseCode(`${base.replace("http", "ws")}api/ws`, headers("not-a-key-at-all"))).code).toBe(4401);
  });

  it("checks key settings when the viewer is built, naming the key, never showing it", async () => {
    const bad = [
      [{ id: "a", key: "short" }, /at least 8 characters/],
      [{ id: "bad id!", key: "long-enough-key" }, /id:/],
      [{ id: "a", key: "long-enough-key", sources: ["payroll"] }, /sources/],
      [{ id: "a", key: "long-enough-key", companies: [] }, /companies/],
      [{ id: "a", key: "long-enough-key", extra: 1 }, /unknown setting/],
    ] as const;
    for (const [key, message] of bad) {
      await expect(startTestViewer({ logDir: temp.dir, apiKeys: [key as never] })).rejects.toThrow(message);
    }
    await expect(
      startTestViewer({
        logDir: temp.dir,
        apiKeys: [
          { id: "a", key: "same-key-twice" },
          { id: "b", key: "same-key-twice" },
        ],
      }),
    ).rejects.toThrow(/also another key's/);
  });
});

describe("keys from a file and the environment (auditx ui)", () => {
  const temp = viewerTempDir();
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  });
  afterAll(() => temp.cleanup());

  function startUi(args: string[], env: NodeJS.ProcessEnv): Promise<{ url: string; output: () => string }> {
    const child = spawn(process.execPath, [join(ROOT, "dist", "cli", "main.js"), "ui", "--log-dir", temp.dir, "--port", "0", ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let output = "";
    child.stderr!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL: ${output}`)), 20_000);
      child.stdout!.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        const match = /http:\/\/127\.0\.0\.1:\d+\//.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve({ url: match[0], output: () => output });
        }
      });
      child.on("exit", () => reject(new Error(`exited: ${output}`)));
    });
  }

  it("reads --keys-file and AUDITX_VIEWER_KEYS, keeps --api-key unscoped, and prints none of them", async () => {
    trail(temp.dir);
    const file = join(temp.dir, "..", `${temp.dir.split("/").at(-1)}-keys.json`);
    onTestFinished(() => rmSync(file, { force: true }));
    writeFileSync(file, JSON.stringify({ keys: [{ id: "from-file", key: KEYS.tenant, companies: ["CO-001"] }] }));
    const env = {
      AUDITX_VIEWER_KEYS: JSON.stringify([{ id: "from-env", key: KEYS.tenantAudit, companies: ["CO-002"], sources: ["audit"] }]),
    };
    const ui = await startUi(["--keys-file", file, "--api-key", KEYS.admin, "--no-audit-reads"], env);
    // The viewer answers while it indexes: wait until the trail is whole.
    await eventually(
      async () => (await getJson(`${ui.url}api/stats`, headers(KEYS.admin))).body.audit?.partial === undefined,
      20_000,
      "the first index build",
    );
    expect((await getJson(`${ui.url}api/entries`, headers(KEYS.tenant))).body.total).toBe(3);
    expect((await getJson(`${ui.url}api/entries`, headers(KEYS.tenantAudit))).body.total).toBe(2);
    expect((await getJson(`${ui.url}api/entries?source=security`, headers(KEYS.tenantAudit))).status).toBe(403);
    expect((await getJson(`${ui.url}api/entries`, headers(KEYS.admin))).body.total).toBe(6);
    expect(ui.output()).toContain("3 API keys");
    for (const key of Object.values(KEYS)) expect(ui.output()).not.toContain(key);
  });

  it("refuses a broken key file with exit code 2, without showing its content", async () => {
    const file = join(temp.dir, "..", `${temp.dir.split("/").at(-1)}-bad.json`);
    onTestFinished(() => rmSync(file, { force: true }));
    writeFileSync(file, `[{"id":"x","key":"${KEYS.admin}",}]`);
    const child = spawn(process.execPath, [join(ROOT, "dist", "cli", "main.js"), "ui", "--log-dir", temp.dir, "--keys-file", file], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/keys file .* not valid JSON/);
    expect(stderr).not.toContain(KEYS.admin);
  });
});
