#!/usr/bin/env node
/** `auditx <command>`: demo, ui, verify, import, keygen, hold, help. */
import { describeError } from "./describeError.js";

const USAGE = `Usage: auditx <command> [options]

Commands:
  demo [--log-dir logs] [--serve] [--port 8080]   write a realistic ERP audit trail (and serve the viewer)
  ui   [--log-dir logs] [--host 127.0.0.1] [--port 8080] [--api-key KEY] [--no-realtime]
       [--audit-log-file audit.jsonl] [--security-log-file security.jsonl]
                                                  serve the read-only viewer over a log folder
  verify [--log-dir logs] [--file audit.jsonl] [--key KEY] [--public-key FILE] [--checkpoints FILE] [--json]
                                                  check a trail written with integrity on for tampering
  import FILE... [--log-dir logs] [--map col=field,...] [--dry-run] ...
                                                  move a legacy audit table (CSV / JSON Lines) into the trail,
                                                  keeping each record's time (auditx import --help)
  keygen [--out DIR] [--name NAME]                write an Ed25519 key pair for signed checkpoints
  hold on|off|status [--log-dir logs] [--reason TEXT]
                                                  a legal hold: no segment of the folder is pruned
  ship --log-dir DIR [--log-dir DIR ...] [--postgres URL]
                                                  ship log folders into the PostgreSQL store (auditx ship --help)
  pg init|prune|status [--url URL]                the PostgreSQL store: schema, retention, state (auditx pg help)
  help                                            this text
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "demo": {
      const { runDemoCommand } = await import("./demo.js");
      return runDemoCommand(rest);
    }
    case "ui": {
      const { runUiCommand } = await import("../viewer/cli.js");
      return runUiCommand(rest);
    }
    case "import": {
      const { runImportCommand } = await import("./import.js");
      return runImportCommand(rest);
    }
    case "verify": {
      const { runVerifyCommand } = await import("./verify.js");
      return runVerifyCommand(rest);
    }
    case "keygen": {
      const { runKeygenCommand } = await import("./keygen.js");
      return runKeygenCommand(rest);
    }
    case "hold": {
      const { runHoldCommand } = await import("./hold.js");
      return runHoldCommand(rest);
    }
    case "ship": {
      const { runShipCommand } = await import("./ship.js");
      return runShipCommand(rest);
    }
    case "pg": {
      const { runPgCommand } = await import("./pg.js");
      return runPgCommand(rest);
    }
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`auditx: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined && code !== 0) process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`auditx: ${describeError(error)}\n`);
    process.exitCode = 1;
  },
);
