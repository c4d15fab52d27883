#!/usr/bin/env node
/** `auditx-ui`: the same as `auditx ui`. */
import { runUiCommand } from "../viewer/cli.js";

runUiCommand(process.argv.slice(2)).then(
  (code) => {
    if (code) process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`auditx-ui: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
