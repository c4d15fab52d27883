/**
 * `auditx verify [--log-dir logs] [--file audit.jsonl] [--key KEY] [--public-key FILE]
 * [--checkpoints FILE ...] [--json]`: checks a trail for tampering. Exit 0 only
 * when nothing is wrong, 1 when something is, 2 for a usage error.
 */
import { parseArgs } from "node:util";
import { DEFAULT_LOG_DIR } from "../api/settings.js";
import { type VerifyReport, verifyTrail } from "../integrity/verifyTrail.js";

const USAGE = `Usage: auditx verify [options]

Checks a trail written with integrity on: every line's hash, each writer's chain
(nothing deleted, reordered or inserted), and with --public-key the signed
checkpoints (a cut-off tail, lines re-sealed after the fact, forward-secure epochs).

Options:
  --log-dir DIR        the log folder (default: logs)
  --file NAME          the trail to check (default: audit.jsonl; security.jsonl is checked line by line)
  --key KEY            the HMAC key of a keyed trail (also AUDITX_INTEGRITY_KEY)
  --public-key FILE    the checkpoints' public key (auditx keygen; epoch 0's with forward security)
  --checkpoints FILE   a copy of the digest file kept elsewhere (your SIEM's); may be repeated
  --json               the full report as JSON
  -h, --help           this text

Exit status: 0 nothing wrong, 1 problems found, 2 usage error or no trail.
`;

export async function runVerifyCommand(args: string[]): Promise<number> {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        "log-dir": { type: "string", default: DEFAULT_LOG_DIR },
        file: { type: "string", default: "audit.jsonl" },
        key: { type: "string", default: process.env.AUDITX_INTEGRITY_KEY },
        "public-key": { type: "string" },
        checkpoints: { type: "string", multiple: true },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`auditx verify: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.checkpoints && !values["public-key"]) {
    process.stderr.write("auditx verify: --checkpoints needs --public-key (a copy is only worth its signatures)\n");
    return 2;
  }
  const report = await verifyTrail({
    logDir: values["log-dir"] as string,
    file: values.file as string,
    key: values.key as string | undefined,
    publicKey: values["public-key"] as string | undefined,
    checkpoints: values.checkpoints as string[] | undefined,
  });
  if (report.files.length === 0) {
    process.stderr.write(`auditx verify: no ${values.file} in ${values["log-dir"]}\n`);
    return 2;
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return report.ok ? 0 : 1;
  }
  process.stdout.write(summary(report));
  return report.ok ? 0 : 1;
}

const MAX_LISTED = 100;

/** The human report: what was read, each chain, every problem with file and line, the notes, the verdict. */
function summary(report: VerifyReport): string {
  const out: string[] = [];
  const compressed = report.files.filter((file) => file.endsWith(".gz")).length;
  out.push(
    `${report.files.length} file(s)${compressed ? ` (${compressed} compressed)` : ""}, ${report.lines.toLocaleString("en-US")} lines: ` +
      `${report.sealed.toLocaleString("en-US")} sealed, ${report.unsealed.toLocaleString("en-US")} without integrity fields` +
      `${report.torn ? `, ${report.torn} torn write(s)` : ""}`,
  );
  out.push(`verified in ${(report.elapsedMs / 1000).toFixed(2)} s (${report.linesPerSecond.toLocaleString("en-US")} lines/s)`);
  if (report.checkpoints) {
    const c = report.checkpoints;
    out.push(
      `checkpoints: ${c.valid} of ${c.total} valid, ${c.writers} writer(s)${c.epochs ? `, ${c.epochs} forward-secure epoch handover(s)` : ""}`,
    );
  }
  for (const chain of report.chains) {
    out.push(
      `  chain ${chain.chainId}: seq ${chain.firstSeq}..${chain.lastSeq} (${chain.lines} lines${chain.firstTimestamp ? `, ${chain.firstTimestamp} .. ${chain.lastTimestamp}` : ""})`,
    );
  }
  for (const problem of report.problems.slice(0, MAX_LISTED)) {
    const at = problem.line > 0 ? `${problem.file}:${problem.line}` : problem.file;
    out.push(`  ${problem.kind.toUpperCase()} ${at}${problem.chainId ? ` [${problem.chainId}]` : ""}: ${problem.detail}`);
  }
  if (report.problems.length > MAX_LISTED) out.push(`  … and ${report.problems.length - MAX_LISTED} more (--json lists all)`);
  for (const note of report.notes.slice(0, MAX_LISTED)) {
    const at = note.file ? ` ${note.line ? `${note.file}:${note.line}` : note.file}` : "";
    out.push(`  note (${note.kind})${at}: ${note.detail}`);
  }
  if (report.notes.length > MAX_LISTED) out.push(`  … and ${report.notes.length - MAX_LISTED} more notes`);
  if (report.ok) {
    out.push(
      report.checkpoints
        ? "OK: no sign of tampering; every writer's head is vouched for by a signed checkpoint"
        : "OK: no sign of tampering",
    );
    if (!report.checkpoints) out.push("  (without --public-key the end of each chain is not checked: a cut-off tail would not show)");
  } else out.push(`FAILED: ${report.problems.length} problem(s)`);
  return `${out.join("\n")}\n`;
}
