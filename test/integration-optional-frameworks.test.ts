/** express, fastify, koa and NestJS are optional: importing auditx (or an adapter) never loads a framework it does not need. */

import { existsSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { DIST_INDEX } from "./support/core-trail.js";
import { modulesLoadedBy, packagesIn } from "./support/integration-module-graph.js";

const FRAMEWORKS = ["express", "fastify", "koa", "@nestjs/common", "@nestjs/core", "@nestjs/platform-express", "@nestjs/platform-fastify"];

describe("optional framework dependencies (compiled dist, resolved by package name)", () => {
  beforeAll(() => {
    if (!existsSync(DIST_INDEX)) throw new Error("dist/ is missing: run `npm run build` first");
  });

  it("the detection sees a framework when one is loaded (auditx/web runs on express)", () => {
    const packages = packagesIn(modulesLoadedBy("auditx/web"));
    expect(packages.has("express")).toBe(true);
  });

  it("importing auditx loads none of express, fastify, koa, NestJS", () => {
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

  it("importing auditx/nestjs loads Nest's common and core and rxjs, but neither platform nor its HTTP framework", () => {
    const packages = packagesIn(modulesLoadedBy("auditx/nestjs"));
    for (const name of ["@nestjs/common", "@nestjs/core", "rxjs"]) expect(packages.has(name), name).toBe(true);
    for (const name of ["express", "fastify", "koa", "@nestjs/platform-express", "@nestjs/platform-fastify"])
      expect(packages.has(name), name).toBe(false);
  });

  const ORMS = ["typeorm", "sequelize", "drizzle-orm", "knex", "@prisma/client", "pg", "better-sqlite3", "sqlite3"];

  it("importing auditx loads no ORM", () => {
    const packages = packagesIn(modulesLoadedBy("auditx"));
    for (const orm of ORMS.filter((name) => name !== "pg")) expect(packages.has(orm), orm).toBe(false);
  });

  it.each([
    ["auditx/typeorm", []],
    ["auditx/sequelize", []],
    ["auditx/drizzle", ["drizzle-orm"]],
  ])("importing %s loads no ORM but %j (the others take the application's ORM objects)", (specifier, expected) => {
    const packages = packagesIn(modulesLoadedBy(specifier));
    for (const orm of ORMS.filter((name) => name !== "pg" && !expected.includes(name))) expect(packages.has(orm), orm).toBe(false);
    for (const name of expected) expect(packages.has(name), name).toBe(true);
  });
});
