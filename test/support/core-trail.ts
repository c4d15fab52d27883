/** Shared helpers of the core tests: temp log folders and reading the trail files back. */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { listTrailSegments } from "../../src/trail/segments.js";

export const ROOT = join(import.meta.dirname, "..", "..");
export const FIXTURES = join(ROOT, "test", "fixtures");
export const DIST_INDEX = join(ROOT, "dist", "index.js");

/** A fresh temp folder; `cleanup()` removes it (call in afterEach/afterAll). */
export function tempDir(prefix = "auditx-core-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The text of a trail file, inflated when it is a compressed segment. */
export function readText(path: string): string {
  const data = readFileSync(path);
  return (path.endsWith(".gz") ? gunzipSync(data) : data).toString("utf8");
}

/** The raw lines of a file (no trailing empty line), [] when it does not exist; `.gz` segments are inflated. */
export function rawLines(path: string): string[] {
  if (!existsSync(path)) return [];
  const text = readText(path);
  if (text === "") return [];
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/**
 * auditx's own entries: the logger's lifecycle (START, STOP, CONFIGURE) and
 * the viewer's reads, which a trail holds besides the entries a test writes.
 */
export function isOwnEntry(line: Record<string, unknown>): boolean {
  return line.entity_type === "auditx" && line.module === "system";
}

/**
 * The entries of a JSONL file that the test's own calls wrote, parsed:
 * auditx's own entries (isOwnEntry) are left aside; readAllJsonl has them too.
 */
export function readJsonl(path: string): Record<string, unknown>[] {
  return readAllJsonl(path).filter((line) => !isOwnEntry(line));
}

/** Every line of a JSONL file parsed; a line that does not parse fails the test with its text. */
export function readAllJsonl(path: string): Record<string, unknown>[] {
  return rawLines(path).map((line, index) => {
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new Error(`${path}:${index + 1} is not JSON: ${line.slice(0, 200)}`);
    }
  });
}

/** A trail file and its segments (time-named, compressed or not, and legacy numbered backups), oldest first. */
export function trailFiles(dir: string, name: string): string[] {
  return listTrailSegments(dir, name).map((segment) => segment.path);
}

/** Every record of a JSONL trail that the test's calls wrote, backups included, oldest file first (auditx's own left aside). */
export function readTrail(dir: string, name = "audit.jsonl"): Record<string, unknown>[] {
  return trailFiles(dir, name).flatMap((file) => readJsonl(file));
}

/** auditx's own entries of a trail (lifecycle, viewer reads), backups included, oldest file first. */
export function readOwnEntries(dir: string, name = "audit.jsonl"): Record<string, unknown>[] {
  return trailFiles(dir, name).flatMap((file) => readAllJsonl(file).filter(isOwnEntry));
}

/** Spawns `node <fixture> ...args` (compiled dist code), collecting stdout; killed by `stop()`. */
export function spawnFixture(fixture: string, args: string[], env: NodeJS.ProcessEnv = {}): RunningChild {
  const child = spawn(process.execPath, [join(FIXTURES, fixture), ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const running: RunningChild = {
    child,
    stdout: "",
    stderr: "",
    exited: new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal }))),
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    running.stdout += chunk;
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    running.stderr += chunk;
  });
  return running;
}

export interface RunningChild {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): void;
}

/** The field order of an audit.jsonl line (DESIGN.md). */
export const FIELD_ORDER = [
  "timestamp",
  "level",
  "module",
  "action",
  "description",
  "user",
  "user_role",
  "company_id",
  "branch_id",
  "entity_type",
  "entity_id",
  "reference_no",
  "amount",
  "currency",
  "old_values",
  "new_values",
  "metadata",
  "request_id",
  "session_id",
  "ip",
  "hostname",
  "method",
  "endpoint",
  "status",
  "success",
  "trace_id",
  "span_id",
  "service",
  "id",
  "chain_id",
  "seq",
  "prev_hash",
  "hash",
];

/** Whether `keys` appear in FIELD_ORDER's order (any subset). */
export function inFieldOrder(keys: string[]): boolean {
  const positions = keys.map((key) => FIELD_ORDER.indexOf(key));
  return positions.every((position, i) => position >= 0 && (i === 0 || position > positions[i - 1]));
}

/** Millisecond ISO 8601 with an explicit offset, as the trail writes it. */
export const TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}$/;

/**
 * app.log's line head: loggingCustom's `dd/mm/yyyy hh:mm:ss AM | ` (groups 1-7), or an app
 * message's `yyyy-mm-dd hh:mm:ss,mmm | ` (Python logging's, as the original writes them).
 */
export const APP_LINE_RE = /^(?:(\d{2})\/(\d{2})\/(\d{4}) (\d{2}):(\d{2}):(\d{2}) (AM|PM)|\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}) \| /;
