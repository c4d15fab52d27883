/**
 * collector-config.yaml is a working Collector configuration: every component
 * a pipeline names is defined, the filelog path parses auditx trail lines
 * (json, timestamp, severity) with checkpoints in file_storage, the severity
 * and attribute names agree with auditx's own mapping, and the commented
 * SIEM blocks are valid YAML. (The otelcol binary itself is not run here.)
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import * as A from "../src/entry/attributes.js";
import { LogLevel, SEVERITY_NUMBER } from "../src/index.js";
import { ROOT } from "./support/core-trail.js";

type Section = Record<string, Record<string, unknown> | null>;
interface Pipeline {
  receivers?: string[];
  processors?: string[];
  exporters?: string[];
}
interface CollectorConfig {
  extensions: Section;
  receivers: Section;
  processors: Section;
  exporters: Section;
  connectors?: Section;
  service: { extensions?: string[]; pipelines: Record<string, Pipeline> };
}

const text = readFileSync(join(ROOT, "collector-config.yaml"), "utf8");
const config = parse(text) as CollectorConfig;
const pipelines = Object.entries(config.service.pipelines);

/** stanza's severity aliases and the numbers they stand for. */
const SEVERITY_ALIAS: Record<string, number> = { debug: 5, info: 9, info2: 10, info3: 11, warn: 13, error: 17, error2: 18, fatal: 21 };

interface FilelogReceiver {
  include: string[];
  start_at: string;
  storage: string;
  operators: {
    type: string;
    parse_to?: string;
    timestamp?: { parse_from: string; layout: string };
    severity?: { parse_from: string; mapping: Record<string, string | string[]> };
  }[];
}

function filelogReceivers(): [string, FilelogReceiver][] {
  return Object.entries(config.receivers).filter(([name]) => name.split("/")[0] === "filelog") as unknown as [string, FilelogReceiver][];
}

