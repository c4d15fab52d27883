/**
 * Bad input is made safe or refused with AuditInputError: never another
 * throw, never a corrupted or forged line, never prototype pollution.
 */
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AuditEntry, AuditInputError, type AuditLogger, createLogger, entryFromDict, RequestContext } from "../src/index.js";
import { APP_LINE_RE, rawLines, readJsonl, tempDir } from "./support/core-trail.js";

let dir: string;
let cleanup: () => void;
let logger: AuditLogger;
let received: AuditEntry[];
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
  received = [];
  logger = createLogger({ auditLifecycle: false, logDir: dir, onAudit: (entry) => void received.push(entry) });
});
afterEach(async () => {
  try {
    await logger.shutdown();
  } finally {
    cleanup();
  }
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});

const TWO_MB = "x".repeat(2 * 1024 * 1024);
const FORGED = "ok\n01/01/2026 12:00:00 AM | admin | POST | INFO | forged";

function circular(): Record<string, unknown> {
  const a: Record<string, unknown> = { name: "a", list: [] };
  a.self = a;
  (a.list as unknown[]).push(a, { back: a });
  return a;
}

/** Values that have broken loggers before, by name. */
function nastyValues(): [string, unknown][] {
  const throwingGetter = Object.defineProperty({ fine: 1 }, "boom", {
    enumerable: true,
    get() {
      throw new Error("getter exploded");
    },
  });
  const throwingToJSON = {
    toJSON() {
      throw new Error("toJSON exploded");
    },
  };
  const throwingProxy = new Proxy(
    {},
    {
      get() {
        throw new Error("proxy get");
      },
      ownKeys() {
        throw new Error("proxy ownKeys");
      },
      getPrototypeOf() {
        throw new Error("proxy proto");
      },
    },
  );
  let deep: unknown = "bottom";
  for (let i = 0; i < 5000; i++) deep = { deeper: deep };
  const wide = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i]));
  return [
    ["circular", circular()],
    ["bigint", 2n ** 80n],
    ["date", new Date("2026-01-02T03:04:05Z")],
    ["invalid date", new Date(Number.NaN)],
    ["undefined", undefined],
    ["null", null],
    ["function", () => "f"],
    ["symbol", Symbol("sym")],
    ["2 MB string", TWO_MB],
    ["control characters", "a\u0000b\u0007c\u001b[31mred\u007f\r\n\t"],
    ["newline forgery", FORGED],
    ["unicode line separators", "a\u2028b\u2029c\u0085d"],
    ["lone surrogates", "x\uD800y\uDFFFz\uD83D"],
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["throwing getter", throwingGetter],
    ["throwing toJSON", throwingToJSON],
    ["throwing proxy", throwingProxy],
    ["__proto__ key", JSON.parse('{"__proto__": {"polluted": true}, "a": 1}')],
    ["constructor.prototype", { constructor: { prototype: { polluted: true } } }],
    ["symbol keys", { [Symbol("k")]: 1, visible: 2 }],
    ["error", Object.assign(new Error("failed\nsecond line"), { code: "E_X" })],
    [
      "map and set",
      {
        m: new Map<unknown, unknown>([
          [{ k: 1 }, 1],
          ["s", new Set([1, 2n])],
        ]),
      },
    ],
    ["buffer", Buffer.from("secret")],
    ["deep nesting", deep],
    ["wide object", wide],
    ["huge array", new Array(200_000).fill(7)],
    [
      "class instance",
      new (class Invoice {
        no = "SI-1";
        get total() {
          return 5;
        }
      })(),
    ],
    ["number", 42],
    ["array", [1, "two", { three: 3 }]],
  ];
}

/** Runs `call`; a throw other than AuditInputError fails with the case's name. */
function attempt(name: string, call: () => unknown): "ok" | "refused" {
  try {
    call();
    return "ok";
  } catch (error) {
    if (error instanceof AuditInputError) return "refused";
    throw new Error(`${name}: threw ${String((error as Error)?.stack ?? error)}`);
  }
}

/** Every line of every trail file parses, and app.log lines each start with the time. */
function expectTrailIntact(): { audit: Record<string, unknown>[]; app: string[] } {
  const audit = readJsonl(join(dir, "audit.jsonl"));
  readJsonl(join(dir, "security.jsonl"));
  const app = rawLines(join(dir, "app.log"));
  for (const line of app) expect(line).toMatch(APP_LINE_RE);
  for (const line of rawLines(join(dir, "audit.jsonl"))) expect(line.length).toBeLessThan(1024 * 1024);
  return { audit, app };
}

