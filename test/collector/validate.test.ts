/**
 * The real Collector accepts collector-config.yaml: `validate` passes (and
 * fails on a broken statement, so it is not a formality), the binary has
 * every component the file names, and the persistent, batching sending
 * queue of each commented SIEM block is valid for a real exporter. (The SIEM
 * exporters themselves are not in the build: the module proxy does not serve
 * them at the release the build uses.)
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { COLLECTOR_CONFIG, requireCollectorBinary } from "../support/collector.js";
import { tempDir } from "../support/core-trail.js";
import { siemBlocks } from "../support/siem-blocks.js";

let dir: string;
let cleanup: () => void;

beforeAll(() => {
  ({ dir, cleanup } = tempDir("auditx-collector-validate-"));
});
afterAll(() => cleanup?.());

function collector(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync(requireCollectorBinary(), args, {
    encoding: "utf8",
    env: {
      ...process.env,
      AUDITX_LOG_DIR: join(dir, "trail"),
      OTELCOL_STORAGE_DIR: join(dir, "storage"),
      OTELCOL_EXPORT_DIR: join(dir, "export"),
    },
    timeout: 60_000,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe("otelcol validate", () => {
  it("accepts collector-config.yaml", () => {
    const result = collector("validate", "--config", COLLECTOR_CONFIG);
    expect(result.output).toBe("");
    expect(result.status).toBe(0);
  });

  it("rejects it with a broken statement, naming the processor", () => {
    const result = collector(
      "validate",
      "--config",
      COLLECTOR_CONFIG,
      "--config",
      'yaml:processors::transform/amount::log_statements: ["set(log.attributes[\\"auditx.amount\\"], NoSuchFunction())"]',
    );
    expect(result.status).toBe(1);
    expect(result.output).toContain("transform/amount");
    expect(result.output).toContain("NoSuchFunction");
  });

  it("has every component the file names built in", () => {
    const listed = parse(collector("components").output) as Record<string, { name: string }[]>;
    const config = parse(readFileSync(COLLECTOR_CONFIG, "utf8")) as Record<string, Record<string, unknown>>;
    for (const section of ["receivers", "processors", "exporters", "extensions"]) {
      const built = new Set((listed[section] ?? []).map((component) => component.name));
      for (const name of Object.keys(config[section] ?? {})) expect(built.has(name.split("/")[0] ?? ""), `${section}: ${name}`).toBe(true);
    }
  });

  it("accepts the sending queue and retries of every SIEM block on a real exporter", () => {
    const blocks = siemBlocks(readFileSync(COLLECTOR_CONFIG, "utf8"));
    expect(blocks).toHaveLength(4);
    const exporters: Record<string, unknown> = {};
    const pipelines: Record<string, unknown> = {};
    for (const { kind, settings } of blocks) {
      exporters[`otlp_http/${kind}`] = {
        endpoint: "http://127.0.0.1:9",
        sending_queue: settings.sending_queue,
        ...(settings.retry_on_failure ? { retry_on_failure: settings.retry_on_failure } : {}),
      };
      pipelines[`logs/${kind}`] = { receivers: ["otlp"], processors: ["memory_limiter"], exporters: [`otlp_http/${kind}`] };
    }
    const overlay = join(dir, "siem-queues.yaml");
    writeFileSync(overlay, stringify({ exporters, service: { pipelines } }));
    const result = collector("validate", "--config", COLLECTOR_CONFIG, "--config", overlay);
    expect(result.output).toBe("");
    expect(result.status).toBe(0);
    // The queues are really checked: one whose batch can never fill it is refused.
    const broken = join(dir, "siem-queue-broken.yaml");
    writeFileSync(
      broken,
      stringify({ exporters: { "otlp_http/kafka": { sending_queue: { sizer: "items", queue_size: 10, batch: { min_size: 100 } } } } }),
    );
    const refused = collector("validate", "--config", COLLECTOR_CONFIG, "--config", overlay, "--config", broken);
    expect(refused.status).toBe(1);
    expect(refused.output).toContain("min_size");
  });
});
