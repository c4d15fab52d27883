/** `auditx hold on|off|status [--log-dir logs] [--reason TEXT]`: a legal hold stops all pruning of a log folder. */
import { parseArgs } from "node:util";
import { DEFAULT_LOG_DIR } from "../api/settings.js";
import { LEGAL_HOLD_FILE, readLegalHold, setLegalHold } from "../trail/legalHold.js";

const USAGE = `Usage: auditx hold on|off|status [--log-dir logs] [--reason TEXT]

A legal hold stops every deletion of trail segments in the folder (retention
and backupCount alike) until it is lifted. It is the marker file ${LEGAL_HOLD_FILE}
in the log folder; writers record in the trail when it is put on or lifted.
`;

export function runHoldCommand(args: string[]): number {
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({
      args,
      options: {
        "log-dir": { type: "string", default: DEFAULT_LOG_DIR },
        reason: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    process.stderr.write(`auditx hold: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const action = positionals[0];
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const logDir = values["log-dir"] as string;
  if (action === "on") {
    const hold = setLegalHold(logDir, true, values.reason as string | undefined);
    process.stdout.write(
      `legal hold on ${logDir} since ${hold?.since}${hold?.reason ? ` (${hold.reason})` : ""}: nothing will be pruned\n`,
    );
    return 0;
  }
  if (action === "off") {
    const previous = setLegalHold(logDir, false);
    process.stdout.write(
      previous ? `legal hold on ${logDir} lifted (it was on since ${previous.since})\n` : `no legal hold on ${logDir}\n`,
    );
    return 0;
  }
  if (action === "status" || action === undefined) {
    const hold = readLegalHold(logDir);
    process.stdout.write(
      hold
        ? `legal hold on ${logDir} since ${hold.since}${hold.reason ? ` (${hold.reason})` : ""}${hold.by ? `, by ${hold.by}` : ""}\n`
        : `no legal hold on ${logDir}\n`,
    );
    return 0;
  }
  process.stderr.write(`auditx hold: unknown action "${action}"\n\n${USAGE}`);
  return 2;
}
