/** express, fastify and koa are optional: importing auditx (or an adapter) never loads a framework it does not need. */

import { existsSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { DIST_INDEX } from "./support/core-trail.js";
import { modulesLoadedBy, packagesIn } from "./support/integration-module-graph.js";

const FRAMEWORKS = ["express", "fastify", "koa"];

describe("optional framework dependencies (compiled dist, resolved by package name)", () => {
  beforeAll(() => {
    if (!existsSync(DIST_INDEX)) throw new Error("dist/ is missing: run `npm run build` first");
  });

  it("the detection sees a framework when one is loaded (auditx/web runs on express)", () => {
    const packages = packagesIn(modulesLoadedBy("auditx/web"));
    expect(packages.has("express")).toBe(true);
  });

  it("importing auditx loads none of express, fastify, koa", () => {
    const modules = modulesLoadedBy("auditx");
    expect(modules.some((module) => module.endsWith("/dist/index.js"))).toBe(true);
    const packages = packagesIn(modules);
    for (const framework of FRAMEWORKS) expect(packages.has(framework), framework).toBe(false);
  });

  it.each([
    ["auditx/express", []],
    ["auditx/koa", []],
    ["auditx/http", []],
    ["auditx/fastify", ["fastify-plugin"]],
  ])("importing %s loads no framework (only %j besides auditx's own)", (specifier, expected) => {
    const packages = packagesIn(modulesLoadedBy(specifier));
    for (const framework of FRAMEWORKS) expect(packages.has(framework), framework).toBe(false);
    for (const name of expected) expect(packages.has(name), name).toBe(true);
  });
});
