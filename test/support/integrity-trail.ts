/**
 * Helpers of the integrity tests: writing a sealed trail with several
 * writers, editing its files as an attacker would (lines, segments, a whole
 * re-sealed chain), and reading verify's findings.
 */
import { type KeyObject, sign } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type AuditLogger, createLogger, type IntegrityProblem } from "../../src/index.js";
import { lineHasher } from "../../src/integrity/IntegrityChain.js";
import { sealLine, unsealLine } from "../../src/integrity/sealedLine.js";
import { listTrailSegments } from "../../src/trail/segments.js";

export interface TrailOptions {
  writers?: number;
  records?: number;
  key?: string;
  signingKey?: string | KeyObject;
  maxFileBytes?: number;
  checkpoints?: { intervalMs?: number; records?: number };
  forwardSecure?: boolean | { epochMs?: number };
  /** Whether each logger writes its own START and STOP entries (default false: the trail holds the records alone). */
  lifecycle?: boolean;
}

/**
 * Writes `records` entries per writer, interleaved, each writer a logger of its own (as separate processes are).
 * The tests count lines and sequence numbers: each writer's line i is its i-th record (see `lifecycle`).
 */
export async function writeSealedTrail(dir: string, options: TrailOptions = {}): Promise<void> {
  const loggers: AuditLogger[] = [];
  for (let w = 0; w < (options.writers ?? 2); w++) {
    loggers.push(
      createLogger({
        logDir: dir,
        auditLifecycle: options.lifecycle ?? false,
        maxFileBytes: options.maxFileBytes,
        minFreeBytes: 0,
        integrity: {
          key: options.key,
          signingKey: options.signingKey,
          checkpoints: options.checkpoints,
          forwardSecure: options.forwardSecure,
        },
      }),
    );
  }
  for (let i = 0; i < (options.records ?? 20); i++) {
    for (const [w, logger] of loggers.entries()) {
      logger.logTransaction(`w${w} invoice ${i}`, { referenceNo: `SI-${w}-${i}`, amount: 1000 + i, user: `clerk${w}`, metadata: { w, i } });
    }
  }
  for (const logger of loggers) await logger.shutdown();
}

/** The lines of a plain trail file. */
export function fileLines(path: string): string[] {
  return readFileSync(path, "utf8").split("\n").filter(Boolean);
}

export function writeLines(path: string, lines: string[]): void {
  writeFileSync(path, lines.length ? `${lines.join("\n")}\n` : "");
}

/** The chain id of a sealed line. */
export function chainOf(line: string): string {
  return (JSON.parse(line) as { chain_id: string }).chain_id;
}

export function auditFiles(dir: string): string[] {
  return listTrailSegments(dir, "audit.jsonl").map((segment) => segment.path);
}

/**
 * What someone with write access but without the key does to hide an edit in
 * an unkeyed trail: re-seals the chain `chainId` from its first line on (over
 * all files, in order) with plain SHA-256, after `edit` changed lines' content.
 */
export function resealChain(
  dir: string,
  chainId: string,
  edit: (dict: Record<string, unknown>) => Record<string, unknown> | undefined,
): void {
  const hashOf = lineHasher();
  let prevHash: string | undefined;
  for (const path of auditFiles(dir)) {
    const lines = fileLines(path).map((line) => {
      const dict = JSON.parse(line) as Record<string, unknown>;
      if (dict.chain_id !== chainId) return line;
      const edited = edit(dict) ?? dict;
      const { chain_id, seq, prev_hash, hash: _hash, ...content } = edited as Record<string, unknown> & { seq: number; prev_hash: string };
      const body = `${JSON.stringify(content)}\n`;
      const sealed = sealLine(body, { chainId: String(chain_id), seq, prevHash: prevHash ?? prev_hash }, hashOf);
      prevHash = sealed.integrity.hash;
      return sealed.line.slice(0, -1);
    });
    writeLines(path, lines);
  }
}

/** A digest-file line re-signed with `key` after `change` (an attacker holding a stolen signing key). */
export function resign(line: string, key: KeyObject, change: (record: Record<string, unknown>) => void): string {
  const { sig: _sig, ...record } = JSON.parse(line) as Record<string, unknown>;
  change(record);
  const content = JSON.stringify(record);
  return `${content.slice(0, -1)},"sig":"${sign(null, Buffer.from(content), key).toString("base64url")}"}`;
}

/** The seal fields stripped from a line (an attacker who cannot reseal). */
export function stripSeal(line: string): string {
  const { chain_id: _c, seq: _s, prev_hash: _p, hash: _h, ...rest } = JSON.parse(line) as Record<string, unknown>;
  return JSON.stringify(rest);
}

export const kinds = (problems: IntegrityProblem[]) => problems.map((problem) => problem.kind);

export { join, unsealLine };
