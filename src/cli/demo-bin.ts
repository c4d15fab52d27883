#!/usr/bin/env node
/** `auditx-demo`: the same as `auditx demo`. */
import { runDemoCommand } from "./demo.js";

runDemoCommand(process.argv.slice(2)).then(
  (code) => {
    if (code) process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`auditx-demo: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
