/**
 * The published package on its own: `npm pack`, an install of the tarball
 * into an empty project (packages from the local npm cache where it has
 * them), then `npx auditx ui` serving the viewer and `npx auditx demo`
 * writing a trail: nothing but `npm install auditx` is needed.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, "..");
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";

/** The environment without npm's run-script variables (npm_config_local_prefix would point npm at this repository). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  const keep = new Set(["npm_config_cache", "npm_config_registry", "npm_config_userconfig"]);
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.toLowerCase().startsWith("npm_") || keep.has(key.toLowerCase())) env[key] = value;
  }
  return env;
}

let dir: string;
let app: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "auditx-package-"));
  app = join(dir, "app");
  mkdirSync(app);
  const env = cleanEnv();
  const { stdout } = await run(NPM, ["pack", "--pack-destination", dir, "--json"], { cwd: ROOT, env, maxBuffer: 16 * 1024 * 1024 });
  const [{ filename }] = JSON.parse(stdout) as { filename: string }[];
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "erp-service", version: "1.0.0", private: true, type: "module" }));
  await run(NPM, ["install", "--prefer-offline", "--no-audit", "--no-fund", join(dir, filename)], { cwd: app, env, timeout: 240_000 });
}, 300_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("npm install auditx", () => {
  it("installs the viewer's dependencies with the package: the project names only auditx", () => {
    const manifest = JSON.parse(readFileSync(join(app, "package.json"), "utf8"));
    expect(Object.keys(manifest.dependencies)).toEqual(["auditx"]);
    for (const dependency of ["express", "ws", "sse-channel", "@opentelemetry/api"]) {
      expect(existsSync(join(app, "node_modules", dependency, "package.json")), dependency).toBe(true);
    }
  });

  it("npx auditx ui serves the viewer over a log folder", async () => {
    await run(NPM, ["exec", "--", "auditx", "demo", "--log-dir", "logs", "--day", "20"], { cwd: app, env: cleanEnv() });
    const ui = spawn(join(app, "node_modules", ".bin", "auditx"), ["ui", "--log-dir", "logs", "--port", "0"], {
      cwd: app,
      env: cleanEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      let output = "";
      ui.stderr.on("data", (chunk) => {
        output += chunk;
      });
      const url = await new Promise<string>((resolve, reject) => {
        ui.stdout.on("data", (chunk) => {
          output += chunk;
          const found = /http:\/\/127\.0\.0\.1:\d+\//.exec(output);
          if (found) resolve(found[0]);
        });
        ui.once("exit", (code) => reject(new Error(`auditx ui exited with ${code}: ${output}`)));
      });
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("<html");
      const stats = (await (await fetch(`${url}api/stats`)).json()) as { audit: { total: number } };
      // Besides the demo's entries, auditx's own: the loggers' START and STOP, the viewer's START.
      const own = (await (await fetch(`${url}api/entries?entity_type=auditx&limit=1`)).json()) as { total: number };
      expect(own.total).toBeGreaterThanOrEqual(2);
      expect(stats.audit.total - own.total).toBe(20 + 12);
    } finally {
      const exited = new Promise((resolve) => ui.once("exit", resolve));
      ui.kill("SIGTERM");
      expect(await exited).toBe(0);
    }
  });

  it("the package's entry points load in the project", async () => {
    const script =
      'const a = await import("auditx"); const w = await import("auditx/web"); console.log(typeof a.audit.log, typeof w.createApp);';
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], { cwd: app, env: cleanEnv() });
    expect(stdout.trim()).toBe("function function");
  });
});
