/** Which packages a fresh Node process loads when it imports one module, found with a real resolve hook. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./core-trail.js";

/** Records every URL the ESM loader resolves, appended synchronously before the import can complete. */
const RESOLVE_HOOK = `
import { appendFileSync } from "node:fs";
let file;
export function initialize(data) { file = data.file; }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(file, result.url + "\\n");
  return result;
}`;

/**
 * Imports `specifier` (e.g. "auditx", resolved by the package's own exports)
 * in a child process run from the repository root and returns every module
 * it loaded: ESM URLs from the hook plus the CommonJS module cache (CJS
 * packages such as express are loaded through it).
 */
export function modulesLoadedBy(specifier: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), "auditx-graph-"));
  const file = join(dir, "resolved.txt");
  try {
    const script = `
      import { register, createRequire } from "node:module";
      register("data:text/javascript," + encodeURIComponent(${JSON.stringify(RESOLVE_HOOK)}), { data: { file: ${JSON.stringify(file)} } });
      await import(${JSON.stringify(specifier)});
      process.stdout.write(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));
    `;
    const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT, encoding: "utf8", timeout: 30_000 });
    if (child.status !== 0) throw new Error(`importing ${specifier} failed: ${child.stderr}`);
    const commonJs = JSON.parse(child.stdout) as string[];
    const esm = readFileSync(file, "utf8").split("\n").filter(Boolean);
    return [...esm, ...commonJs];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The names of the packages under node_modules among `modules`. */
export function packagesIn(modules: string[]): Set<string> {
  const names = new Set<string>();
  for (const module of modules) {
    const match = /node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)[\\/]/.exec(module);
    if (match) names.add(match[1].replace("\\", "/"));
  }
  return names;
}
