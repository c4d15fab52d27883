import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineConfig } from "vitest/config";

// Viewers started by tests keep their persisted index under this temporary cache home, removed after the run.
process.env.XDG_CACHE_HOME ??= mkdtempSync(join(tmpdir(), "auditx-test-cache-"));

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Tiers that need an OS service or a built Collector run on their own (npm run test:services, test:collector).
    exclude: ["test/services/**", "test/collector/**", "**/node_modules/**"],
    // One PostgreSQL server per run for the tests that need one (started by the first such file);
    // the temporary cache home of the viewers' indexes removed after the run.
    globalSetup: ["test/support/postgres-setup.ts", "test/support/global-cache.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: more workers only make the process-heavy tests slower.
    maxWorkers: 2,
    // Loggers print each entry on stdout by default (as the original); the tests read their trails and
    // their own console streams instead. The default itself is tested in child processes without this.
    env: { AUDITX_CONSOLE: "off" },
  },
});
