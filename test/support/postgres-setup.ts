/**
 * vitest globalSetup: makes the run folder through which test files share one
 * PostgreSQL server, and stops whatever the run started when it ends. Nothing
 * starts here: the first test file that needs PostgreSQL does that, so runs
 * without such a file pay nothing.
 */
import type { TestProject } from "vitest/node";
import { createRun, finishRun } from "./postgres-run.js";

export default function setup(project: TestProject): () => Promise<void> {
  const run = createRun();
  project.provide("auditxPostgresRun", run);
  return () => finishRun(run);
}
