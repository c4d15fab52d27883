/** RequestContext: isolation between concurrent requests, shared scope inside one, snapshots across threads. */
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AuditLogger, createLogger, RequestContext } from "../src/index.js";
import { FIXTURES, readJsonl, tempDir } from "./support/core-trail.js";

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let dir: string;
let cleanup: () => void;
let logger: AuditLogger;
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
  logger = createLogger({ logDir: dir });
});
afterEach(async () => {
  try {
    await logger.shutdown();
  } finally {
    cleanup();
  }
});

/** Yields to the event loop in one of several ways, chosen at random, so requests interleave. */
function randomPause(): Promise<void> {
  switch (Math.floor(Math.random() * 4)) {
    case 0:
      return new Promise((resolve) => setTimeout(resolve, Math.random() * 4));
    case 1:
      return new Promise((resolve) => setImmediate(resolve));
    case 2:
      return new Promise((resolve) => queueMicrotask(resolve));
    default:
      return Promise.resolve();
  }
}

describe("isolation", () => {
  it("keeps 200 concurrent interleaved requests apart, with update() inside each", async () => {
    const mismatches: string[] = [];
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        RequestContext.run({ user: `user-${i}`, requestId: `req-${i}`, ip: `10.0.${i >> 8}.${i & 255}`, method: "POST" }, async () => {
          await randomPause();
          logger.log(`start ${i}`);
          await randomPause();
          // An auth guard deep inside the request sets the tenant.
          await (async () => {
            await randomPause();
            RequestContext.update({ companyId: `CO-${i}`, userRole: i % 2 ? "manager" : "clerk" });
          })();
          await randomPause();
          const seen = RequestContext.get();
          if (seen.user !== `user-${i}` || seen.companyId !== `CO-${i}`) mismatches.push(`${i}: ${JSON.stringify(seen)}`);
          // Work fanned out inside the request sees the same scope.
          await Promise.all([
            (async () => {
              await randomPause();
              logger.logTransaction(`child ${i}`, { amount: i });
            })(),
            randomPause(),
          ]);
          await randomPause();
          logger.log(`end ${i}`);
        }),
      ),
    );
    expect(mismatches).toEqual([]);
    const lines = readJsonl(join(dir, "audit.jsonl"));
    expect(lines).toHaveLength(600);
    // The order on disk really is interleaved (otherwise the test proves nothing).
    const firstEnd = lines.findIndex((line) => String(line.description).startsWith("end "));
    const lastStart = lines.findLastIndex((line) => String(line.description).startsWith("start "));
    expect(firstEnd).toBeLessThan(lastStart);
    for (const line of lines) {
      const [kind, n] = String(line.description).split(" ");
      const i = Number(n);
      expect(line).toMatchObject({ user: `user-${i}`, request_id: `req-${i}`, ip: `10.0.${i >> 8}.${i & 255}`, method: "POST" });
      if (kind === "start") {
        expect(line).not.toHaveProperty("company_id");
        expect(line).not.toHaveProperty("user_role");
      } else {
        expect(line).toMatchObject({ company_id: `CO-${i}`, user_role: i % 2 ? "manager" : "clerk" });
      }
    }
    expect(RequestContext.get()).toEqual({});
  });

  it("update() inside a route is seen by the middleware's completion entry", async () => {
    const route = async () => {
      await randomPause();
      RequestContext.update({ user: "alice", companyId: "CO-9" });
    };
    await RequestContext.run({ requestId: "r-1", method: "GET", endpoint: "/orders" }, async () => {
      await route();
      logger.log("HTTP GET /orders completed with 200", { status: 200 });
    });
    expect(readJsonl(join(dir, "audit.jsonl"))[0]).toMatchObject({
      user: "alice",
      company_id: "CO-9",
      request_id: "r-1",
      endpoint: "/orders",
    });
  });

  it("a nested run() overlays the outer fields without changing them", () => {
    RequestContext.run({ user: "outer", branchId: "BR-1" }, () => {
      // A scope without a request id gets one (as the original's set()); the nested scope inherits it.
      const { requestId } = RequestContext.get();
      expect(requestId).toMatch(UUID_V4);
      RequestContext.run({ user: "inner" }, () => {
        expect(RequestContext.get()).toEqual({ user: "inner", branchId: "BR-1", requestId });
        RequestContext.update({ companyId: "CO-inner" });
      });
      expect(RequestContext.get()).toEqual({ user: "outer", branchId: "BR-1", requestId });
    });
  });

  it("clear() and set() act on the current scope only", () => {
    RequestContext.run({ user: "a", ip: "1.1.1.1", requestId: "r-a" }, () => {
      RequestContext.set({ user: "b" });
      // set() replaces the fields, but keeps the scope's request id (a guard's set() inside a request).
      expect(RequestContext.get()).toEqual({ user: "b", requestId: "r-a" });
      RequestContext.clear();
      expect(RequestContext.get()).toEqual({});
      expect(logger.log("anonymous").user).toBe("SYSTEM");
    });
  });
});

