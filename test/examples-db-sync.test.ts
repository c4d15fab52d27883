/** examples/db-sync: onAudit copies every entry into SQLite; a failing database never fails the audit call. */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ROOT, readAllJsonl, tempDir } from "./support/core-trail.js";
import { runExample } from "./support/integration-example.js";
import { auditEntries } from "./support/integration-trail.js";

let dir: string;
let cleanup: () => void;
beforeEach(() => {
  ({ dir, cleanup } = tempDir("auditx-example-db-"));
});
afterEach(() => cleanup());

describe("database sync example", () => {
  it("holds in SQLite exactly what the trail holds, answers the auditor's question, and survives a closed database", async () => {
    const run = runExample("examples/db-sync/main.mjs", dir);
    expect(await run.exited, run.stderr).toEqual({ code: 0, signal: null });

    const trail = auditEntries(dir);
    expect(trail.map((entry) => entry.description)).toEqual([
      "Sales invoice posted",
      "Customer credit limit updated",
      "Customer credit limit updated",
      "Password policy changed",
    ]);

    const db = new Database(join(dir, "audit.db"), { readonly: true });
    try {
      const rows = db.prepare("SELECT * FROM audit_logs ORDER BY id").all() as Array<Record<string, unknown>>;
      // Every entry written while the database was open, each exactly the trail's line: the logger's START first.
      const lines = readAllJsonl(join(dir, "audit.jsonl"));
      expect(rows.map((row) => JSON.parse(String(row.data_json)))).toEqual(lines.slice(0, 4));
      expect(rows[0]).toMatchObject({ user: "auditx", entity_id: "logger" });
      expect(rows.slice(1).map((row) => [row.user, row.branch_id, row.entity_id, row.amount])).toEqual([
        ["thida", "BR-YGN", "inv-42", 1_250_000],
        ["thida", "BR-YGN", "CUST-220", null],
        ["aung", "BR-MDY", "CUST-220", null],
      ]);
    } finally {
      db.close();
    }

    expect(run.stdout).toMatch(/thida at BR-YGN: credit limit 500000 -> 1000000/);
    expect(run.stdout).toMatch(/aung at BR-MDY: credit limit 1000000 -> 1500000/);
    expect(run.stdout).toContain("onAudit failures so far: 1");
    // The failure is reported where the original reports it, in app.log.
    expect(readFileSync(join(dir, "app.log"), "utf8")).toMatch(/ERROR \| onAudit failed: TypeError: The database connection is not open/);
  });

  it("runs as the README says on a fresh clone, where logs/ does not exist yet", async () => {
    // From a folder without logs/ and without AUDITX_LOG_DIR: the example creates ./logs for the trail and the database.
    const { AUDITX_LOG_DIR: _, ...env } = process.env;
    const child = spawn(process.execPath, [join(ROOT, "examples/db-sync/main.mjs")], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    const code = await new Promise((resolve) => child.once("exit", resolve));
    expect(code, output).toBe(0);
    expect(existsSync(join(dir, "logs", "audit.db"))).toBe(true);
    expect(auditEntries(join(dir, "logs"))).toHaveLength(4);
    expect(output).toMatch(/thida at BR-YGN: credit limit 500000 -> 1000000/);
  });
});
