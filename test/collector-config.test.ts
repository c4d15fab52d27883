/**
 * collector-config.yaml, read as data: every component a pipeline names is
 * defined, the filelog path tails every segment name of a trail and parses
 * auditx trail lines (json, timestamp, severity) with checkpoints in
 * file_storage, the severity and attribute names agree with auditx's own
 * mapping, and the commented SIEM blocks are valid YAML. The real Collector
 * validates and runs the file in the collector tier (test/collector/, npm run
 * test:collector); this file needs no Go.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import * as A from "../src/entry/attributes.js";
import { LogLevel, SEVERITY_NUMBER } from "../src/index.js";
import { ROOT } from "./support/core-trail.js";
import { siemBlocks } from "./support/siem-blocks.js";

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
/** The Collector's include globs (doublestar: `*` stays within a folder; `[0-9]` classes) as a RegExp. */
function globToRegExp(glob: string): RegExp {
  const path = glob.replace(/\$\{env:[A-Z_]+:-([^}]*)\}/g, "$1");
  let source = "";
  for (let i = 0; i < path.length; i++) {
    const char = path[i] as string;
    if (char === "*") source += "[^/]*";
    else if (char === "[") {
      const end = path.indexOf("]", i);
      source += path.slice(i, end + 1);
      i = end;
    } else source += char.replace(/[.+?^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

const SEVERITY_ALIAS: Record<string, number> = { debug: 5, info: 9, info2: 10, info3: 11, warn: 13, error: 17, error2: 18, fatal: 21 };

interface FilelogReceiver {
  include: string[];
  compression?: string;
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
  return Object.entries(config.receivers).filter(([name]) => name.split("/")[0] === "file_log") as unknown as [string, FilelogReceiver][];
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

  it("runs memory_limiter first in every pipeline and no batch processor, which would acknowledge records it only holds in memory", () => {
    for (const [name, pipeline] of pipelines) {
      expect(pipeline.processors?.[0], name).toBe("memory_limiter");
      expect(
        pipeline.processors?.some((processor) => processor.split("/")[0] === "batch"),
        name,
      ).toBe(false);
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
    const filter = config.processors[filterName ?? ""] as { log_conditions: string[] };
    // The filter drops what is NOT on the security stream.
    expect(filter.log_conditions).toEqual([`log.attributes["${A.ATTR_STREAM}"] != "${A.Stream.SECURITY}"`]);
    expect(config.service.pipelines["logs/trail_security"]?.receivers).toEqual(["file_log/security"]);
  });

  it("tails every segment of audit.jsonl and security.jsonl, and nothing else in the folder", () => {
    const receivers = Object.fromEntries(filelogReceivers());
    expect(Object.keys(receivers).sort()).toEqual(["file_log/audit", "file_log/security"]);
    for (const [name, stem] of [
      ["file_log/audit", "audit"],
      ["file_log/security", "security"],
    ] as const) {
      const patterns = (receivers[name]?.include ?? []).map(globToRegExp);
      const tailed = (file: string) => patterns.some((pattern) => pattern.test(`/var/log/auditx/${file}`));
      // The live file, time-named segments (plain, then compressed), legacy numbered backups.
      for (const file of [
        `${stem}.jsonl`,
        `${stem}.20261202T174345.123Z.4f2a9c.jsonl`,
        `${stem}.20261202T174345.123Z.4f2a9c.jsonl.gz`,
        `${stem}.jsonl.1`,
        `${stem}.jsonl.12`,
      ]) {
        expect(tailed(file), `${name} tails ${file}`).toBe(true);
      }
      // The rotation lock and its stale leftovers, the other trails, temp files.
      const other = stem === "audit" ? "security" : "audit";
      for (const file of [
        `${stem}.jsonl.lock`,
        `${stem}.jsonl.lock.stale-123-0a1b2c3d`,
        `${other}.jsonl`,
        "app.log",
        `${stem}.jsonl.tmp`,
        `nested/${stem}.jsonl`,
      ]) {
        expect(tailed(file), `${name} leaves ${file} alone`).toBe(false);
      }
      // Plain and gzip: a segment compressed after it was read is recognised by its decompressed content.
      expect(receivers[name]?.compression).toBe("auto");
    }
  });

  it("parses json, timestamp and severity, checkpointed in file_storage", () => {
    for (const [name, receiver] of filelogReceivers()) {
      expect(receiver.start_at, name).toBe("beginning");
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
    const transform = config.processors["transform/trail_to_otel"] as { log_statements: string[] };
    const statements = transform.log_statements;
    const targets = new Set(
      statements.flatMap((statement) => [...statement.matchAll(/^set\(log\.attributes\["([^"]+)"\]/g)].map((m) => m[1])),
    );
    const contract = Object.entries(A)
      .filter(([key, value]) => key.startsWith("ATTR_") && !key.startsWith("ATTR_APP_") && typeof value === "string")
      .map(([, value]) => value as string);
    for (const name of contract) expect(targets.has(name), `${name} is set from a trail line`).toBe(true);
    for (const name of targets) expect(contract, `${name} is an auditx attribute`).toContain(name);
    expect(statements).toContain('set(log.trace_id.string, log.attributes["trace_id"]) where log.attributes["trace_id"] != nil');
    expect(statements).toContain('set(log.event_name, Concat(["auditx", log.attributes["auditx.stream"]], "."))');
    expect(statements.at(-1)).toMatch(/^delete_matching_keys\(log\.attributes, /);
    for (const pipeline of ["logs/trail", "logs/trail_security"]) {
      expect(config.service.pipelines[pipeline]?.processors).toContain("transform/trail_to_otel");
    }
  });

  it("writes JSONL with rotation and has a debug exporter", () => {
    for (const name of ["file/audit", "file/security"]) {
      const exporter = config.exporters[name] as {
        path: string;
        format: string;
        create_directory: boolean;
        rotation: Record<string, number>;
      };
      expect(exporter.format).toBe("json");
      expect(exporter.create_directory).toBe(true);
      expect(exporter.path).toMatch(/\.jsonl$/);
      expect(exporter.rotation.max_megabytes).toBeGreaterThan(0);
      expect(exporter.rotation.max_backups).toBeGreaterThan(0);
    }
    expect(config.exporters.debug).toMatchObject({ verbosity: expect.any(String) });
  });

  it("carries commented SIEM blocks that parse and batch in a persistent queue", () => {
    const blocks = siemBlocks(text);
    expect(blocks.map((block) => block.kind)).toEqual(["splunk_hec", "elasticsearch", "kafka", "syslog"]);
    for (const { kind, name, settings } of blocks) {
      expect(name.split("/")[0]).toBe(kind);
      const queue = settings.sending_queue as { storage?: string; batch?: { flush_timeout?: string } } | undefined;
      expect(queue?.storage, kind).toBeDefined();
      expect(config.service.extensions).toContain(queue?.storage);
      // The pipelines have no batch processor: the queue forms the batches.
      expect(queue?.batch?.flush_timeout, kind).toBeDefined();
    }
  });
});
