#!/usr/bin/env node
/** `auditx-ui`: the same as `auditx ui`. */
import { describeError } from "./describeError.js";

// Loaded on demand, so that a missing optional peer (express) gets a clear message.
import("../viewer/cli.js")
  .then(({ runUiCommand }) => runUiCommand(process.argv.slice(2)))
  .then(
    (code) => {
      if (code) process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`auditx-ui: ${describeError(error)}\n`);
      process.exitCode = 1;
    },
  );