describe("collector-config.yaml", () => {
  it("defines every receiver, processor, exporter and extension the service names", () => {
    expect(pipelines.length).toBeGreaterThan(0);
    const defined = (section: Section | undefined, name: string) => section !== undefined && Object.hasOwn(section, name);
    for (const [pipelineName, pipeline] of pipelines) {
      expect(pipelineName.split("/")[0]).toBe("logs");
      expect(pipeline.receivers?.length, `${pipelineName} receivers`).toBeGreaterThan(0);
      expect(pipeline.exporters?.length, `${pipelineName} exporters`).toBeGreaterThan(0);
      for (const name of pipeline.receivers ?? []) {
        expect(defined(config.receivers, name) || defined(config.connectors, name), `receiver ${name} of ${pipelineName}`).toBe(true);
      }
      for (const name of pipeline.processors ?? [])
        expect(defined(config.processors, name), `processor ${name} of ${pipelineName}`).toBe(true);
      for (const name of pipeline.exporters ?? []) {
        expect(defined(config.exporters, name) || defined(config.connectors, name), `exporter ${name} of ${pipelineName}`).toBe(true);
      }
    }
    for (const name of config.service.extensions ?? []) expect(defined(config.extensions, name), `extension ${name}`).toBe(true);
  });

  it("uses every component it defines, and extensions that components refer to are enabled", () => {
    const used = new Set(pipelines.flatMap(([, p]) => [...(p.receivers ?? []), ...(p.processors ?? []), ...(p.exporters ?? [])]));
    for (const section of [config.receivers, config.processors, config.exporters]) {
      for (const name of Object.keys(section)) expect(used.has(name), `${name} is defined but unused`).toBe(true);
    }
    const storages = filelogReceivers().map(([, receiver]) => receiver.storage);
    for (const storage of storages) expect(config.service.extensions).toContain(storage);
  });

  it("runs memory_limiter first and batch last in every pipeline", () => {
    for (const [name, pipeline] of pipelines) {
      expect(pipeline.processors?.[0], name).toBe("memory_limiter");
      expect(pipeline.processors?.at(-1), name).toBe("batch");
    }
    expect(config.processors.memory_limiter).toMatchObject({ check_interval: expect.any(String) });
  });

  it("receives OTLP on http 4318 and grpc 4317", () => {
    const otlp = config.receivers.otlp as { protocols: { http: { endpoint: string }; grpc: { endpoint: string } } };
    expect(otlp.protocols.http.endpoint).toMatch(/:4318$/);
    expect(otlp.protocols.grpc.endpoint).toMatch(/:4317$/);
  });

  it("keeps security events in their own pipelines, filtered on auditx.stream", () => {
    const security = pipelines.filter(([name]) => name.includes("security"));
    expect(security.map(([name]) => name).sort()).toEqual(["logs/security", "logs/trail_security"]);
    const otlpSecurity = config.service.pipelines["logs/security"];
    expect(otlpSecurity?.receivers).toEqual(["otlp"]);
    const filterName = otlpSecurity?.processors?.find((name) => name.startsWith("filter/"));
    const filter = config.processors[filterName ?? ""] as { logs: { log_record: string[] } };
    // The filter drops what is NOT on the security stream.
    expect(filter.logs.log_record).toEqual([`attributes["${A.ATTR_STREAM}"] != "${A.Stream.SECURITY}"`]);
    expect(config.service.pipelines["logs/trail_security"]?.receivers).toEqual(["filelog/security"]);
  });

  it("tails audit.jsonl and security.jsonl with their backups, parsing json, timestamp and severity, checkpointed in file_storage", () => {
    const receivers = Object.fromEntries(filelogReceivers());
    expect(Object.keys(receivers).sort()).toEqual(["filelog/audit", "filelog/security"]);
    for (const [name, file] of [
      ["filelog/audit", "audit.jsonl"],
      ["filelog/security", "security.jsonl"],
    ] as const) {
      const receiver = receivers[name];
      expect(receiver).toBeDefined();
      if (!receiver) continue;
      expect(receiver.include.some((pattern) => pattern.endsWith(`/${file}`))).toBe(true);
      expect(receiver.include.some((pattern) => pattern.endsWith(`/${file}.*`))).toBe(true);
      expect(receiver.start_at).toBe("beginning");
      expect(config.extensions[receiver.storage]).toBeDefined();
      expect(receiver.storage.split("/")[0]).toBe("file_storage");
      const parser = receiver.operators.find((operator) => operator.type === "json_parser");
      expect(parser?.timestamp?.parse_from).toBe("attributes.timestamp");
      expect(parser?.timestamp?.layout).toBe("2006-01-02T15:04:05Z07:00");
      expect(parser?.severity?.parse_from).toBe("attributes.level");
      // Every level maps to DESIGN.md's severity number.
      const mapping = parser?.severity?.mapping ?? {};
      for (const level of Object.values(LogLevel)) {
        const alias = Object.entries(mapping).find(([, values]) => ([] as string[]).concat(values).includes(level))?.[0];
        expect(alias, level).toBeDefined();
        expect(SEVERITY_ALIAS[alias ?? ""], level).toBe(SEVERITY_NUMBER[level]);
      }
    }
  });

  it("turns trail lines into records with auditx's attribute names (the OTLP contract)", () => {
    const transform = config.processors["transform/trail_to_otel"] as { log_statements: { context: string; statements: string[] }[] };
    const statements = transform.log_statements.flatMap((group) => group.statements);
    const targets = new Set(statements.flatMap((statement) => [...statement.matchAll(/^set\(attributes\["([^"]+)"\]/g)].map((m) => m[1])));
    const contract = Object.entries(A)
      .filter(([key, value]) => key.startsWith("ATTR_") && key !== "ATTR_APP_FIELDS" && typeof value === "string")
      .map(([, value]) => value as string);
    for (const name of contract) expect(targets.has(name), `${name} is set from a trail line`).toBe(true);
    for (const name of targets) expect(contract, `${name} is an auditx attribute`).toContain(name);
    expect(statements).toContain('set(trace_id.string, attributes["trace_id"]) where attributes["trace_id"] != nil');
    expect(statements.at(-1)).toMatch(/^delete_matching_keys\(attributes, /);
    for (const pipeline of ["logs/trail", "logs/trail_security"]) {
      expect(config.service.pipelines[pipeline]?.processors).toContain("transform/trail_to_otel");
    }
  });

  it("writes JSONL with rotation and has a debug exporter", () => {
    for (const name of ["file/audit", "file/security"]) {
      const exporter = config.exporters[name] as { path: string; format: string; rotation: Record<string, number> };
      expect(exporter.format).toBe("json");
      expect(exporter.path).toMatch(/\.jsonl$/);
      expect(exporter.rotation.max_megabytes).toBeGreaterThan(0);
      expect(exporter.rotation.max_backups).toBeGreaterThan(0);
    }
    expect(config.exporters.debug).toMatchObject({ verbosity: expect.any(String) });
  });

  it("carries commented SIEM blocks that parse and use the persistent queue", () => {
    const blocks = [...text.matchAll(/^# >>> (\S+)\n([\s\S]*?)^# <<< \1$/gm)];
    expect(blocks.map((block) => block[1])).toEqual(["splunk_hec", "elasticsearch", "kafka", "syslog"]);
    for (const [, kind, body] of blocks) {
      const yaml = (body ?? "")
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => {
          expect(line.startsWith("# ") || line === "#", `${kind}: ${line}`).toBe(true);
          return line.slice(2);
        })
        .join("\n");
      const exporters = parse(yaml) as Record<string, { sending_queue?: { storage?: string } }>;
      const names = Object.keys(exporters);
      expect(names).toHaveLength(1);
      expect(names[0]?.split("/")[0]).toBe(kind);
      const queueStorage = exporters[names[0] ?? ""]?.sending_queue?.storage;
      expect(queueStorage).toBeDefined();
      expect(config.service.extensions).toContain(queueStorage);
    }
  });
});
