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
    // (The loggers' own entries, START and who read what, reach the store too: module system.)
    const business = () => live.entries().filter((event) => event.data.entry.module !== "system");
    await eventually(() => business().length >= 4, 60_000, "the live entries");
    const services = new Set(business().map((event) => event.data.entry.service));
    expect(services).toEqual(new Set(["sales-api", "stock-api"]));
    live.close();

    // The four business entries, and each service's START entry (the logger records its own start).
    const all = await getJson(`${urls.viewer}/api/entries?service=sales-api,stock-api`);
    expect(all.body.total).toBe(6);
    expect(all.body.items.filter((entry: { action: string }) => entry.action === "START")).toHaveLength(2);
    const sales = await getJson(`${urls.viewer}/api/entries?service=sales-api&module=sales,crm`);
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
    const stock = await getJson(`${urls.viewer}/api/entries?hostname=stock-01&module=inventory,auth`);
    expect(stock.body.total).toBe(2);
    const security = await getJson(`${urls.viewer}/api/entries?source=security&success=false`);
    expect(security.body.items).toMatchObject([{ user: "mallory", success: false, service: "stock-api" }]);
    const history = await getJson(`${urls.viewer}/api/entries?entity_type=customer&entity_id=C-100`);
    expect(history.body.total).toBe(1);

    // The store holds what the two trails hold, and the shipper keeps its cursor beside each.
    const bothServices = "service=sales-api,stock-api";
    const journal = [...journalIds(join(temp.dir, "sales")).ids, ...journalIds(join(temp.dir, "stock")).ids];
    expect((await getJson(`${urls.viewer}/api/entries?${bothServices}&limit=1`)).body.total).toBe(journal.length);
    // The failed login, and the two START entries (SECURITY level).
    expect((await getJson(`${urls.viewer}/api/entries?source=security&${bothServices}&limit=1`)).body.total).toBe(3);
    // The viewer's records of its readers reach the store too, once its shipper has stored them.
    await eventually(
      async () => (await getJson(`${urls.viewer}/api/entries?service=auditx-viewer&action=READ&limit=1`)).body.total > 0,
      30_000,
      "the viewer's READ entries in the store",
      100,
    );
    for (const folder of ["sales", "stock"])
      expect(readdirSync(join(temp.dir, folder)).some((name) => name.includes(".shipped-"))).toBe(true);
  });
});
