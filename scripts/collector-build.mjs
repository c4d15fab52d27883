// Builds the OpenTelemetry Collector that runs collector-config.yaml from
// collector/builder-config.yaml with the OpenTelemetry Collector Builder of
// the same release, into collector/build/ (ignored by git). Only the
// machine's Go and the Go module proxy are used; modules and build caches
// stay in Go's default locations, so a rebuild after a change is quick.
//
// Idempotent: skips when the binary was built from the same manifest with
// the same Go. `--force` rebuilds anyway.
//
//   node scripts/collector-build.mjs [--force]
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const COLLECTOR = join(ROOT, "collector");
const MANIFEST = join(COLLECTOR, "builder-config.yaml");
const BUILD = join(COLLECTOR, "build");
const BINARY = join(BUILD, "otelcol-auditx");
const BUILDER = join(BUILD, "bin", "builder");
const STAMP = join(BUILD, "build-key.txt");
/** The oldest Go the 0.159 modules compile with (their go.mod says go 1.25.0). */
const MIN_GO = [1, 25];

function fail(message) {
  console.error(`collector:build: ${message}`);
  process.exit(1);
}

function goVersion() {
  try {
    return execFileSync("go", ["env", "GOVERSION"], { encoding: "utf8" }).trim();
  } catch {
    return fail("Go is not installed (.ci/run shows how to get a current Go from the module proxy).");
  }
}

/** go1.26.8 -> [1, 26]. */
function majorMinor(version) {
  const match = /^go(\d+)\.(\d+)/.exec(version);
  return match ? [Number(match[1]), Number(match[2])] : [0, 0];
}

/** The release of the manifest: the builder must be the same one (it is the core's version). */
function releaseOf(manifest) {
  const match = /gomod:\s*go\.opentelemetry\.io\/collector\/service\s+(v0\.\d+\.\d+)/.exec(manifest);
  if (!match) fail(`${MANIFEST} names no go.opentelemetry.io/collector/service module (telemetry), so its release is unknown`);
  return match[1];
}

const started = Date.now();
const force = process.argv.includes("--force");
const manifest = readFileSync(MANIFEST, "utf8");
const release = releaseOf(manifest);
const go = goVersion();
const [major, minor] = majorMinor(go);
if (major < MIN_GO[0] || (major === MIN_GO[0] && minor < MIN_GO[1])) {
  fail(
    `${go} is too old: the Collector ${release} modules need go${MIN_GO.join(".")} or newer (GOTOOLCHAIN=go1.26.8 fetches one from the module proxy).`,
  );
}
const goEnv = execFileSync("go", ["env", "GOOS", "GOARCH"], { encoding: "utf8" }).trim().split("\n").join("/");
const key = createHash("sha256").update(manifest).update(`\n${release}\n${go}\n${goEnv}\n`).digest("hex");

if (!force && existsSync(BINARY) && existsSync(STAMP) && readFileSync(STAMP, "utf8").trim() === key) {
  console.log(`collector:build: ${BINARY} is up to date (Collector ${release}, ${go})`);
  process.exit(0);
}

mkdirSync(join(BUILD, "bin"), { recursive: true });
// `builder version` prints "ocb version v0.159.0" (to stderr).
const probe = existsSync(BUILDER) ? spawnSync(BUILDER, ["version"], { encoding: "utf8" }) : undefined;
const builderVersion = probe ? `${probe.stdout}${probe.stderr}` : "";
if (!builderVersion.trim().endsWith(release)) {
  console.log(`collector:build: installing the Collector Builder ${release}`);
  const install = spawnSync("go", ["install", `go.opentelemetry.io/collector/cmd/builder@${release}`], {
    stdio: "inherit",
    env: { ...process.env, GOBIN: join(BUILD, "bin") },
  });
  if (install.status !== 0) fail(`go install of the Collector Builder ${release} failed`);
}

console.log(`collector:build: building the Collector ${release} with ${go} (a first build takes several minutes)`);
// The builder writes the sources, go.mod and the binary to dist.output_path (./build), relative to its working folder.
const build = spawnSync(BUILDER, ["--config", MANIFEST], { cwd: COLLECTOR, stdio: "inherit" });
if (build.status !== 0 || !existsSync(BINARY)) fail("the Collector Builder failed (its output is above)");
writeFileSync(STAMP, `${key}\n`);
const seconds = Math.round((Date.now() - started) / 1000);
console.log(`collector:build: built ${BINARY} in ${seconds} s`);
