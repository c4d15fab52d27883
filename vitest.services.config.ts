import { defineConfig } from "vitest/config";

/** `npm run test:services`: tests that need an OS service no npm package provides (Redis). */
export default defineConfig({
  test: {
    include: ["test/services/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
  },
});
