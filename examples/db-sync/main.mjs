/**
 * Copy every audit entry into a database with the onAudit callback, as the
 * original's sync_audit_to_db recipe does, here with SQLite (better-sqlite3):
 * the trail files stay the record of truth, the table serves SQL questions.
 *
 *   npm run build && node examples/db-sync/main.mjs
 *
 * AUDITX_LOG_DIR sets the trail folder (default ./logs); the database is
 * audit.db in it. In your service: npm install auditx better-sqlite3.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { AuditAction, audit, BusinessModule, configure, RequestContext } from "auditx";
import Database from "better-sqlite3";

const logDir = process.env.AUDITX_LOG_DIR ?? "logs";
// The database lives beside the trail: the folder may not exist yet (a fresh clone has no logs/).
mkdirSync(logDir, { recursive: true });

// One connection and one prepared statement for the life of the process (not one per entry).
const db = new Database(join(logDir, "audit.db"));
db.pragma("journal_mode = WAL");
db.exec(`
  CREATE TABLE IF NOT EXISTS audit_logs (
    id INTEGER PRIMARY KEY,
    timestamp TEXT NOT NULL, level TEXT NOT NULL, module TEXT, action TEXT, description TEXT,
    user TEXT, company_id TEXT, branch_id TEXT, entity_type TEXT, entity_id TEXT,
    reference_no TEXT, amount REAL, request_id TEXT, data_json TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS audit_logs_entity ON audit_logs (entity_type, entity_id, timestamp);
`);
const insert = db.prepare(`
  INSERT INTO audit_logs (timestamp, level, module, action, description, user, company_id, branch_id,
                          entity_type, entity_id, reference_no, amount, request_id, data_json)
  VALUES (@timestamp, @level, @module, @action, @description, @user, @company_id, @branch_id,
          @entity_type, @entity_id, @reference_no, @amount, @request_id, @data_json)
`);

/** Called after each entry's line is in the trail. A throw here is written to app.log; it never reaches the caller. */
function syncAuditToDb(entry) {
  const data = entry.toDict(); // exactly the JSONL object
  insert.run({
    timestamp: data.timestamp,
    level: data.level,
    module: data.module ?? null,
    action: data.action ?? null,
    description: data.description ?? null,
    user: data.user ?? null,
    company_id: data.company_id ?? null,
    branch_id: data.branch_id ?? null,
    entity_type: data.entity_type ?? null,
    entity_id: data.entity_id ?? null,
    reference_no: data.reference_no ?? null,
    amount: data.amount ?? null,
    request_id: data.request_id ?? null,
    data_json: JSON.stringify(data),
  });
}

configure({ logDir, onAudit: syncAuditToDb, console: false });

await RequestContext.run(
  { user: "thida", userRole: "credit_controller", companyId: "CO-001", branchId: "BR-YGN", requestId: "req-credit-1" },
  async () => {
    audit.logTransaction("Sales invoice posted", {
      module: BusinessModule.SALES,
      action: AuditAction.POST,
      referenceNo: "SI-2026-0042",
      amount: 1_250_000,
      entityType: "sales_invoice",
      entityId: "inv-42",
      party: "Golden Trading Co.",
    });
    audit.logChange("Customer credit limit updated", {
      module: BusinessModule.CRM,
      action: AuditAction.UPDATE,
      entityType: "customer",
      entityId: "CUST-220",
      oldValues: { credit_limit: 500_000 },
      newValues: { credit_limit: 1_000_000 },
    });
  },
);
RequestContext.run({ user: "aung", branchId: "BR-MDY", requestId: "req-credit-2" }, () =>
  audit.logChange("Customer credit limit updated", {
    module: BusinessModule.CRM,
    action: AuditAction.UPDATE,
    entityType: "customer",
    entityId: "CUST-220",
    oldValues: { credit_limit: 1_000_000 },
    newValues: { credit_limit: 1_500_000 },
  }),
);

// The auditor's question, in SQL: who changed this customer's credit limit, from which branch, when?
const history = db
  .prepare(
    `SELECT timestamp, user, branch_id, json_extract(data_json, '$.old_values.credit_limit') AS old_limit,
            json_extract(data_json, '$.new_values.credit_limit') AS new_limit
       FROM audit_logs WHERE entity_type = 'customer' AND entity_id = ? ORDER BY timestamp, id`,
  )
  .all("CUST-220");
for (const row of history) {
  console.log(`${row.timestamp}  ${row.user} at ${row.branch_id}: credit limit ${row.old_limit} -> ${row.new_limit}`);
}

// A database that fails does not fail the audit call: the entry is still in the trail, the error goes to app.log.
db.close();
const entry = audit.logSecurity("Password policy changed", { action: AuditAction.UPDATE, user: "admin" });
console.log(`written to the trail with the database closed: ${entry.description}`);
console.log(`onAudit failures so far: ${audit.stats().errors.onAudit}`);

await audit.shutdown();