describe("any value in any field", () => {
  it("audit methods never throw, write one parseable line per call, and return what they wrote", () => {
    let calls = 0;
    for (const [name, value] of nastyValues()) {
      const v = value as never;
      const cases: [string, () => AuditEntry][] = [
        ["description", () => logger.log(v)],
        ["metadata", () => logger.log("m", { metadata: v })],
        ["old/new values", () => logger.logChange("c", { oldValues: v, newValues: v })],
        ["amount", () => logger.logTransaction("t", { amount: v, currency: v })],
        ["party", () => logger.logTransaction("t", { party: v })],
        [
          "text fields",
          () =>
            logger.log("f", {
              user: v,
              userRole: v,
              companyId: v,
              branchId: v,
              entityId: v,
              referenceNo: v,
              ip: v,
              endpoint: v,
              method: v,
              module: v,
              action: v,
            }),
        ],
        ["status/success", () => logger.log("s", { status: v, success: v })],
        ["inventory", () => logger.logInventory(v, { productId: v, productName: v, quantity: v, unit: v, warehouseId: v })],
        ["service", () => logger.logService(v, { jobId: v, customerId: v, technician: v, serviceType: v, statusLabel: v })],
        ["security", () => logger.logSecurity(v, { user: v, ip: v, success: false })],
      ];
      for (const [field, call] of cases) {
        expect(attempt(`${name} as ${field}`, call), `${name} as ${field}`).toBe("ok");
        calls++;
      }
    }
    const { audit } = expectTrailIntact();
    expect(audit).toHaveLength(calls);
    expect(received).toHaveLength(calls);
    expect(audit).toEqual(received.map((entry) => entry.toDict()));
  });

  it("app.log methods never throw and never let a line be forged", () => {
    let calls = 0;
    for (const [name, value] of nastyValues()) {
      const v = value as never;
      const cases: [string, () => void][] = [
        ["info message", () => logger.info(v)],
        ["error fields", () => logger.error("e", { detail: v, [String(name)]: v })],
        ["custom", () => logger.loggingCustom(v, { user: v, method: v, extra: v })],
        ["critical", () => logger.critical(FORGED, { v })],
      ];
      for (const [field, call] of cases) {
        expect(attempt(`${name} as ${field}`, call), `${name} as ${field}`).toBe("ok");
        calls++;
      }
    }
    const { app } = expectTrailIntact();
    expect(app).toHaveLength(calls);
    expect(app.some((line) => line.startsWith("01/01/2026 12:00:00 AM | admin"))).toBe(false);
  });
});

