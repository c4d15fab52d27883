/**
 * `auditx import` and `importEntry`: moving a hand-rolled audit table (the
 * original README's sync_audit_to_db recipe, in a real SQLite database) and
 * a trail of the Python auditX into an auditx trail, each record keeping its
 * own time and marked as imported; running an import again adds nothing.
 */
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AuditInputError, type AuditLogger, createLogger, RequestContext } from "../src/index.js";
import { DIST_INDEX, readJsonl, tempDir } from "./support/core-trail.js";

const run = promisify(execFile);
const CLI = join(DIST_INDEX, "..", "cli", "main.js");

let dir: string;
let cleanup: () => void;
let logger: AuditLogger | undefined;
beforeEach(() => {
  ({ dir, cleanup } = tempDir("auditx-import-"));
});
afterEach(async () => {
  await logger?.shutdown();
  logger = undefined;
  cleanup();
});

/** Runs `auditx import ...`; resolves with the exit code and output, whatever the code. */
async function auditxImport(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = run(process.execPath, [CLI, "import", ...args], { cwd: dir });
  if (input !== undefined) {
    child.child.stdin?.end(input);
  }
  try {
    const { stdout, stderr } = await child;
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

/** A CSV cell as `\copy ... csv` and sqlite3's `.mode csv` write it. */
function csvCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
function toCsv(rows: Record<string, unknown>[]): string {
  const header = Object.keys(rows[0] as object);
  return [header.join(","), ...rows.map((row) => header.map((name) => csvCell(row[name])).join(","))].join("\r\n") + "\r\n";
}

/** Python's json.dumps, for the data_json column the original's recipe writes. */
const pythonDumps = (value: unknown) => JSON.stringify(value).replaceAll('","', '", "').replaceAll('":', '": ');

/** The original README's audit_logs table, filled as its sync_audit_to_db callback fills it. */
function legacyAuditTable(): Record<string, unknown>[] {
  const db = new Database(join(dir, "my_application.db"));
  db.exec(`CREATE TABLE audit_logs (id INTEGER PRIMARY KEY AUTOINCREMENT, timestamp TEXT, level TEXT, module TEXT, action TEXT,
    description TEXT, user TEXT, company_id TEXT, branch_id TEXT, reference_no TEXT, data_json TEXT)`);
  const insert = db.prepare(`INSERT INTO audit_logs (timestamp, level, module, action, description, user, company_id, branch_id,
    reference_no, data_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const entries = [
    {
      timestamp: "2026-06-28T09:02:11+06:30",
      level: "AUDIT",
      module: "auth",
      action: "LOGIN",
      description: "User login successful",
      user: "admin",
      company_id: "CO-001",
      branch_id: "BR-YGN",
      currency: "MMK",
      request_id: "0b5e6a2c-3f1d-4e2a-9c8b-1a2b3c4d5e6f",
      ip: "192.168.1.10",
      hostname: "erp-01",
      status: 200,
      success: true,
    },
    {
      timestamp: "2026-06-28T10:15:42+06:30",
      level: "AUDIT",
      module: "sales",
      action: "POST",
      description: "Sales invoice posted",
      user: "admin",
      company_id: "CO-001",
      branch_id: "BR-YGN",
      entity_type: "sales_invoice",
      entity_id: "inv-42",
      reference_no: "SI-2026-0042",
      amount: 1250000.0,
      currency: "MMK",
      metadata: { party: "Golden Trading Co., Ltd." },
      request_id: "7c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f",
      ip: "192.168.1.10",
      hostname: "erp-01",
      status: 200,
      success: true,
    },
    {
      timestamp: "2026-06-28T16:40:03+06:30",
      level: "AUDIT",
      module: "crm",
      action: "UPDATE",
      description: "Customer credit limit updated",
      user: "may.phyu",
      company_id: "CO-001",
      branch_id: "BR-MDY",
      entity_type: "customer",
      entity_id: "CUST-220",
      currency: "MMK",
      old_values: { credit_limit: 500000 },
      new_values: { credit_limit: 1000000 },
      request_id: "9e8d7c6b-5a49-4382-8716-05f4e3d2c1b0",
      ip: "10.20.1.41",
      hostname: "erp-01",
      status: 200,
      success: true,
    },
  ];
  for (const data of entries) {
    insert.run(
      data.timestamp,
      data.level,
      data.module,
      data.action,
      data.description,
      data.user,
      data.company_id,
      data.branch_id,
      (data as { reference_no?: string }).reference_no ?? null,
      pythonDumps(data),
    );
  }
  const rows = db.prepare("SELECT * FROM audit_logs ORDER BY id").all() as Record<string, unknown>[];
  db.close();
  return rows;
}

describe("auditx import of the original's hand-rolled audit table", () => {
  it("keeps each record's time, fields and place, marks it imported, and skips it when run again", async () => {
    writeFileSync(join(dir, "audit_logs.csv"), toCsv(legacyAuditTable()));
    const first = await auditxImport(["audit_logs.csv", "--log-dir", "logs", "--source", "erp.audit_logs"]);
    expect(first, first.stderr).toMatchObject({ code: 0 });
    expect(first.stdout).toContain("audit_logs.csv: imported 3 entries");

    const trail = readJsonl(join(dir, "logs", "audit.jsonl"));
    expect(trail.map((entry) => entry.timestamp)).toEqual([
      "2026-06-28T09:02:11.000+06:30",
      "2026-06-28T10:15:42.000+06:30",
      "2026-06-28T16:40:03.000+06:30",
    ]);
    expect(trail[1]).toMatchObject({
      level: "AUDIT",
      module: "sales",
      action: "POST",
      description: "Sales invoice posted",
      user: "admin",
      entity_type: "sales_invoice",
      entity_id: "inv-42",
      reference_no: "SI-2026-0042",
      amount: 1_250_000,
      currency: "MMK",
      request_id: "7c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f",
      ip: "192.168.1.10",
      hostname: "erp-01",
      status: 200,
      success: true,
    });
    expect(trail[1]?.metadata).toMatchObject({
      party: "Golden Trading Co., Ltd.",
      imported: { source: "erp.audit_logs", row: 2, legacy_id: "2", imported_at: expect.any(String) },
    });
    expect(trail[2]).toMatchObject({ old_values: { credit_limit: 500000 }, new_values: { credit_limit: 1000000 } });
    // Time-ordered ids that carry the record's own time.
    const ids = trail.map((entry) => String(entry.id));
    expect(new Set(ids).size).toBe(3);
    expect([...ids].sort()).toEqual(ids);

    const again = await auditxImport(["audit_logs.csv", "--log-dir", "logs", "--source", "erp.audit_logs"]);
    expect(again.stdout).toContain("imported 0 entries, 3 already in the trail");
    expect(readJsonl(join(dir, "logs", "audit.jsonl"))).toHaveLength(3);
  });
});

describe("auditx import of a table with columns of its own", () => {
  const legacy = [
    { id: 101, created_at: "2026-06-27 08:31:05", username: "thida", event: "Cash drawer opened", level: "info", details: "", amount: "" },
    {
      id: 102,
      created_at: "2026-06-27 11:02:44.5",
      username: "aung.min",
      event: 'Quote "Q-77" sent, with a note:\nprices valid 7 days',
      level: "INFO",
      details: '{"customer": "Delta Builders"}',
      amount: "450000.50",
    },
    { id: 103, created_at: "2026-06-27 12:00:00", username: "su.su", event: "Stock counted", level: "notice", details: "", amount: "" },
    {
      id: 104,
      created_at: "2026-06-27 17:45:10",
      username: "thida",
      event: "Cash drawer closed",
      level: "warn",
      details: "",
      amount: "12.5",
    },
  ];
  const mapping = ["--map", "created_at=timestamp,username=user,event=description", "--map", "details=metadata"];

  it("reads the columns through --map, keeps the others in metadata, and stops at a record it cannot import", async () => {
    writeFileSync(join(dir, "legacy.csv"), toCsv(legacy));
    const stopped = await auditxImport(["legacy.csv", "--log-dir", "logs", ...mapping, "--assume-offset", "+06:30"]);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toContain('legacy.csv row 3: level: unknown level "notice"');
    expect(stopped.stderr).toContain("run the same command again");
    expect(readJsonl(join(dir, "logs", "audit.jsonl"))).toHaveLength(2);

    const skipping = await auditxImport(["legacy.csv", "--log-dir", "logs", ...mapping, "--assume-offset", "+06:30", "--skip-invalid"]);
    expect(skipping.code).toBe(0);
    expect(skipping.stdout).toContain("imported 1 entry, 2 already in the trail, 1 invalid skipped");
    const trail = readJsonl(join(dir, "logs", "audit.jsonl"));
    expect(trail.map((entry) => [entry.timestamp, entry.user, entry.level])).toEqual([
      ["2026-06-27T08:31:05.000+06:30", "thida", "INFO"],
      ["2026-06-27T11:02:44.500+06:30", "aung.min", "INFO"],
      ["2026-06-27T17:45:10.000+06:30", "thida", "WARNING"],
    ]);
    expect(trail[1]).toMatchObject({
      description: 'Quote "Q-77" sent, with a note:\nprices valid 7 days',
      amount: 450_000.5,
      currency: "MMK",
      metadata: { customer: "Delta Builders", imported: { source: "legacy.csv", row: 2, legacy_id: "102" } },
    });
    // Nothing from the importing process: no request id, host or status of its own.
    expect(trail[0]).not.toHaveProperty("request_id");
    expect(trail[0]).not.toHaveProperty("hostname");
    expect(trail[0]?.status).toBeNull();
  });

  it("--dry-run checks every record and writes nothing", async () => {
    writeFileSync(join(dir, "legacy.csv"), toCsv(legacy));
    const dry = await auditxImport(["legacy.csv", "--log-dir", "logs", ...mapping, "--dry-run", "--skip-invalid"]);
    expect(dry.stdout).toContain("would import 3 entries, 1 invalid skipped");
    expect(dry.stderr).toContain("row 3: level");
    expect(() => readFileSync(join(dir, "logs", "audit.jsonl"))).toThrow();
  });

  it("says what is wrong with a file it cannot read, and with its options", async () => {
    writeFileSync(join(dir, "broken.csv"), 'timestamp,description\n2026-06-27 08:00:00,"never closed\n');
    expect(await auditxImport(["broken.csv", "--log-dir", "logs"])).toMatchObject({
      code: 1,
      stderr: expect.stringContaining("quoted field"),
    });
    expect(await auditxImport(["missing.csv", "--log-dir", "logs"])).toMatchObject({ code: 1, stderr: expect.stringContaining("ENOENT") });
    expect(await auditxImport(["data.txt"])).toMatchObject({ code: 2, stderr: expect.stringContaining("--format") });
    expect(await auditxImport(["x.csv", "--assume-offset", "+25:00"])).toMatchObject({ code: 2 });
    expect(await auditxImport([])).toMatchObject({ code: 2, stderr: expect.stringContaining("name at least one file") });
    writeFileSync(join(dir, "future.jsonl"), `${JSON.stringify({ timestamp: "2999-01-01T00:00:00Z", description: "later" })}\n`);
    expect(await auditxImport(["future.jsonl", "--log-dir", "logs"])).toMatchObject({
      code: 1,
      stderr: expect.stringContaining("is in the future"),
    });
  });
});

describe("auditx import of JSON Lines", () => {
  const pythonTrail = [
    '{"timestamp": "2026-06-28T16:10:59+06:30", "level": "AUDIT", "module": "sales", "action": "POST", "description": "Sales invoice posted", "user": "admin", "amount": 1250000.0, "currency": "MMK", "metadata": {"party": "Golden Trading Co."}, "request_id": "4c5d6e7f-8091-4a2b-8c3d-4e5f60718293", "ip": "192.168.1.10", "hostname": "erp-01", "status": 200, "success": true}',
    '{"timestamp": "2026-06-28T16:11:03+06:30", "level": "CRITICAL", "module": "auth", "action": "LOGIN", "description": "Rate limit exceeded - possible brute force", "user": "admin", "currency": "MMK", "ip": "203.0.113.77", "hostname": "erp-01", "status": 200, "success": false}',
  ];

  it("a trail of the Python auditX, gzip-compressed, into a sealed trail that auditx verify accepts", async () => {
    writeFileSync(join(dir, "audit.jsonl.gz"), gzipSync(`${pythonTrail.join("\n")}\n`));
    const imported = await auditxImport(["audit.jsonl.gz", "--log-dir", "logs", "--integrity"]);
    expect(imported, imported.stderr).toMatchObject({ code: 0 });
    const trail = readJsonl(join(dir, "logs", "audit.jsonl"));
    expect(trail.map((entry) => [entry.timestamp, entry.level, entry.description])).toEqual([
      ["2026-06-28T16:10:59.000+06:30", "AUDIT", "Sales invoice posted"],
      ["2026-06-28T16:11:03.000+06:30", "CRITICAL", "Rate limit exceeded - possible brute force"],
    ]);
    // A CRITICAL record lands in security.jsonl, as a live one would.
    expect(readJsonl(join(dir, "logs", "security.jsonl")).map((entry) => entry.description)).toEqual([
      "Rate limit exceeded - possible brute force",
    ]);
    expect(trail.every((entry) => typeof entry.chain_id === "string")).toBe(true);
    const verified = await run(process.execPath, [CLI, "verify", "--log-dir", join(dir, "logs")]);
    expect(verified.stdout).toContain("OK");
  });

  it("from standard input", async () => {
    const piped = await auditxImport(["-", "--log-dir", "logs", "--source", "erp-01:/var/log/erp/audit.jsonl"], `${pythonTrail[0]}\n\n`);
    expect(piped, piped.stderr).toMatchObject({ code: 0 });
    const [entry] = readJsonl(join(dir, "logs", "audit.jsonl"));
    expect(entry?.metadata).toMatchObject({ party: "Golden Trading Co.", imported: { source: "erp-01:/var/log/erp/audit.jsonl", row: 1 } });
  });
});

describe("importEntry", () => {
  it("takes the record's fields (snake_case or camelCase) and time, never the importing process's context", () => {
    logger = createLogger({ logDir: dir, console: false });
    const entry = RequestContext.run({ user: "importer", requestId: "req-import", ip: "10.0.0.1" }, () =>
      logger?.importEntry(
        {
          timestamp: new Date("2026-06-27T03:00:00Z"),
          description: "Period closed",
          user: "may.phyu",
          referenceNo: "FY26-P06",
          legacy_flag: "Y",
        },
        { source: "finance.audit" },
      ),
    );
    expect(entry).toMatchObject({ user: "may.phyu", referenceNo: "FY26-P06", requestId: "", ip: "" });
    expect(Date.parse(String(entry?.timestamp))).toBe(Date.parse("2026-06-27T03:00:00Z"));
    expect(entry?.metadata).toMatchObject({ legacy_flag: "Y", imported: { source: "finance.audit" } });
    // The same record from the same source has the same id: a re-import can be recognised.
    const again = logger.importEntry(
      {
        timestamp: new Date("2026-06-27T03:00:00Z"),
        description: "Period closed",
        user: "may.phyu",
        referenceNo: "FY26-P06",
        legacy_flag: "Y",
      },
      { source: "finance.audit" },
    );
    expect(again.id).toBe(entry?.id);
  });

  it("refuses a record without a time or a description, or with a time in the future, writing nothing", () => {
    logger = createLogger({ logDir: dir, console: false });
    expect(() => logger?.importEntry({ description: "no time" })).toThrow(AuditInputError);
    expect(() => logger?.importEntry({ timestamp: "2026-06-27T03:00:00Z" })).toThrow(/description/);
    expect(() => logger?.importEntry({ timestamp: "yesterday", description: "x" })).toThrow(/timestamp/);
    expect(() => logger?.importEntry({ timestamp: Date.now() / 1000 + 3600, description: "x" })).toThrow(/future/);
    expect(() => logger?.importEntry({ timestamp: "2026-06-27T03:00:00Z", description: "x", amount: "1,250" })).toThrow(/amount/);
    expect(() => logger?.importEntry({ timestamp: "2026-06-27T03:00:00Z", description: "x", old_values: "[1]" })).toThrow(/old_values/);
    expect(() => readFileSync(join(dir, "audit.jsonl"))).toThrow();
  });
});