describe("snapshots", () => {
  it("get() is a plain, serialisable copy and run(snapshot) restores it later", async () => {
    let snapshot: ReturnType<typeof RequestContext.get> = {};
    RequestContext.run(
      { user: "admin", userRole: "manager", companyId: "CO-001", branchId: "BR-YGN", ip: "192.168.1.10", requestId: "r-7" },
      () => {
        snapshot = RequestContext.get();
        RequestContext.update({ user: "changed-after" });
      },
    );
    expect(Object.getPrototypeOf(snapshot)).toBe(Object.prototype);
    expect(snapshot.user).toBe("admin");
    expect(JSON.parse(JSON.stringify(snapshot))).toEqual(snapshot);
    expect(structuredClone(snapshot)).toEqual(snapshot);
    // A job queued from the request runs later, outside it, with the request's context.
    const fromJson = JSON.parse(JSON.stringify(snapshot));
    await new Promise((resolve) => setTimeout(resolve, 1));
    expect(RequestContext.get()).toEqual({});
    const entry = RequestContext.run(fromJson, () => logger.log("Nightly report generated"));
    expect(entry).toMatchObject({
      user: "admin",
      userRole: "manager",
      companyId: "CO-001",
      branchId: "BR-YGN",
      ip: "192.168.1.10",
      requestId: "r-7",
    });
  });

  it("a snapshot carries only the known string fields", () => {
    const weird = { user: "u", extra: "x", toString: () => "evil", __proto__: { polluted: true } } as unknown as Parameters<
      typeof RequestContext.run
    >[0];
    RequestContext.run(weird, () => {
      const snapshot = RequestContext.get();
      // The known field, and the request id the scope was given.
      expect(snapshot).toEqual({ user: "u", requestId: expect.stringMatching(UUID_V4) });
      expect(Object.keys(snapshot)).toEqual(["user", "requestId"]);
    });
  });

  it("crosses a worker_threads boundary", async () => {
    let snapshot: ReturnType<typeof RequestContext.get> = {};
    RequestContext.run({ user: "warehouse-bot", companyId: "CO-2", branchId: "BR-MDY", requestId: "r-w" }, () => {
      snapshot = RequestContext.get();
    });
    const worker = new Worker(join(FIXTURES, "core-context-worker.mjs"), { workerData: { snapshot, logDir: dir } });
    try {
      const message = await new Promise<{ seen: unknown; outside: unknown }>((resolve, reject) => {
        worker.once("message", resolve);
        worker.once("error", reject);
      });
      expect(message.seen).toEqual(snapshot);
      expect(message.outside).toEqual({});
    } finally {
      await worker.terminate();
    }
    const line = readJsonl(join(dir, "audit.jsonl"))[0];
    expect(line).toMatchObject({
      description: "Stock recount job finished",
      user: "warehouse-bot",
      company_id: "CO-2",
      branch_id: "BR-MDY",
      request_id: "r-w",
      entity_type: "product",
    });
  });
});
