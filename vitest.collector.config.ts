import { defineConfig } from "vitest/config";

// The collector tier (npm run test:collector): tests against the real
// OpenTelemetry Collector built by `npm run collector:build` (needs Go and the
// Go module proxy). One file at a time: each runs Collector processes, and
// the machine has two cores.
export default defineConfig({
  test: {
    include: ["test/collector/**/*.test.ts"],
    testTimeout: 180_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    maxWorkers: 1,
  },
});