describe("specific cases", () => {
  it("a newline in a message stays on one line of app.log, visibly escaped", () => {
    logger.loggingCustom(FORGED, { level: "info", user: "mallory\nx", method: "GET\r\n", note: FORGED });
    logger.info("two\rparts\u2028three\u0085four");
    const app = rawLines(join(dir, "app.log"));
    expect(app).toHaveLength(2);
    expect(app[0]).toContain("ok\\n01/01/2026 12:00:00 AM | admin | POST | INFO | forged");
    expect(app[0]).toContain("mallory\\nx");
    expect(app[1]).toContain("two\\rparts\\u2028three\\u0085four");
  });

  it("huge strings are cut and marked, not written whole", () => {
    const entry = logger.log(TWO_MB, { metadata: { blob: TWO_MB } });
    expect(entry.description.length).toBeLessThan(40 * 1024);
    expect(entry.description).toMatch(/…\[truncated \d+ chars\]$/);
    const line = readJsonl(join(dir, "audit.jsonl"))[0];
    expect(String((line.metadata as { blob: string }).blob)).toMatch(/truncated/);
    logger.info(TWO_MB);
    expect(rawLines(join(dir, "app.log"))[0].length).toBeLessThan(40 * 1024);
  });

  it("lone surrogates become U+FFFD, so the file stays valid UTF-8", () => {
    const entry = logger.log("a\uD800b", { metadata: { "k\uDC00": "v\uD83D" } });
    expect(entry.description).toBe("a\uFFFDb");
    const line = readJsonl(join(dir, "audit.jsonl"))[0];
    expect(line.metadata).toEqual({ "k\uFFFD": "v\uFFFD" });
  });

  it("NaN, Infinity and non-numeric amounts leave the amount out (the currency stays the default); bigint and numeric strings convert", () => {
    for (const amount of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, "abc", {}, Symbol("x")]) {
      const entry = logger.logTransaction("t", { amount: amount as never });
      expect(entry.amount).toBeNull();
      expect(entry.toDict()).not.toHaveProperty("amount");
      expect(entry.toDict()).toMatchObject({ currency: "MMK" });
    }
    expect(logger.logTransaction("t", { amount: 12n }).amount).toBe(12);
    expect(logger.logTransaction("t", { amount: " 99.5 " }).amount).toBe(99.5);
    expect(logger.logTransaction("t", { amount: { valueOf: () => 7.25 } as never }).amount).toBe(7.25);
    expectTrailIntact();
  });

  it("values are converted the JSON way: Date to ISO, BigInt to string, undefined and functions left out, cycles marked", () => {
    const entry = logger.log("conv", {
      metadata: { when: new Date("2026-01-02T03:04:05.000Z"), big: 2n ** 70n, gone: undefined, fn: () => 1, loop: circular() },
    });
    expect(entry.metadata).toMatchObject({ when: "2026-01-02T03:04:05.000Z", big: (2n ** 70n).toString() });
    expect(entry.metadata).not.toHaveProperty("gone");
    expect(entry.metadata).not.toHaveProperty("fn");
    expect((entry.metadata as { loop: { self: unknown } }).loop.self).toBe("[Circular]");
    expect(readJsonl(join(dir, "audit.jsonl"))[0].metadata).toEqual(entry.metadata);
  });

  it("a __proto__ key stays data: no prototype is changed, in the entry, the line or reading it back", () => {
    const payload = JSON.parse('{"__proto__": {"polluted": true, "isAdmin": true}, "safe": 1}');
    const entry = logger.logChange("proto", { oldValues: payload, newValues: { nested: payload }, metadata: payload });
    expect(Object.getPrototypeOf(entry.oldValues)).toBe(Object.prototype);
    expect((entry.oldValues as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(Object.hasOwn(entry.oldValues as object, "__proto__")).toBe(true);
    const raw = rawLines(join(dir, "audit.jsonl"))[0];
    expect(raw).toContain('"__proto__":{"polluted":true,"isAdmin":true}');
    const back = entryFromDict(JSON.parse(raw));
    expect((back.metadata as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(Object.getPrototypeOf(back.metadata)).toBe(Object.prototype);
    logger.loggingCustom("proto", JSON.parse('{"level": "info", "__proto__": {"polluted": true}}'));
    RequestContext.run(JSON.parse('{"__proto__": {"polluted": true}, "user": "u"}'), () => logger.log("ctx"));
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    expectTrailIntact();
  });

  it("invalid levels are refused with AuditInputError and nothing is written", async () => {
    for (const level of ["verbose", "", 42, null, {}, Symbol("x"), "AUDIT\n"]) {
      expect(() => logger.log("x", { level: level as never })).toThrow(AuditInputError);
      expect(() => logger.logSecurity("x", { level: level as never })).toThrow(AuditInputError);
      expect(() => logger.loggingCustom("x", { level: level as never })).toThrow(AuditInputError);
      await expect(logger.alog("x", { level: level as never })).rejects.toBeInstanceOf(AuditInputError);
    }
    expect(rawLines(join(dir, "audit.jsonl"))).toEqual([]);
    expect(rawLines(join(dir, "app.log"))).toEqual([]);
    // Levels in any case, and WARN, are accepted.
    expect(logger.log("x", { level: "security" }).level).toBe("SECURITY");
    expect(logger.log("x", { level: "Warn" as never }).level).toBe("WARNING");
  });

  it("non-string descriptions are written as text", () => {
    expect(logger.log(42 as never).description).toBe("42");
    expect(logger.log({ a: 1 } as never).description).toBe('{"a":1}');
    expect(logger.log(null as never).description).toBe("");
    expect(logger.log(Symbol("s") as never).description).toBe("Symbol(s)");
    expect(logger.log(circular() as never).description).toContain("[Circular]");
    expectTrailIntact();
  });

  it("options that are not objects are ignored", () => {
    for (const options of [null, 42, "str", true, []]) {
      expect(logger.log("o", options as never).description).toBe("o");
    }
    expectTrailIntact();
  });

  it("request context values that are not strings are made safe", () => {
    const hostile = {
      user: { toString: () => "u-obj" },
      ip: 127001,
      companyId: {
        toString() {
          throw new Error("toString exploded");
        },
      },
    };
    const entry = attempt("context", () => RequestContext.run(hostile as never, () => logger.log("ctx")));
    expect(entry).toBe("ok");
    expectTrailIntact();
  });
});
