import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const cli = join(import.meta.dirname, "..", "dist", "cli", "main.js");
const demoBin = join(import.meta.dirname, "..", "dist", "cli", "demo-bin.js");

const readAllLines = (path: string) =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));
/** The demo's own entries; auditx's lifecycle entries (START, STOP, CONFIGURE) are checked apart. */
const readLines = (path: string) => readAllLines(path).filter((e) => !(e.entity_type === "auditx" && e.module === "system"));

describe("auditx demo", () => {
  let dir: string;
  let stdout: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "auditx-demo-"));
    ({ stdout } = await run(process.execPath, [cli, "demo", "--log-dir", join(dir, "logs")], { env: { ...process.env, NO_COLOR: "1" } }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("imports the previous business day first, then writes the original's scenario, ending in a CRITICAL brute-force entry", () => {
    const audit = readLines(join(dir, "logs", "audit.jsonl"));
    expect(audit).toHaveLength(240 + 12);
    // The logger's own lifecycle frames the demo's entries.
    const lifecycle = readAllLines(join(dir, "logs", "audit.jsonl")).filter((e) => e.entity_type === "auditx");
    expect(lifecycle[0]).toMatchObject({ action: "START", level: "SECURITY", user: "auditx" });
    expect(lifecycle.at(-1)).toMatchObject({ action: "STOP", level: "SECURITY", user: "auditx" });
    const scenario = audit.slice(240);
    expect(scenario.map((e) => e.description).slice(0, 5)).toEqual([
      "User login successful",
      "Sales invoice posted",
      "Stock issued for sales order",
      "Service job completed",
      "Customer credit limit updated",
    ]);
    // The original's logSecurity: a successful login at AUDIT, failures at SECURITY.
    expect(scenario[0]).toMatchObject({ level: "AUDIT", action: "LOGIN", success: true });
    const failed = scenario.slice(5);
    expect(failed).toHaveLength(7);
    expect(failed.every((e) => e.action === "LOGIN" && e.success === false && e.ip === "203.0.113.77")).toBe(true);
    expect(failed.slice(0, 5).every((e) => e.level === "SECURITY" && e.description === "Login failed: invalid password")).toBe(true);
    expect(failed.at(-1)).toMatchObject({
      level: "CRITICAL",
      description: "Rate limit exceeded - possible brute force",
      metadata: { brute_force: true, failed_attempts: 7 },
    });
    expect(scenario[4]).toMatchObject({ old_values: { credit_limit: 500000 }, new_values: { credit_limit: 1000000 } });
    expect(scenario.some((e) => e.metadata?.imported)).toBe(false);
  });

  it("the business day is believable: spread over working hours, each entry at its own time, marked as imported", () => {
    const day = readLines(join(dir, "logs", "audit.jsonl")).slice(0, 240);
    const times = day.map((e) => Date.parse(e.timestamp));
    // In order, on one day that has ended, from the morning logins to the evening logouts.
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times.at(-1) as number).toBeLessThan(Date.now());
    const hours = day.map((e) => new Date(e.timestamp).getHours() + new Date(e.timestamp).getMinutes() / 60);
    expect(Math.min(...hours)).toBeGreaterThanOrEqual(8);
    expect(Math.max(...hours)).toBeLessThan(18);
    expect(Math.max(...hours) - Math.min(...hours)).toBeGreaterThan(8);
    expect(new Set(day.map((e) => new Date(e.timestamp).toDateString())).size).toBe(1);
    // Every hour of the working day has activity.
    for (let hour = 9; hour < 17; hour++) expect(hours.some((h) => Math.floor(h) === hour)).toBe(true);
    for (const entry of day) {
      expect(entry.metadata.imported).toMatchObject({ source: "legacy ERP audit table (demo)", row: expect.any(Number) });
    }

    // Descriptions match their actions.
    const actionOf: Record<string, string> = {
      "User login successful": "LOGIN",
      "Login failed: invalid password": "LOGIN",
      "User logged out": "LOGOUT",
      "Sales invoice posted": "POST",
      "Sales invoice voided": "VOID",
      "Customer payment received": "PAYMENT",
      "Purchase order approved": "APPROVE",
      "Goods received note posted": "POST",
      "Stock transferred between warehouses": "TRANSFER",
      "Stock issued for sales order": "TRANSFER",
      "Stock count adjusted after cycle count": "ADJUST",
      "Service job created": "CREATE",
      "Leave request approved": "APPROVE",
      "Employee bank account changed": "UPDATE",
      "Customer credit limit updated": "UPDATE",
    };
    for (const entry of day) {
      if (actionOf[entry.description]) expect([entry.description, entry.action]).toEqual([entry.description, actionOf[entry.description]]);
      if (String(entry.description).includes("report exported")) expect(entry.action).toBe("EXPORT");
    }

    // Outcomes agree with levels and statuses.
    for (const entry of day) {
      const summary = [entry.description, entry.level, entry.status, entry.success];
      if (entry.level === "SECURITY" || entry.level === "CRITICAL" || entry.level === "ERROR")
        expect(entry.success, String(summary)).toBe(false);
      if (entry.success === false) expect(["WARNING", "SECURITY", "ERROR", "CRITICAL"], String(summary)).toContain(entry.level);
      if (typeof entry.status === "number") expect(entry.status >= 400, String(summary)).toBe(entry.success === false);
    }
    expect(day.filter((e) => e.success === false).length).toBeGreaterThan(0);

    // Each member of staff logs in before their first piece of work and out after their last.
    const byUser = new Map<string, { description: string; action: string; success: boolean }[]>();
    for (const entry of day) byUser.set(entry.user, [...(byUser.get(entry.user) ?? []), entry]);
    expect(byUser.size).toBeGreaterThanOrEqual(10);
    for (const [user, entries] of byUser) {
      const done = entries.filter((e) => !(e.action === "LOGIN" && e.success === false));
      expect([user, done[0]?.description]).toEqual([user, "User login successful"]);
      expect([user, done.at(-1)?.description]).toEqual([user, "User logged out"]);
    }

    const branches = new Set(day.map((e) => e.branch_id));
    expect([...branches].sort()).toEqual(["BR-MDY", "BR-NPT", "BR-YGN"]);
    const modules = new Set(day.map((e) => e.module));
    for (const module of ["sales", "purchase", "inventory", "accounting", "service", "crm", "hr", "auth", "reporting"])
      expect(modules).toContain(module);
  });

  it("shows the walkthrough on the console in the original's line format", () => {
    const security = readLines(join(dir, "logs", "security.jsonl"));
    expect(security.length).toBeGreaterThanOrEqual(8);
    expect(security.every((e) => e.level === "SECURITY" || e.level === "CRITICAL")).toBe(true);
    expect(stdout).toMatch(
      /\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}:\d{2} [AP]M \| AUDIT \| sales\/POST \| N\/A \| 200 \| Sales invoice posted \[SI-2026-0042\] sales_invoice:inv-42 1,250,000\.00 MMK \| admin@BR-YGN \| req:req-demo \| IP:192\.168\.1\.10/,
    );
    expect(stdout).toContain("| CRITICAL | auth/LOGIN | N/A | 401 | Rate limit exceeded - possible brute force | admin@BR-YGN |");
    expect(stdout).toContain("Imported 240 entries of the business day");
    expect(stdout).not.toContain("\x1b[");
  });

  it("is also installed as auditx-demo", async () => {
    const other = join(dir, "other");
    await run(process.execPath, [demoBin, "--log-dir", other, "--day", "10"]);
    expect(readLines(join(other, "audit.jsonl"))).toHaveLength(10 + 12);
    expect(existsSync(join(other, "security.jsonl"))).toBe(true);
  });

  it("rejects a bad option with a clear message and exit code", async () => {
    const failure = await run(process.execPath, [cli, "demo", "--port", "99999", "--log-dir", join(dir, "x")]).catch((error) => error);
    expect(failure.code).toBe(1);
    expect(failure.stderr).toContain("--port must be 0-65535");
  });
});
