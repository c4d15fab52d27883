/**
 * The published types, through the TypeScript compiler on code a user writes
 * against "auditx" (its dist/*.d.ts): the quick start compiles cleanly, and a
 * misspelt option is a compile error that names the field.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");
const fixtures = join(root, "test", "fixtures", "types");
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");

interface Diagnostic {
  file: string;
  line: number;
  column: number;
  message: string;
}

function compile(): Diagnostic[] {
  expect(existsSync(join(root, "dist", "index.d.ts")), "run `npm run build` first").toBe(true);
  const result = spawnSync(process.execPath, [tsc, "-p", join(fixtures, "tsconfig.json"), "--pretty", "false"], {
    cwd: root,
    encoding: "utf8",
  });
  const diagnostics: Diagnostic[] = [];
  for (const text of result.stdout.split("\n")) {
    const match = /^(.+?)\((\d+),(\d+)\): error TS\d+: (.*)$/.exec(text);
    if (match)
      diagnostics.push({ file: match[1]!.split(/[\\/]/).pop()!, line: Number(match[2]), column: Number(match[3]), message: match[4]! });
  }
  // Errors, or a clean run: never a compiler that did not run.
  expect(result.status === 0 || diagnostics.length > 0, result.stdout + result.stderr).toBe(true);
  return diagnostics;
}

describe("published types", () => {
  const diagnostics = compile();

  it("compile the quick start without an error", () => {
    expect(diagnostics.filter((d) => d.file === "quick-start.ts")).toEqual([]);
  });

  it("compile the NestJS usage (decorators, forRoot, forRootAsync, @Audit value functions) without an error", () => {
    expect(diagnostics.filter((d) => d.file === "nestjs.ts")).toEqual([]);
  });

  it("compile the TypeORM, Sequelize and Drizzle adapters' usage without an error", () => {
    expect(diagnostics.filter((d) => d.file === "orm-adapters.ts")).toEqual([]);
  });

  it("reject each misspelt or mistyped option, pointing at the field, and nothing else", () => {
    const source = readFileSync(join(fixtures, "misspelt.ts"), "utf8").split("\n");
    const expected = source.flatMap((text, i) => {
      const field = /\/\/ error: (\S+)$/.exec(text)?.[1];
      return field ? [{ line: i + 1, field }] : [];
    });
    expect(expected.length).toBeGreaterThan(5);
    const found = diagnostics.filter((d) => d.file === "misspelt.ts");
    expect(found.map((d) => d.line)).toEqual(expected.map((e) => e.line));
    for (const { line, field } of expected) {
      const diagnostic = found.find((d) => d.line === line)!;
      expect(source[line - 1]!.slice(diagnostic.column - 1), diagnostic.message).toMatch(new RegExp(`^${field}\\b`));
    }
  });

  it("accept auditing(description, options) and auditing(options, fn), and reject each mix of the two", () => {
    const source = readFileSync(join(fixtures, "auditing.ts"), "utf8").split("\n");
    const expected = source.flatMap((text, i) => (text.endsWith("// error") ? [i + 1] : []));
    expect(expected).toHaveLength(4);
    const found = diagnostics.filter((d) => d.file === "auditing.ts");
    expect([...new Set(found.map((d) => d.line))]).toEqual(expected);
  });
});
