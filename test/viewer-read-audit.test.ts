/**
 * The viewer records who read what (PCI DSS 10.2.1.3): its start with the
 * keys' ids and scopes, list and search requests coalesced per minute,
 * entity histories, opened entries, exports with filters and row counts,
 * refused keys with brute-force detection; as SECURITY entries of the viewed
 * folder when it can write there, through the in-process logger when there is
 * one, else in a folder of its own beside it; the key's id, never the key.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type AuditEntry, createLogger, verifyTrail } from "../src/index.js";
import type { RunningViewer } from "../src/viewer/index.js";
import { ROOT, readOwnEntries } from "./support/core-trail.js";
import { eventually } from "./support/eventually.js";
import {
  entryLine,
  getJson,
  startTestViewer,
  viewerTempDir,
  webSocketCloseCode,
  webSocketRefusal,
  writeTrail,
} from "./support/viewer-server.js";

const ADMIN = "admin-key-read-audit-1";
const TENANT = "tenant-key-read-audit-2";

type Own = Record<string, unknown> & { metadata?: Record<string, unknown> };

function viewerEntries(dir: string, name = "security.jsonl"): Own[] {
  return readOwnEntries(dir, name).filter((entry) => entry.entity_id === "viewer") as Own[];
}

describe("the viewer's record of its readers", () => {
  const temp = viewerTempDir();
  let running: RunningViewer;
  let base: string;

  beforeAll(async () => {
    writeTrail(join(temp.dir, "audit.jsonl"), [
      entryLine(1, { company_id: "CO-001", entity_type: "customer", entity_id: "CUST-7", id: "e-1" }),
      entryLine(2, { company_id: "CO-002", entity_type: "customer", entity_id: "CUST-9", id: "e-2" }),
      entryLine(3, { company_id: "CO-001", entity_type: "customer", entity_id: "CUST-7", id: "e-3" }),
    ]);
    running = await startTestViewer({
      logDir: temp.dir,
      auditReads: true,
      apiKey: ADMIN,
      apiKeys: [{ id: "tenant-auditor", key: TENANT, companies: ["CO-001"] }],
      keyFailureLimit: { maxAttempts: 3, windowMs: 60_000 },
    });
    base = running.url;
  });
  afterAll(async () => {
    await running?.close();
    temp.cleanup();
  });

  it("writes its start with the keys' ids and scopes, into the viewed folder's security trail", () => {
    const [start] = viewerEntries(temp.dir);
    expect(start).toMatchObject({ action: "START", level: "SECURITY", user: "auditx", description: "auditx viewer started" });
    expect(start!.metadata!.keys).toEqual([{ id: "tenant-auditor", companies: ["CO-001"] }, { id: "default" }]);
    expect(viewerEntries(temp.dir, "audit.jsonl")[0]).toMatchObject({ action: "START" });
  });

  it("records list and search requests once per distinct query per reader and client per minute", async () => {
    const before = viewerEntries(temp.dir).length;
    for (let i = 0; i < 3; i++) await getJson(`${base}api/entries?module=sales&offset=${i}`, { "X-API-Key": TENANT });
    await getJson(`${base}api/entries?q=invoice`, { "X-API-Key": TENANT });
    await getJson(`${base}api/entries?module=sales`, { "X-API-Key": ADMIN });
    const reads = viewerEntries(temp.dir).slice(before);
    expect(reads.map((entry) => [entry.action, entry.user, entry.metadata?.filter])).toEqual([
      ["READ", "tenant-auditor", { module: ["sales"] }],
      ["READ", "tenant-auditor", { q: "invoice" }],
      ["READ", "default", { module: ["sales"] }],
    ]);
    expect(reads[0]).toMatchObject({
      level: "SECURITY",
      ip: "127.0.0.1",
      method: "GET",
      endpoint: "/api/entries",
      metadata: { source: "audit", total: 2, view: "list", client: "127.0.0.1", scope: { companies: ["CO-001"] } },
    });
  });

  it("records entity histories and opened entries", async () => {
    const before = viewerEntries(temp.dir).length;
    await getJson(`${base}api/entries?entity_type=customer&entity_id=CUST-7`, { "X-API-Key": TENANT });
    await getJson(`${base}api/entries/e-3`, { "X-API-Key": TENANT });
    await getJson(`${base}api/entries/e-2`, { "X-API-Key": TENANT });
    const reads = viewerEntries(temp.dir).slice(before);
    expect(reads.map((entry) => entry.description)).toEqual([
      "Viewer: tenant-auditor read the history of customer CUST-7 (2 found)",
      "Viewer: tenant-auditor opened audit entry e-3",
      "Viewer: tenant-auditor opened audit entry e-2 (not found)",
    ]);
    expect(reads[0]!.metadata).toMatchObject({ view: "entity history", filter: { entityType: ["customer"], entityId: ["CUST-7"] } });
  });

  it("records every export with its filters, format and the rows sent", async () => {
    const before = viewerEntries(temp.dir).length;
    await (await fetch(`${base}api/export?format=csv&module=sales`, { headers: { "X-API-Key": TENANT } })).text();
    await (await fetch(`${base}api/export?format=jsonl`, { headers: { "X-API-Key": ADMIN } })).text();
    await (await fetch(`${base}api/export?format=jsonl`, { headers: { "X-API-Key": ADMIN } })).text();
    await eventually(() => viewerEntries(temp.dir).length >= before + 3, 5_000, "three export entries");
    const exports = viewerEntries(temp.dir).slice(before);
    expect(
      exports.map((entry) => [entry.action, entry.user, entry.metadata?.format, entry.metadata?.rows, entry.metadata?.completed]),
    ).toEqual([
      ["EXPORT", "tenant-auditor", "csv", 2, true],
      ["EXPORT", "default", "jsonl", expect.any(Number), true],
      ["EXPORT", "default", "jsonl", expect.any(Number), true],
    ]);
    expect(exports[0]!.metadata!.filter).toEqual({ module: ["sales"] });
  });

  it("records refused keys, detects brute force on the key, blocks the address, and never writes a key", async () => {
    const before = viewerEntries(temp.dir).length;
    expect((await getJson(`${base}api/stats`)).status).toBe(401);
    expect((await getJson(`${base}api/entries`)).status).toBe(401);
    for (const wrong of ["guess-one-xx", "guess-two-xx"])
      expect((await getJson(`${base}api/stats`, { "X-API-Key": wrong })).status).toBe(401);
    // As auditX: a wrong key closes the socket with 4401.
    expect((await webSocketCloseCode(`${base.replace("http", "ws")}api/ws?api_key=guess-three-x`)).code).toBe(4401);
    // Past the limit the address is blocked, the right key included, until the window ends.
    const blocked = await fetch(`${base}api/stats`, { headers: { "X-API-Key": ADMIN } });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await webSocketRefusal(`${base.replace("http", "ws")}api/ws`, { "X-API-Key": ADMIN })).toBe(429);
    const refused = viewerEntries(temp.dir).slice(before);
    expect(refused.map((entry) => [entry.level, entry.action, entry.success, entry.user, entry.metadata?.reason])).toEqual([
      ["SECURITY", "LOGIN", false, "unauthenticated", "no API key"],
      ["SECURITY", "LOGIN", false, "unauthenticated", "a wrong API key"],
      ["SECURITY", "LOGIN", false, "unauthenticated", "a wrong API key"],
      ["CRITICAL", "LOGIN", false, "unauthenticated", "a wrong API key"],
    ]);
    expect(refused.at(-1)!.metadata).toMatchObject({ brute_force: true, failed_attempts: 3 });
    expect(refused.at(-1)!.description).toMatch(
      /^Brute-force suspected against the viewer's API key: 3 refused requests from 127\.0\.0\.1/,
    );
    const files = ["audit.jsonl", "security.jsonl"].map((name) => readFileSync(join(temp.dir, name), "utf8")).join("");
    for (const key of [ADMIN, TENANT, "guess-one-xx", "guess-two-xx", "guess-three-x"]) expect(files).not.toContain(key);
  });
});

describe("where the record goes", () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  });

  it("goes through the in-process logger of the viewed folder: onAudit and its other sinks see it", async () => {
    const temp = viewerTempDir();
    const received: AuditEntry[] = [];
    const logger = createLogger({ logDir: temp.dir, onAudit: (entry) => void received.push(entry) });
    logger.log("business entry");
    const running = await startTestViewer({ logDir: temp.dir, logger, auditReads: true });
    try {
      // The viewer's START went through the logger into the trail a moment ago: read before the request, it is one
      // of the three entries found (the logger's START, the business entry, the viewer's START), whatever the timing.
      await running.viewer.refresh();
      await getJson(`${running.url}api/entries`);
      expect(received.map((entry) => entry.description)).toContain("Viewer: anonymous read audit entries (3 found)");
      expect(received.find((entry) => entry.entityId === "viewer" && entry.action === "READ")).toMatchObject({
        user: "anonymous",
        level: "SECURITY",
      });
    } finally {
      await running.close();
      await logger.shutdown();
      temp.cleanup();
    }
  });

  it("is sealed when the trail it joins is, so that the trail still verifies", async () => {
    const temp = viewerTempDir();
    const logger = createLogger({ logDir: temp.dir, integrity: true });
    logger.log("sealed business entry");
    await logger.shutdown();
    const running = await startTestViewer({ logDir: temp.dir, auditReads: true });
    try {
      await getJson(`${running.url}api/entries`);
    } finally {
      await running.close();
    }
    expect(viewerEntries(temp.dir).map((entry) => [entry.action, typeof entry.chain_id])).toEqual([
      ["START", "string"],
      ["READ", "string"],
      ["STOP", "string"],
    ]);
    const report = await verifyTrail({ logDir: temp.dir });
    expect(report).toMatchObject({ ok: true, unsealed: 0 });
    // The viewer's logger takes over the writer identity the business logger closed (a writer's chain outlives the
    // logger): one chain, the logger's START, entry and STOP, then the viewer's three.
    expect(report.chains).toHaveLength(1);
    expect(report.chains[0]).toMatchObject({ firstSeq: 1, lastSeq: 6, lines: 6 });
    temp.cleanup();
  });

  it("uses the trail's own file names", async () => {
    const temp = viewerTempDir();
    writeTrail(join(temp.dir, "erp-audit.jsonl"), [entryLine(1)]);
    const running = await startTestViewer({
      logDir: temp.dir,
      auditReads: true,
      auditLogFile: "erp-audit.jsonl",
      securityLogFile: "erp-security.jsonl",
    });
    try {
      await getJson(`${running.url}api/entries`);
    } finally {
      await running.close();
    }
    expect(viewerEntries(temp.dir, "erp-security.jsonl").map((entry) => entry.action)).toEqual(["START", "READ", "STOP"]);
    expect(existsSync(join(temp.dir, "audit.jsonl"))).toBe(false);
    temp.cleanup();
  });

  it("only adds lines to the viewed folder: its segments are left as they are (no compression by the viewer)", async () => {
    const temp = viewerTempDir();
    // A rotated segment last written an hour ago: a logger of this folder would gzip it at once.
    const segment = join(temp.dir, "audit.20260628T090000.000Z.a1b2c3.jsonl");
    writeTrail(segment, [entryLine(1), entryLine(2)]);
    const anHourAgo = new Date(Date.now() - 3600_000);
    utimesSync(segment, anHourAgo, anHourAgo);
    writeTrail(join(temp.dir, "audit.jsonl"), [entryLine(3)]);
    const running = await startTestViewer({ logDir: temp.dir, auditReads: true });
    try {
      await getJson(`${running.url}api/entries`);
      // Past the moment a logger's housekeeping first runs (about a second after its start).
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(readdirSync(temp.dir).filter((name) => name.endsWith(".gz"))).toEqual([]);
      expect(existsSync(segment)).toBe(true);
      expect((await getJson(`${running.url}api/stats`)).body.audit.total).toBeGreaterThanOrEqual(3);
    } finally {
      await running.close();
    }
    temp.cleanup();
  });

  it("goes to a folder of its own beside a log folder the viewer cannot write", async () => {
    const temp = viewerTempDir();
    const logDir = join(temp.dir, "logs");
    mkdirSync(logDir);
    writeTrail(join(logDir, "audit.jsonl"), [entryLine(1)]);
    // The viewer may create its own folder beside the trail, not write in it: run it as another user when this is root.
    chmodSync(temp.dir, 0o777);
    chmodSync(logDir, 0o555);
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const child = spawn(process.execPath, [join(ROOT, "dist", "cli", "main.js"), "ui", "--log-dir", logDir, "--port", "0"], {
      stdio: ["ignore", "pipe", "pipe"],
      ...asNobody,
    });
    children.push(child);
    try {
      let output = "";
      child.stderr!.on("data", (chunk: Buffer) => {
        output += chunk.toString();
      });
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL: ${output}`)), 20_000);
        child.stdout!.on("data", (chunk: Buffer) => {
          output += chunk.toString();
          const match = /http:\/\/127\.0\.0\.1:\d+\//.exec(output);
          if (match) {
            clearTimeout(timer);
            resolve(match[0]);
          }
        });
      });
      // The viewer answers while it indexes: the line is there once the first build has read it.
      await eventually(async () => (await getJson(`${url}api/entries`)).body.total === 1, 20_000, "the trail's one entry");
      const own = `${logDir}-viewer-audit`;
      await eventually(() => existsSync(join(own, "security.jsonl")) && viewerEntries(own).length >= 2, 10_000, "the viewer's own folder");
      // START, then a READ per request asked (one or more, as the build went).
      const [first, ...reads] = viewerEntries(own).map((entry) => entry.action);
      expect(first).toBe("START");
      expect(new Set(reads)).toEqual(new Set(["READ"]));
      expect(readFileSync(join(logDir, "audit.jsonl"), "utf8").trim().split("\n")).toHaveLength(1);
    } finally {
      chmodSync(logDir, 0o755);
      child.kill("SIGTERM");
      temp.cleanup();
    }
  });
});
