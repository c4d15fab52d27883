// One benchmark run in a fresh process: node throughput-worker.mjs <variant> <records> <dir>
import { generateKeyPairSync } from "node:crypto";
import { closeSync, openSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [variant, recordsText, dir] = process.argv.slice(2);
const records = Number(recordsText);

// A realistic sales-invoice record (~600 bytes as a trail line), with one
// secret in it (the approver's PIN) for the redaction variants to find.
const options = {
  module: "sales",
  action: "POST",
  referenceNo: "SI-2026-0042",
  amount: 1_250_000,
  entityType: "sales_invoice",
  entityId: "inv-42",
  party: "Golden Trading Co.",
  user: "admin",
  userRole: "manager",
  companyId: "CO-001",
  branchId: "BR-YGN",
  ip: "192.168.1.10",
  requestId: "8f14e45f-ceea-467a-9e0b-7a3c2b6d1e90",
  sessionId: "sess-5a1c9e7d",
  method: "POST",
  endpoint: "/api/sales/invoices/inv-42/post",
  status: 200,
  metadata: { warehouse: "WH-MAIN", lines: 12, payment_terms: "NET30", tax_code: "CT-5", salesperson: "Ko Aung", approval_pin: "4821" },
};
const description = "Sales invoice posted";

function asDict() {
  return {
    timestamp: new Date().toISOString(),
    level: "AUDIT",
    module: options.module,
    action: options.action,
    description,
    user: options.user,
    user_role: options.userRole,
    company_id: options.companyId,
    branch_id: options.branchId,
    entity_type: options.entityType,
    entity_id: options.entityId,
    reference_no: options.referenceNo,
    amount: options.amount,
    currency: "MMK",
    metadata: { ...options.metadata, party: options.party },
    request_id: options.requestId,
    session_id: options.sessionId,
    ip: options.ip,
    hostname: "erp-app-01",
    method: options.method,
    endpoint: options.endpoint,
    status: options.status,
    success: true,
  };
}

const PINO_REDACT_PATHS = [
  "metadata.approval_pin",
  ...["password", "token", "secret", "api_key", "authorization", "cookie", "cvv", "pin", "otp", "card_number"].flatMap((name) => [
    `metadata.${name}`,
    `old_values.${name}`,
    `new_values.${name}`,
  ]),
];

async function setup() {
  const path = join(dir, "audit.jsonl");
  if (variant === "raw") {
    const fd = openSync(path, "a");
    return { path, call: () => writeSync(fd, `${JSON.stringify(asDict())}\n`), end: async () => closeSync(fd) };
  }
  if (variant === "pino" || variant === "pino-redact") {
    const { default: pino } = await import("pino");
    const dest = pino.destination({ dest: path, sync: true });
    // What a pino user writes for the protection auditx's default list gives this record's maps.
    const redact = variant === "pino-redact" ? { paths: PINO_REDACT_PATHS } : undefined;
    const logger = pino({ base: undefined, timestamp: false, redact }, dest);
    return { path, call: () => logger.info(asDict()), end: async () => dest.flushSync() };
  }
  // auditx-previous[-integrity]: the same variant of the build in AUDITX_PREVIOUS_DIST (the previous design).
  const previousBuild = variant.startsWith("auditx-previous");
  const kind = previousBuild ? variant.replace("auditx-previous", "auditx") : variant;
  const dist = previousBuild ? pathToFileURL(join(process.env.AUDITX_PREVIOUS_DIST, "index.js")).href : "../../dist/index.js";
  const { createLogger } = await import(dist);
  const extra = kind === "auditx-otel" ? { processors: [{ onEmit() {}, forceFlush: async () => {}, shutdown: async () => {} }] } : {};
  // Signed checkpoints at their defaults (every 60 s and 10,000 records, at shutdown), with a fresh key.
  const checkpoints = kind === "auditx-checkpoints" ? { signingKey: generateKeyPairSync("ed25519").privateKey } : undefined;
  const logger = createLogger({
    logDir: dir,
    console: false,
    maxFileBytes: 0,
    buffered: kind === "auditx-buffered",
    integrity: checkpoints ?? kind === "auditx-integrity",
    // "auditx" runs with the default redaction rules, as shipped.
    ...(kind === "auditx-noredact" ? { redact: false } : {}),
    ...extra,
  });
  return { path, call: () => logger.logTransaction(description, options), end: () => logger.shutdown() };
}

const { path, call, end } = await setup();
for (let i = 0; i < 2000; i++) call(); // warm-up
globalThis.gc?.();
let peakRss = 0;
let heapAtHalf = 0;
let heapAtEnd = 0;
// The live heap (after a full GC) half-way and at the end: growth between them is memory held per
// record. RSS alone cannot tell that from the heap settling at its working size. The GCs are not timed.
let pausedNs = 0n;
let pausedCpu = 0;
const liveHeap = () => {
  const t = process.hrtime.bigint();
  const c = process.cpuUsage();
  globalThis.gc?.();
  const heap = process.memoryUsage().heapUsed;
  const u = process.cpuUsage(c);
  pausedCpu += u.user + u.system;
  pausedNs += process.hrtime.bigint() - t;
  return heap;
};
const start = process.hrtime.bigint();
const cpuStart = process.cpuUsage();
for (let i = 0; i < records; i++) {
  call();
  if ((i & 16383) === 0) peakRss = Math.max(peakRss, process.memoryUsage.rss());
  if (i === records >> 1) heapAtHalf = liveHeap();
}
heapAtEnd = liveHeap();
await end();
const seconds = Number(process.hrtime.bigint() - start - pausedNs) / 1e9;
const cpu = process.cpuUsage(cpuStart);
const rssEnd = process.memoryUsage.rss();
peakRss = Math.max(peakRss, rssEnd);
const bytes = statSync(path).size;
process.stdout.write(
  JSON.stringify({
    perSecond: records / seconds,
    // CPU time (user + system) per record: what a record costs, even when other work shares the machine.
    cpuUsPerRecord: (cpu.user + cpu.system - pausedCpu) / records,
    peakRssMb: peakRss / 2 ** 20,
    heapGrowthMb: (heapAtEnd - heapAtHalf) / 2 ** 20,
    bytesPerRecord: Math.round(bytes / (records + 2000)),
  }),
);
