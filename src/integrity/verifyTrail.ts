import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { listTrailSegments } from "../trail/segments.js";
import { lineHasher } from "./IntegrityChain.js";
import { unsealLine } from "./sealedLine.js";

export interface VerifyOptions {
  logDir: string;
  /** The file to check (default "audit.jsonl"), with its rotated backups, oldest first. */
  file?: string;
  /** The HMAC key the trail was written with (`integrity: { key }`). */
  key?: string;
}

export type IntegrityProblemKind = "modified" | "gap" | "reordered" | "broken-link" | "malformed";

export interface IntegrityProblem {
  kind: IntegrityProblemKind;
  file: string;
  line: number;
  chainId?: string;
  detail: string;
}

export interface ChainSummary {
  chainId: string;
  firstSeq: number;
  lastSeq: number;
  lines: number;
}

export interface VerifyReport {
  ok: boolean;
  files: string[];
  lines: number;
  sealed: number;
  unsealed: number;
  chains: ChainSummary[];
  problems: IntegrityProblem[];
}

/**
 * Checks the hash chains of a trail written with `integrity` on: every sealed
 * line's hash, and per chain that sequence numbers follow each other and each
 * line names its predecessor's hash. A chain may start past seq 1 where older
 * backups were rotated away; the end of a chain cannot be checked from the
 * file alone (keep a copy of recent hashes elsewhere, such as your SIEM).
 * Only audit.jsonl holds whole chains; other files are checked line by line.
 */
export async function verifyTrail(options: VerifyOptions): Promise<VerifyReport> {
  const file = options.file ?? "audit.jsonl";
  const checkLinks = file === "audit.jsonl";
  const hashOf = lineHasher(options.key);
  const files = listTrailSegments(options.logDir, file).map((segment) => segment.path);
  const chains = new Map<string, ChainSummary & { lastHash: string }>();
  const problems: IntegrityProblem[] = [];
  let lines = 0;
  let sealed = 0;
  let unsealed = 0;
  for (const path of files) {
    let lineNo = 0;
    const reader = createInterface({ input: createReadStream(path, { encoding: "utf8" }), crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of reader) {
      lineNo++;
      if (line === "") continue;
      lines++;
      const sealedLine = unsealLine(line);
      let parsed: { chain_id?: unknown; seq?: unknown; prev_hash?: unknown };
      try {
        parsed = JSON.parse(line);
      } catch {
        problems.push({ kind: "malformed", file: path, line: lineNo, detail: "not a JSON object" });
        continue;
      }
      if (!sealedLine || typeof parsed.chain_id !== "string" || typeof parsed.seq !== "number") {
        unsealed++;
        continue;
      }
      sealed++;
      const chainId = parsed.chain_id;
      const seq = parsed.seq;
      const where = { file: path, line: lineNo, chainId };
      if (hashOf(sealedLine.content) !== sealedLine.hash) {
        problems.push({ kind: "modified", ...where, detail: `seq ${seq}: content does not match its hash` });
      }
      if (!checkLinks) continue;
      const chain = chains.get(chainId);
      if (!chain) {
        chains.set(chainId, { chainId, firstSeq: seq, lastSeq: seq, lines: 1, lastHash: sealedLine.hash });
        continue;
      }
      if (seq <= chain.lastSeq) {
        problems.push({ kind: "reordered", ...where, detail: `seq ${seq} after seq ${chain.lastSeq}` });
        continue;
      }
      if (seq > chain.lastSeq + 1) {
        problems.push({ kind: "gap", ...where, detail: `seq ${chain.lastSeq + 1}..${seq - 1} missing (${seq - chain.lastSeq - 1} lines)` });
      } else if (parsed.prev_hash !== chain.lastHash) {
        problems.push({ kind: "broken-link", ...where, detail: `seq ${seq} does not follow the line before it` });
      }
      chain.lastSeq = seq;
      chain.lastHash = sealedLine.hash;
      chain.lines++;
    }
  }
  return {
    ok: problems.length === 0,
    files,
    lines,
    sealed,
    unsealed,
    chains: [...chains.values()].map(({ lastHash: _, ...summary }) => summary),
    problems,
  };
}
