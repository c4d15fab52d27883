// Writes a realistic ERP audit trail for the viewer benchmark: audit.jsonl with
// rotated backups and security.jsonl, lines built in large buffers.
import { closeSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";

export const MODULES = ["sales", "purchase", "inventory", "accounting", "service", "crm", "hr", "reporting", "system", "auth"];
export const ACTIONS = [
  "CREATE",
  "READ",
  "UPDATE",
  "DELETE",
  "APPROVE",
  "REJECT",
  "VOID",
  "POST",
  "PAYMENT",
  "REFUND",
  "TRANSFER",
  "ADJUST",
  "LOGIN",
  "LOGOUT",
  "EXPORT",
  "IMPORT",
];
export const BRANCHES = [
  "BR-YGN",
  "BR-MDY",
  "BR-NPT",
  "BR-BGO",
  "BR-MLM",
  "BR-TGI",
  "BR-PTN",
  "BR-LSO",
  "BR-MGW",
  "BR-SGG",
  "BR-HPA",
  "BR-KTN",
];
const COMPANIES = ["CO-001", "CO-002", "CO-003"];
export const PARTIES = [
  "Golden Trading Co.",
  "Shwe Pyi Distribution",
  "Ayeyar Logistics",
  "Mandalay Hardware Ltd",
  "Irrawaddy Foods",
  "Royal Ruby Traders",
  "Sunrise Pharma",
  "Delta Agro Supply",
];
export const ROLES = ["manager", "cashier", "accountant", "storekeeper", "admin", "auditor"];
const ENTITIES = {
  sales: "sales_invoice",
  purchase: "purchase_order",
  inventory: "stock_item",
  accounting: "journal_entry",
  service: "service_ticket",
  crm: "customer",
  hr: "employee",
  reporting: "report",
  system: "setting",
  auth: "session",
};

/** A small deterministic PRNG (mulberry32), so every run writes the same trail. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pad = (n, width) => String(n).padStart(width, "0");

function timestamp(millis) {
  // Local time of Yangon (+06:30), as the logger writes it on such a server.
  const d = new Date(millis + 390 * 60_000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}T${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.${pad(d.getUTCMilliseconds(), 3)}+06:30`;
}

export const TRAIL_START = Date.UTC(2026, 3, 1);
export const TRAIL_SPAN_MS = 90 * 24 * 3600 * 1000;

/** One entry of the trail, number i of n. */
function entry(i, n, next) {
  const module = MODULES[Math.floor(next() * MODULES.length)];
  const action = ACTIONS[Math.floor(next() * ACTIONS.length)];
  const r = next();
  const level = r < 0.02 ? "SECURITY" : r < 0.025 ? "CRITICAL" : r < 0.06 ? "ERROR" : r < 0.12 ? "WARNING" : r < 0.5 ? "INFO" : "AUDIT";
  const success = level !== "ERROR" && level !== "CRITICAL" && next() > 0.03;
  const party = PARTIES[Math.floor(next() * PARTIES.length)];
  const amount = Math.round(next() * 5_000_000);
  const ref = `${module.slice(0, 2).toUpperCase()}-2026-${pad(i, 7)}`;
  const e = {
    timestamp: timestamp(TRAIL_START + Math.floor((i / n) * TRAIL_SPAN_MS)),
    level,
    module,
    action,
    description: `${action.toLowerCase()} ${ref} ${party}`,
    user: `user${pad(Math.floor(next() * 200), 3)}`,
    user_role: ROLES[Math.floor(next() * ROLES.length)],
    company_id: COMPANIES[Math.floor(next() * COMPANIES.length)],
    branch_id: BRANCHES[Math.floor(next() * BRANCHES.length)],
    entity_type: ENTITIES[module],
    entity_id: `${module.slice(0, 3)}-${pad(Math.floor(next() * 100000), 6)}`,
    reference_no: ref,
    amount,
    currency: "MMK",
  };
  if (action === "UPDATE") {
    e.old_values = { status: "draft", total: amount - 1000, party };
    e.new_values = { status: "posted", total: amount, party };
  }
  if (next() < 0.3) e.metadata = { channel: next() < 0.5 ? "pos" : "web", items: 1 + Math.floor(next() * 20) };
  e.request_id = `${pad(i.toString(16), 8)}-4b1d-4c2a-9e3f-${pad(Math.floor(next() * 1e12).toString(16), 12)}`;
  e.session_id = `sess-${pad(Math.floor(next() * 5000), 5)}`;
  e.ip = `10.${Math.floor(next() * 255)}.${Math.floor(next() * 255)}.${Math.floor(next() * 255)}`;
  e.hostname = `erp-app-0${1 + Math.floor(next() * 4)}`;
  e.method = action === "READ" || action === "EXPORT" ? "GET" : "POST";
  e.endpoint = `/api/${module}`;
  e.status = success ? 200 : level === "ERROR" ? 500 : 403;
  e.success = success;
  e.service = "erp-api";
  e.id = uuidv7(TRAIL_START + Math.floor((i / n) * TRAIL_SPAN_MS), i, next);
  return e;
}

const hex = (value, width) => Math.floor(value).toString(16).padStart(width, "0");

/** A UUIDv7 as the logger writes it: 48 bits of milliseconds, a 12-bit counter, random bits (deterministic here). */
function uuidv7(millis, counter, next) {
  const time = hex(millis, 12);
  const rand = hex(next() * 2 ** 30, 8) + hex(next() * 2 ** 32, 8);
  return `${time.slice(0, 8)}-${time.slice(8)}-7${hex(counter & 0xfff, 3)}-${hex(0x8000 | (next() * 0x3fff), 4)}-${rand.slice(4, 16)}`;
}

/** The name of rotated segment f (f = 1 the newest) under the trail's naming: audit.<UTC stamp>.<6 hex>.jsonl. */
function segmentName(f, files) {
  const stamp = new Date(TRAIL_START + ((files - f) / files) * TRAIL_SPAN_MS).toISOString().replace(/[-:]/g, "");
  return `audit.${stamp.slice(0, 15)}.${stamp.slice(16, 19)}Z.${(0xa0b0c0 + f).toString(16)}.jsonl`;
}

/**
 * Writes n entries to dir: `files - 1` rotated segments (oldest first) and
 * audit.jsonl, and the SECURITY/CRITICAL ones to security.jsonl as well.
 * Rotated segments are named as the logger rotates them
 * (audit.<stamp>.<hex>.jsonl), or audit.jsonl.N as the original did with
 * `numbered`. Returns the byte counts and the rotated segments' names.
 */
export function writeBenchTrail(dir, n, { files = 4, numbered = false } = {}) {
  const next = random(42);
  const perFile = Math.ceil(n / files);
  const security = openSync(join(dir, "security.jsonl"), "w");
  let auditBytes = 0;
  let securityBytes = 0;
  let written = 0;
  const rotated = [];
  for (let f = files - 1; f >= 0; f--) {
    const name = f === 0 ? "audit.jsonl" : numbered ? `audit.jsonl.${f}` : segmentName(f, files);
    if (f > 0) rotated.push(name);
    const fd = openSync(join(dir, name), "w");
    let chunk = "";
    let securityChunk = "";
    const end = Math.min(n, written + perFile);
    for (; written < end; written++) {
      const e = entry(written, n, next);
      const line = `${JSON.stringify(e)}\n`;
      chunk += line;
      if (e.level === "SECURITY" || e.level === "CRITICAL") securityChunk += line;
      if (chunk.length > 8_000_000) {
        auditBytes += writeSync(fd, chunk);
        chunk = "";
      }
      if (securityChunk.length > 1_000_000) {
        securityBytes += writeSync(security, securityChunk);
        securityChunk = "";
      }
    }
    auditBytes += writeSync(fd, chunk);
    securityBytes += writeSync(security, securityChunk);
    closeSync(fd);
  }
  closeSync(security);
  return { auditBytes, securityBytes, rotated };
}
