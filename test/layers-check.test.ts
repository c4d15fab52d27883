/**
 * The floor check of `npm run lint` (scripts/check-layers.mjs): src/ passes it,
 * and it fails, naming the import, on an upward import and on a cycle.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ROOT, tempDir } from "./support/core-trail.js";

const SCRIPT = join(ROOT, "scripts", "check-layers.mjs");
const check = (src?: string) => spawnSync(process.execPath, src ? [SCRIPT, src] : [SCRIPT], { encoding: "utf8" });

let cleanup = () => {};
afterEach(() => cleanup());

function tree(files: Record<string, string>): string {
  const temp = tempDir("auditx-layers-");
  cleanup = temp.cleanup;
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(temp.dir, path, ".."), { recursive: true });
    writeFileSync(join(temp.dir, path), text);
  }
  return temp.dir;
}

describe("the floor check", () => {
  it("passes on src/", () => {
    const result = check();
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/no upward import, no cycle/);
  });

  it("fails on an import from a higher floor, type-only and multi-line imports included", () => {
    const src = tree({
      "entry/AuditEntry.ts": 'import type {\n  AuditLogger,\n} from "../api/AuditLogger.js";\nexport type A = AuditLogger;\n',
      "api/AuditLogger.ts": "export class AuditLogger {}\n",
      "trail/RotatingFile.ts": 'export const load = () => import("../viewer/index.js");\n',
      "viewer/index.ts": "export {};\n",
    });
    const result = check(src);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("entry/AuditEntry.ts imports api/AuditLogger.ts: api/ is above entry/");
    expect(result.stderr).toContain("trail/RotatingFile.ts imports viewer/index.ts: viewer/ is above trail/");
  });

  it("fails on a cycle within a floor, and on a folder that is on no floor", () => {
    const src = tree({
      "entry/a.ts": 'import { b } from "./b.js";\nexport const a = () => b;\n',
      "entry/b.ts": 'import { a } from "./a.js";\nexport const b = () => a;\n',
      "misc/c.ts": "export const c = 1;\n",
    });
    const result = check(src);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/import cycle: entry\/(a|b)\.ts -> entry\/(b|a)\.ts -> entry\/\1\.ts/);
    expect(result.stderr).toContain("misc/c.ts: its folder is on no floor");
  });
});
