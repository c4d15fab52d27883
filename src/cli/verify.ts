/** `auditx verify [--log-dir logs] [--file audit.jsonl] [--key KEY] [--json]`: checks a trail's hash chains. */

import { parseArgs } from "node:util";
import { DEFAULT_LOG_DIR } from "../api/settings.js";
import { verifyTrail } from "../integrity/verifyTrail.js";

export async function runVerifyCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      "log-dir": { type: "string", default: DEFAULT_LOG_DIR },
      file: { type: "string", default: "audit.jsonl" },
      key: { type: "string", default: process.env.AUDITX_INTEGRITY_KEY },
      json: { type: "boolean", default: false },
    },
    strict: true,
  });
  const report = await verifyTrail({
    logDir: values["log-dir"] as string,
    file: values.file as string,
    key: values.key as string | undefined,
  });
  if (report.files.length === 0) {
    process.stderr.write(`auditx verify: no ${values.file} in ${values["log-dir"]}\n`);
    return 2;
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return report.ok ? 0 : 1;
  }
  const out = process.stdout;
  out.write(
    `${report.files.length} file(s), ${report.lines} lines: ${report.sealed} sealed, ${report.unsealed} without integrity fields\n`,
  );
  for (const chain of report.chains)
    out.write(`  chain ${chain.chainId}: seq ${chain.firstSeq}..${chain.lastSeq} (${chain.lines} lines)\n`);
  for (const problem of report.problems.slice(0, 100)) {
    out.write(
      `  ${problem.kind.toUpperCase()} ${problem.file}:${problem.line}${problem.chainId ? ` [${problem.chainId}]` : ""}: ${problem.detail}\n`,
    );
  }
  if (report.problems.length > 100) out.write(`  … and ${report.problems.length - 100} more\n`);
  out.write(report.ok ? "OK: no sign of tampering\n" : `FAILED: ${report.problems.length} problem(s)\n`);
  return report.ok ? 0 : 1;
}
