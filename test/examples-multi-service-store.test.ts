/**
 * examples/multi-service-store end to end, against a real PostgreSQL: two
 * services write their own trails, one `auditx ship` sidecar ships both, and
 * the viewer over the store shows every service's entries, by service, live.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "./support/core-trail.js";
import { eventually } from "./support/eventually.js";
import { runExample } from "./support/integration-example.js";
import { usePostgres } from "./support/postgres.js";
import { journalIds } from "./support/store.js";
import { getJson, SseReader } from "./support/viewer-server.js";

describe("examples/multi-service-store", () => {
  const postgres = usePostgres();
  const temp = tempDir("auditx-example-store-");
  let example: ReturnType<typeof runExample>;
  const urls: Record<string, string> = {};

  beforeAll(async () => {
    const db = await postgres.database();
    example = runExample("examples/multi-service-store/main.mjs", temp.dir, { AUDITX_POSTGRES_URL: db.url, PORT: "0" });
    await eventually(
      () => {
        if (example.child.exitCode !== null) throw new Error(`the example exited early: ${example.stderr}`);
        for (const name of ["sales-api", "stock-api", "viewer"]) {
          const url = new RegExp(`${name} listening on (http:\\S+?)/?(\\s|$)`).exec(example.stdout)?.[1];
          if (url) urls[name] = url;
        }
        return Object.keys(urls).length === 3;
      },
      60_000,
      "the services and the viewer to listen",
    );
  });

  afterAll(async () => {
    example?.child.kill("SIGTERM");
    await example?.exited;
    temp.cleanup();
  });

  async function call(service: string, path: string, user: string, body: unknown, method = "POST") {
    const response = await fetch(`${urls[service]}${path}`, {
      method,
      headers: { "X-User": user, "X-Branch": "BR-YGN", "X-Company": "CO-001", "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return response.status;
  }

  it("shows both services' entries in one viewer, live, filterable by service and host", async () => {
    const live = new SseReader(`${urls.viewer}/api/stream?source=audit`);
    await eventually(() => live.comments.includes("connected"), 10_000, "the live stream");
    expect(await call("sales-api", "/invoices", "aye", { customerId: "C-100", amount: 250_000 })).toBe(201);
    expect(await call("sales-api", "/customers/C-100/credit-limit", "thida", { creditLimit: 2_000_000 }, "PATCH")).toBe(200);
    expect(await call("stock-api", "/stock-moves", "zaw", { productId: "P-001", from: "WH-YGN", to: "WH-MDY", quantity: 4 })).toBe(201);
    expect(await call("stock-api", "/login", "mallory", { user: "mallory", password: "guess" })).toBe(401);

    // Live: each entry reaches the page as the shipper stores it (NOTIFY), from either service.
    await eventually(() => live.entries().length >= 4, 60_000, "the live entries");
    const services = new Set(live.entries().map((event) => event.data.entry.service));
    expect(services).toEqual(new Set(["sales-api", "stock-api"]));
    live.close();

    const all = await getJson(`${urls.viewer}/api/entries`);
    expect(all.body.total).toBe(4);
    const sales = await getJson(`${urls.viewer}/api/entries?service=sales-api`);
    expect(sales.body.items.map((entry: { description: string }) => entry.description)).toEqual([
      "Credit limit of Golden Trading Co. changed",
      "Sales invoice SI-2026-0001 posted",
    ]);
    const change = sales.body.items[0];
    expect(change).toMatchObject({
      user: "thida",
      hostname: "sales-01",
      old_values: { credit_limit: 1_000_000 },
      new_values: { credit_limit: 2_000_000 },
    });
    const stock = await getJson(`${urls.viewer}/api/entries?hostname=stock-01`);
    expect(stock.body.total).toBe(2);
    const security = await getJson(`${urls.viewer}/api/entries?source=security`);
    expect(security.body.items).toMatchObject([{ user: "mallory", success: false, service: "stock-api" }]);
    const history = await getJson(`${urls.viewer}/api/entries?entity_type=customer&entity_id=C-100`);
    expect(history.body.total).toBe(1);

    // The store holds what the two trails hold, and the shipper keeps its cursor beside each.
    const stats = await getJson(`${urls.viewer}/api/stats`);
    const journal = [...journalIds(join(temp.dir, "sales")).ids, ...journalIds(join(temp.dir, "stock")).ids];
    expect(stats.body.audit.total).toBe(journal.length);
    expect(stats.body.security.total).toBe(1);
    for (const folder of ["sales", "stock"])
      expect(readdirSync(join(temp.dir, folder)).some((name) => name.includes(".shipped-"))).toBe(true);
  });
});
