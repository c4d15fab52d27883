/**
 * `prisma generate` for the tests' schemas, once per schema and run (a lock
 * folder keeps two test files from generating into one folder at once).
 * Generation needs no network: the client is TypeScript/WASM (query compiler
 * plus a driver adapter). The CLI still looks for the schema engine (used by
 * migrations only, which the tests do not run): PRISMA_SCHEMA_ENGINE_BINARY
 * names a path so that it does not try to download one.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { promisify } from "node:util";
import { ROOT } from "./core-trail.js";

const run = promisify(execFile);

export async function generatedPrismaClient(
  provider: "postgresql" | "sqlite",
): Promise<{ PrismaClient: new (options: unknown) => unknown }> {
  const schema = join(ROOT, "test", "prisma", `${provider}.prisma`);
  const output = join(ROOT, "test", "prisma", `generated-${provider}`);
  const lock = `${output}.lock`;
  const fresh = () => existsSync(join(output, "index.js")) && statSync(join(output, "index.js")).mtimeMs > statSync(schema).mtimeMs;
  for (;;) {
    if (fresh()) break;
    try {
      mkdirSync(lock);
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200));
      continue;
    }
    try {
      if (!fresh()) {
        await run(process.execPath, [join(ROOT, "node_modules", "prisma", "build", "index.js"), "generate", `--schema=${schema}`], {
          cwd: ROOT,
          env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.execPath, PRISMA_HIDE_UPDATE_MESSAGE: "1", CHECKPOINT_DISABLE: "1" },
          timeout: 120_000,
        });
      }
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
  return createRequire(import.meta.url)(join(output, "index.js"));
}
