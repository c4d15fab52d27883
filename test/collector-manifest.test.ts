/**
 * collector/builder-config.yaml builds the Collector collector-config.yaml
 * needs: every component type the config names is in the manifest, and every
 * module is from one Collector release. (The build itself runs in the
 * collector tier: npm run collector:build, npm run test:collector.)
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ROOT } from "./support/core-trail.js";

interface Module {
  gomod: string;
}
interface Manifest {
  dist: { name: string; version: string; output_path: string };
  receivers: Module[];
  processors: Module[];
  exporters: Module[];
  extensions: Module[];
  providers: Module[];
  telemetry: Module;
}

const manifest = parse(readFileSync(join(ROOT, "collector", "builder-config.yaml"), "utf8")) as Manifest;
const config = parse(readFileSync(join(ROOT, "collector-config.yaml"), "utf8")) as Record<string, Record<string, unknown>>;

/** "go.opentelemetry.io/collector/receiver/otlpreceiver v0.159.0" -> its path and version. */
function moduleOf(module: Module): { path: string; version: string } {
  const [path = "", version = ""] = module.gomod.split(/\s+/);
  return { path, version };
}

const KINDS = { receivers: "receiver", processors: "processor", exporters: "exporter", extensions: "extension" } as const;

describe("collector/builder-config.yaml", () => {
  it("builds every component type collector-config.yaml names, plus the otlphttp exporter", () => {
    for (const [section, kind] of Object.entries(KINDS)) {
      const built = manifest[section as keyof typeof KINDS].map((module) => moduleOf(module).path.split("/").at(-1));
      // `file_log/audit` -> file_log -> filelogreceiver; `file_storage/checkpoints` -> filestorage.
      const types = new Set(Object.keys(config[section] ?? {}).map((name) => name.split("/")[0]?.replaceAll("_", "")));
      if (section === "exporters") types.add("otlphttp");
      for (const type of types) {
        expect(
          built.some((name) => name === `${type}${kind}` || name === type),
          `${kind} ${type}`,
        ).toBe(true);
      }
    }
  });

  it("takes every module from one Collector release", () => {
    const release = moduleOf(manifest.telemetry).version;
    expect(release).toMatch(/^v0\.\d+\.\d+$/);
    const components = Object.keys(KINDS).flatMap((section) => manifest[section as keyof typeof KINDS].map(moduleOf));
    expect(components.length).toBeGreaterThanOrEqual(10);
    for (const { path, version } of components) {
      expect(path, path).toMatch(/^(go\.opentelemetry\.io\/collector\/|github\.com\/open-telemetry\/opentelemetry-collector-contrib\/)/);
      expect(version, path).toBe(release);
    }
    // The confmap providers are stable modules (v1.x) released together with it: one version for all.
    const providers = new Set(manifest.providers.map((module) => moduleOf(module).version));
    expect(providers.size).toBe(1);
    expect([...providers][0]).toMatch(/^v1\.\d+\.\d+$/);
    expect(manifest.dist.version).toBe(release.slice(1));
  });

  it("writes the build into collector/build, which git ignores", () => {
    expect(manifest.dist.output_path).toBe("./build");
    expect(manifest.dist.name).toBe("otelcol-auditx");
    expect(readFileSync(join(ROOT, ".gitignore"), "utf8").split("\n")).toContain("collector/build/");
  });
});
