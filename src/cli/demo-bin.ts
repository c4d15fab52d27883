#!/usr/bin/env node
import { runDemoCommand } from "./demo.js";
/** `auditx-demo`: the same as `auditx demo`. */
import { describeError } from "./describeError.js";

runDemoCommand(process.argv.slice(2)).then(
  (code) => {
    if (code) process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`auditx-demo: ${describeError(error)}\n`);
    process.exitCode = 1;
  },
);
