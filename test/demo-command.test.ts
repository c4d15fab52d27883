import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const cli = join(import.meta.dirname, "..", "dist", "cli", "main.js");
const demoBin = join(import.meta.dirname, "..", "dist", "cli", "demo-bin.js");

const readLines = (path: string) =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));

describe("auditx demo", () => {
  let dir: string;
  let stdout: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "auditx-demo-"));
    ({ stdout } = await run(process.execPath, [cli, "demo", "--log-dir", join(dir, "logs")], { env: { ...process.env, NO_COLOR: "1" } }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("writes the original's scenario, ending in a CRITICAL brute-force entry", () => {
    const audit = readLines(join(dir, "logs", "audit.jsonl"));
    const scenario = audit.slice(0, 12);
    expect(scenario.map((e) => e.description).slice(0, 5)).toEqual([
      "User login successful",
      "Sales invoice posted",
      "Stock issued for sales order",
      "Service job completed",
      "Customer credit limit updated",
    ]);
    const failed = scenario.slice(5);
    expect(failed).toHaveLength(7);
    expect(failed.every((e) => e.action === "LOGIN" && e.success === false && e.ip === "203.0.113.77")).toBe(true);
    expect(failed.at(-1)).toMatchObject({ level: "CRITICAL", metadata: { brute_force: true, failed_attempts: 7 } });
    expect(scenario[4]).toMatchObject({ old_values: { credit_limit: 500000 }, new_values: { credit_limit: 1000000 } });
  });

  it("follows with a multi-branch business day, in the trail and on the console", () => {
    const audit = readLines(join(dir, "logs", "audit.jsonl"));
    expect(audit).toHaveLength(12 + 240);
    const branches = new Set(audit.map((e) => e.branch_id));
    expect([...branches].sort()).toEqual(["BR-MDY", "BR-NPT", "BR-YGN"]);
    const modules = new Set(audit.map((e) => e.module));
    for (const module of ["sales", "purchase", "inventory", "accounting", "service", "crm", "hr", "auth"])
      expect(modules).toContain(module);
    const security = readLines(join(dir, "logs", "security.jsonl"));
    expect(security.length).toBeGreaterThanOrEqual(8);
    expect(security.every((e) => e.level === "SECURITY" || e.level === "CRITICAL")).toBe(true);
    expect(stdout).toContain("[AUDIT   ]");
    expect(stdout).toContain("Sales invoice posted | SI-2026-0042 sales_invoice:inv-42 | 1,250,000 MMK");
    expect(stdout).toContain("[CRITICAL]");
    expect(stdout).not.toContain("\x1b[");
  });

  it("is also installed as auditx-demo", async () => {
    const other = join(dir, "other");
    await run(process.execPath, [demoBin, "--log-dir", other, "--day", "10"]);
    expect(readLines(join(other, "audit.jsonl"))).toHaveLength(22);
    expect(existsSync(join(other, "security.jsonl"))).toBe(true);
  });

  it("rejects a bad option with a clear message and exit code", async () => {
    const failure = await run(process.execPath, [cli, "demo", "--port", "99999", "--log-dir", join(dir, "x")]).catch((error) => error);
    expect(failure.code).toBe(1);
    expect(failure.stderr).toContain("--port must be 0-65535");
  });
});
