/** configure(), createLogger() and the global `audit`: options checked, loggers independent, hubs carried over. */
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { AuditConfigError, AuditHub, AuditWriteError, audit, configure, createLogger, type HubEvent } from "../src/index.js";
import { readJsonl, readOwnEntries, tempDir } from "./support/core-trail.js";

let dir: string;
let cleanup: () => void;
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
});
afterEach(() => cleanup());
afterAll(async () => {
  await audit.shutdown();
});

describe("options", () => {
  it.each([
    ["maxFileBytes", -1],
    ["maxFileBytes", Number.NaN],
    ["maxFileBytes", "10MB"],
    ["backupCount", -2],
    ["backupCount", Number.POSITIVE_INFINITY],
    ["maxStringLength", -5],
    ["logDir", ""],
    ["logDir", 42],
    ["onAudit", "callback"],
  ])("%s = %s is an AuditConfigError", (name, value) => {
    expect(() => createLogger({ logDir: dir, [name]: value })).toThrow(AuditConfigError);
  });

  it("hostname and serviceName are written as given", async () => {
    const logger = createLogger({ logDir: dir, hostname: "erp-node-7", serviceName: "billing" });
    logger.log("x");
    await logger.shutdown();
    expect(readJsonl(join(dir, "audit.jsonl"))[0]).toMatchObject({ hostname: "erp-node-7", service: "billing" });
  });

  it("maxStringLength cuts long text fields", async () => {
    const logger = createLogger({ logDir: dir, maxStringLength: 10 });
    const entry = logger.log("0123456789abcdef", { metadata: { note: "0123456789abcdef" } });
    await logger.shutdown();
    expect(entry.description.startsWith("0123456789…")).toBe(true);
    expect(entry.description).not.toContain("abcdef");
    expect((entry.metadata as { note: string }).note).not.toContain("abcdef");
  });
});

describe("loggers", () => {
  it("createLogger gives independent loggers, one folder each (one per tenant)", async () => {
    const a = createLogger({ logDir: join(dir, "tenant-a") });
    const b = createLogger({ logDir: join(dir, "tenant-b"), currency: "THB" });
    a.logTransaction("A sale", { amount: 1 });
    b.logTransaction("B sale", { amount: 2 });
    await a.shutdown();
    b.logTransaction("B keeps going", { amount: 3 });
    await b.shutdown();
    expect(readJsonl(join(dir, "tenant-a", "audit.jsonl")).map((e) => e.description)).toEqual(["A sale"]);
    expect(readJsonl(join(dir, "tenant-b", "audit.jsonl")).map((e) => [e.description, e.currency])).toEqual([
      ["B sale", "THB"],
      ["B keeps going", "THB"],
    ]);
  });

  it("configure() replaces the global logger: the old one is closed, hubs carry over", async () => {
    const first = configure({ logDir: join(dir, "first") });
    const hub = new AuditHub();
    const events: HubEvent[] = [];
    hub.subscribe((event: HubEvent) => void events.push(event));
    audit.connectHub(hub);
    audit.logTransaction("to first", { amount: 1 });
    const second = configure({ logDir: join(dir, "second") });
    expect(second).not.toBe(first);
    expect(audit.logDir).toBe(join(dir, "second"));
    audit.logTransaction("to second", { amount: 2 });
    audit.logSecurity("login on second", { success: false });
    expect(() => first.log("late")).toThrow(AuditWriteError);
    await audit.flush();
    expect(readJsonl(join(dir, "first", "audit.jsonl")).map((e) => e.description)).toEqual(["to first"]);
    expect(readJsonl(join(dir, "second", "audit.jsonl")).map((e) => e.description)).toEqual(["to second", "login on second"]);
    // The hub also gets auditx's own entries: the first logger's START and STOP, the second's CONFIGURE.
    expect(events.filter((e) => e.entry.entity_type !== "auditx").map((e) => `${e.source}:${e.entry.description}`)).toEqual([
      "audit:to first",
      "audit:to second",
      "audit:login on second",
      "security:login on second",
    ]);
    expect(readOwnEntries(join(dir, "first")).map((e) => e.action)).toEqual(["START", "STOP"]);
    expect(readOwnEntries(join(dir, "second")).map((e) => [e.action, e.entity_id])).toEqual([["CONFIGURE", "logger"]]);
  });

  it("a method taken from `audit` before a configure() reaches the logger of the latest configure()", async () => {
    configure({ logDir: join(dir, "before") });
    // A common pattern: `const { info, logTransaction } = audit` at the top of a module.
    const { logTransaction, info } = audit;
    configure({ logDir: join(dir, "after") });
    logTransaction("detached call", { amount: 1 });
    info("detached app message");
    await audit.flush();
    expect(readJsonl(join(dir, "after", "audit.jsonl")).map((e) => e.description)).toEqual(["detached call"]);
  });
});
