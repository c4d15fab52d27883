/** `auditx pg init | prune | status`: the PostgreSQL store's schema, retention policy and state. */
import { parseArgs } from "node:util";
import { connectPostgres, describeTarget, postgresTarget } from "../store/connect.js";
import { pruneStore } from "../store/retention.js";
import { initStore, readStoreInfo, StoreNames } from "../store/schema.js";
import { formatBytes, listOption } from "./options.js";

const USAGE = `Usage: auditx pg <command> [--url URL] [--schema NAME] [options]

The PostgreSQL store of audit entries (the URL defaults to $AUDITX_POSTGRES_URL,
else $DATABASE_URL, else the PG* variables; run init and prune as the store's owner).

Commands:
  init    create the store, or complete it (idempotent): pg_trgm, the schema, the
          entries table partitioned by month with its indexes, append-only triggers
            --writer ROLE            may ship entries: INSERT only, never UPDATE or DELETE (repeat for several)
            --reader ROLE            may read the store (the viewer) (repeat for several)
            --retention-months N     the retention policy: months of entries kept (none: nothing is ever dropped)
  prune   apply the retention policy: drop each month older than it, each drop
          written to the trail and to the retention log first
            --dry-run                list what would be dropped
  status  the store's id, policy, months, totals and shippers
  help    this text
`;

export async function runPgCommand(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || command === "help" || command === "--help" || command === "-h") {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command !== "init" && command !== "prune" && command !== "status") {
    process.stderr.write(`auditx pg: unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        url: { type: "string" },
        schema: { type: "string" },
        writer: { type: "string", multiple: true },
        reader: { type: "string", multiple: true },
        "retention-months": { type: "string" },
        "dry-run": { type: "boolean" },
        json: { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    process.stderr.write(`auditx pg ${command}: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  let retentionMonths: number | undefined;
  const retentionText = values["retention-months"] as string | undefined;
  if (retentionText !== undefined) {
    if (!/^\d{1,4}$/.test(retentionText) || Number(retentionText) < 1) {
      process.stderr.write(`auditx pg init: --retention-months: expected a whole number of months >= 1, got "${retentionText}"\n`);
      return 2;
    }
    retentionMonths = Number(retentionText);
  }
  const names = new StoreNames((values.schema as string | undefined) ?? undefined);
  const target = postgresTarget(values.url as string | undefined);
  const client = await connectPostgres(target, { applicationName: `auditx-pg-${command}` });
  const out = process.stdout;
  try {
    if (command === "init") {
      const info = await initStore(client, {
        schema: names.schemaName,
        writers: listOption(values.writer),
        readers: listOption(values.reader),
        retentionMonths,
      });
      out.write(
        `auditx store ready in ${describeTarget(target)}, schema ${names.schemaName}: store id ${info.storeId}, schema version ${info.schemaVersion}, ` +
          `retention ${info.retentionMonths === null ? "none (nothing is ever dropped)" : `${info.retentionMonths} months`}\n`,
      );
      return 0;
    }
    if (command === "prune") {
      const dryRun = values["dry-run"] === true;
      const pruned = await pruneStore(client, { schema: names.schemaName, dryRun });
      if (pruned.length === 0) out.write("nothing to drop: every month is within the retention policy\n");
      for (const month of pruned) {
        out.write(
          `${dryRun ? "would drop" : "dropped"} ${month.partition} (${month.from.slice(0, 10)} .. ${month.to.slice(0, 10)}): ${month.entries} entries${month.entryId ? `; recorded as entry ${month.entryId}` : ""}\n`,
        );
      }
      return 0;
    }
    const info = await readStoreInfo(client, names);
    if (!info) {
      process.stderr.write(`auditx pg status: no auditx store in schema ${names.schemaName} of ${describeTarget(target)}\n`);
      return 1;
    }
    const totals = await client.query(
      `SELECT coalesce(sum(entries), 0)::bigint AS entries, coalesce(sum(entries) FILTER (WHERE security), 0)::bigint AS security,
              coalesce(sum(failures), 0)::bigint AS failures, max(latest) AS latest
         FROM ${names.counts} WHERE dim = ''`,
    );
    const months = await client.query(
      `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound, pg_total_relation_size(c.oid) AS bytes
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass ORDER BY c.relname`,
      [`${names.schema}.entries`],
    );
    const shippers = await client.query(`SELECT * FROM ${names.shippers} ORDER BY updated_at DESC`);
    const report = {
      target: describeTarget(target),
      schema: names.schemaName,
      ...info,
      totals: totals.rows[0],
      partitions: months.rows.map((row) => ({ name: row.name, bound: row.bound, bytes: Number(row.bytes) })),
      shippers: shippers.rows,
    };
    if (values.json) {
      out.write(`${JSON.stringify(report, null, 2)}\n`);
      return 0;
    }
    const t = report.totals;
    out.write(`store ${info.storeId} (schema ${names.schemaName}, version ${info.schemaVersion}) at ${report.target}\n`);
    out.write(`retention: ${info.retentionMonths === null ? "none (nothing is ever dropped)" : `${info.retentionMonths} months`}\n`);
    out.write(
      `entries: ${t.entries} (security ${t.security}, failures ${t.failures}), latest ${t.latest ? new Date(t.latest).toISOString() : "-"}\n`,
    );
    out.write("partitions:\n");
    for (const month of report.partitions)
      out.write(`  ${month.name.padEnd(24)} ${formatBytes(month.bytes).padStart(10)}  ${month.bound}\n`);
    out.write("shippers:\n");
    if (report.shippers.length === 0) out.write("  (none has reported yet)\n");
    for (const s of report.shippers) {
      out.write(
        `  ${s.host} ${s.log_dir}: shipped ${s.shipped}, skipped ${s.skipped}, lag ${s.lag_records} records / ${Number(s.lag_seconds).toFixed(1)} s, backlog ${formatBytes(Number(s.backlog_bytes))}, reported ${new Date(s.updated_at).toISOString()}\n`,
      );
    }
    return 0;
  } finally {
    await client.end().catch(() => undefined);
  }
}
