/**
 * examples/orm-credit-limit end to end, on PostgreSQL and on SQLite: credit limits changed through
 * TypeORM by different users and branches, the auditor's question answered from the trail and in
 * the viewer's entity history.
 */
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "./support/core-trail.js";
import { eventually } from "./support/eventually.js";
import { type RunningExample, startExample } from "./support/integration-example.js";
import { auditEntries } from "./support/integration-trail.js";
import { usePostgres } from "./support/postgres.js";

const postgres = usePostgres();

const thida = { "X-User": "thida", "X-Role": "manager", "X-Company": "CO-001", "X-Branch": "BR-YGN" };
const aung = { "X-User": "aung", "X-Role": "manager", "X-Company": "CO-001", "X-Branch": "BR-MDY" };
const clerk = { "X-User": "aye", "X-Role": "clerk", "X-Company": "CO-001", "X-Branch": "BR-YGN" };
const auditor = { "X-User": "khin", "X-Role": "auditor" };

let example: RunningExample | undefined;
let cleanup: (() => void) | undefined;
afterEach(async () => {
  example?.stop();
  await example?.exited;
  example = undefined;
  cleanup?.();
});

async function call(path: string, headers: Record<string, string>, body?: unknown) {
  const response = await fetch(`${example!.url}${path}`, {
    method: body === undefined ? "GET" : "PATCH",
    headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return {
    status: response.status,
    requestId: response.headers.get("x-request-id"),
    body: (await response.json()) as Record<string, never>,
  };
}

async function answersTheAuditor(dir: string) {
  const first = await call("/api/customers/C-100/credit-limit", thida, { creditLimit: 1_500_000 });
  expect(first.status).toBe(200);
  const refused = await call("/api/customers/C-100/credit-limit", clerk, { creditLimit: 9_000_000 });
  expect(refused.status).toBe(403);
  const second = await call("/api/customers/C-100/credit-limit", aung, { creditLimit: 2_000_000 });
  expect(second.status).toBe(200);
  expect(Number(second.body.creditLimit)).toBe(2_000_000);

  // From the trail: who, from which branch, when, from what to what.
  const history = await call("/api/customers/C-100/credit-limit-history", auditor);
  expect(history.status).toBe(200);
  const changes = (history.body.changes as Array<Record<string, unknown>>).filter((change) => change.from !== null);
  expect(changes.map((change) => [change.who, change.role, change.branch, Number(change.from), Number(change.to)])).toEqual([
    ["thida", "manager", "BR-YGN", 1_000_000, 1_500_000],
    ["aung", "manager", "BR-MDY", 1_500_000, 2_000_000],
  ]);
  expect(changes.map((change) => change.requestId)).toEqual([first.requestId, second.requestId]);
  for (const change of changes) expect(Date.parse(String(change.when))).toBeGreaterThan(Date.now() - 60_000);

  // In the viewer: the customer's entity history, newest first, with the same entries (the viewer
  // follows the trail file, so the newest line may take a moment to be indexed).
  const entityId = String(history.body.entityId);
  const updates = await eventually(
    async () => {
      const viewer = await fetch(`${example!.url}/audit/api/entries?entity_type=Customer&entity_id=${entityId}`);
      expect(viewer.status).toBe(200);
      const items = ((await viewer.json()) as { items: Array<Record<string, unknown>> }).items;
      const found = items.filter((item) => item.action === "UPDATE");
      return found.length >= 2 && found;
    },
    10_000,
    "both updates in the viewer",
    50,
  );
  expect(updates.map((item) => [item.user, item.branch_id, item.reference_no, item.module])).toEqual([
    ["aung", "BR-MDY", "C-100", "sales"],
    ["thida", "BR-YGN", "C-100", "sales"],
  ]);
  expect(updates[0]).toMatchObject({ entity_type: "Customer", entity_id: entityId, metadata: { orm: "typeorm" } });
  expect(Object.keys(updates[0].old_values as object)).toEqual(["creditLimit"]);

  // The refusal is in the trail as a security event; the refused change is not.
  const trail = auditEntries(dir);
  expect(trail.some((entry) => entry.level === "WARNING" && String(entry.description).includes("refused for aye"))).toBe(true);
  expect(trail.filter((entry) => entry.entity_type === "Customer" && entry.action === "UPDATE")).toHaveLength(2);
}

describe("examples/orm-credit-limit", () => {
  it("on PostgreSQL (DATABASE_URL): who changed the credit limit, from which branch, when", async () => {
    const database = await postgres.database();
    const temp = tempDir("auditx-example-orm-pg-");
    cleanup = temp.cleanup;
    example = await startExample("examples/orm-credit-limit/server.mjs", temp.dir, { DATABASE_URL: database.url });
    await answersTheAuditor(temp.dir);
  });

  it("on SQLite (no DATABASE_URL): the same answers", async () => {
    const temp = tempDir("auditx-example-orm-sqlite-");
    cleanup = temp.cleanup;
    example = await startExample("examples/orm-credit-limit/server.mjs", temp.dir, { DATABASE_URL: "" });
    await answersTheAuditor(temp.dir);
  });
});
