/**
 * `auditx verify`: checks a sealed trail, segment by segment (compressed ones
 * included), and tells every sign of tampering with its file and line.
 *
 * From the trail alone it finds edited lines (hash), lines deleted anywhere
 * in a chain (sequence numbers), reordered lines, lines without a seal in a
 * sealed trail, chains whose first lines are gone (unless a pruning entry in
 * the trail accounts for them), chains spliced in from another trail (their
 * first line is bound to the trail's id), and, with the folder's state, whole
 * chains deleted and keyed trails re-sealed without the key. The end of a
 * chain cannot be seen from the trail alone: with the public key, the signed
 * checkpoints (digest file, and copies kept off the host) prove each writer's
 * head, so a cut-off tail, or lines re-sealed before a checkpoint, show too.
 */
import type { KeyObject } from "node:crypto";
import { openSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { forEachSegmentLine } from "../trail/segmentReader.js";
import { listTrailSegments, type TrailSegment } from "../trail/segments.js";
import { splitTornLine } from "../trail/tornLines.js";
import { CheckpointLedger, type PlacedCheckpoint } from "./CheckpointLedger.js";
import { lineHasher } from "./IntegrityChain.js";
import { hashSealedContent, lineTimestamp, readSealTail, type SealTail } from "./sealTail.js";
import { type KeyInput, loadPublicKey } from "./signingKeys.js";
import { genesisHash, hmacKeyId, readTrailState, stateDirOf } from "./TrailState.js";
import { readWriterStates, type WriterState } from "./WriterSlot.js";

export interface VerifyOptions {
  logDir: string;
  /** The file to check (default "audit.jsonl"), with its rotated segments, oldest first. */
  file?: string;
  /** The HMAC key the trail was written with (`integrity: { key }`). */
  key?: string;
  /** Epoch 0's public key (`auditx keygen`): turns on the checkpoint checks. */
  publicKey?: KeyInput;
  /** Copies of the digest file kept elsewhere (a SIEM export), checked against the local one. */
  checkpoints?: string[];
  /** The time of the verification (default now): how old the last checkpoints are. */
  now?: number;
}

export type IntegrityProblemKind =
  | "modified"
  | "gap"
  | "reordered"
  | "broken-link"
  | "malformed"
  | "unsealed"
  | "chain-start-missing"
  | "chain-missing"
  | "foreign-chain"
  | "downgrade"
  | "key-required"
  | "tail-cut"
  | "tail-unsealed"
  | "uncovered-chain"
  | "checkpoint-invalid"
  | "checkpoint-missing"
  | "checkpoint-mismatch"
  | "epoch-invalid";

export interface IntegrityProblem {
  kind: IntegrityProblemKind;
  file: string;
  line: number;
  chainId?: string;
  detail: string;
}

/** Findings that are not signs of tampering: a torn write, an accepted pruning, a running writer's recent lines. */
export type IntegrityNoteKind =
  | "torn"
  | "pruned-start"
  | "open-tail"
  | "before-integrity"
  | "restart-gap"
  | "incident"
  | "moved-while-read";

export interface IntegrityNote {
  kind: IntegrityNoteKind;
  file?: string;
  line?: number;
  chainId?: string;
  detail: string;
}

export interface ChainSummary {
  chainId: string;
  firstSeq: number;
  lastSeq: number;
  lines: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
}

export interface VerifyReport {
  ok: boolean;
  files: string[];
  lines: number;
  sealed: number;
  unsealed: number;
  /** Fragments of failed writes (their callers were told). */
  torn: number;
  chains: ChainSummary[];
  problems: IntegrityProblem[];
  notes: IntegrityNote[];
  /** With a public key: the signed records read and checked. */
  checkpoints?: { files: string[]; total: number; valid: number; epochs: number; writers: number };
  elapsedMs: number;
  linesPerSecond: number;
}

interface ChainState extends ChainSummary {
  firstPrev: string;
  lastHash: string;
  firstFile: string;
  firstLine: number;
  lastFile: string;
  lastLine: number;
}

/** What the pruning entries say their segments held of one chain: the furthest, and each one's end. */
interface PrunedChain {
  lastSeq: number;
  lastHash: string;
  /** The last seq and hash of every pruned segment: a segment announced is deleted only a moment later. */
  ends: Map<number, string>;
}

const EVENT_MARK = Buffer.from('"auditx_event":"');
const PRUNED_EVENT = "trail.segment_pruned";
const INCIDENT_EVENTS = new Set(["trail.file_removed", "trail.file_renamed", "trail.file_truncated"]);
/** A writer whose last checkpoint is younger than this many intervals (plus slack) is taken to be running. */
const RUNNING_INTERVALS = 2;
const RUNNING_SLACK_MS = 10_000;

/** How many times a trail that rotated or was pruned during a run with problems is read again. */
const MAX_READS = 5;

/**
 * Verifies a trail. A writer may rotate, compress and prune it meanwhile: a
 * segment renamed or deleted between listing and reading shows as lines
 * missing. So a run that found problems while the trail's segments changed
 * is done again (the change is over by then), and only problems found in a
 * run the trail held still through are reported as they are.
 */
export async function verifyTrail(options: VerifyOptions): Promise<VerifyReport> {
  for (let read = 1; ; read++) {
    const { report, held } = await verifyOnce(options);
    if (report.ok || held) return report;
    if (read === MAX_READS) {
      report.notes.push({
        kind: "moved-while-read",
        detail: `the trail's segments were rotated, compressed or pruned during each of ${MAX_READS} reads: problems about missing lines may come from that; verify again`,
      });
      return report;
    }
  }
}

async function verifyOnce(options: VerifyOptions): Promise<{ report: VerifyReport; held: boolean }> {
  const started = performance.now();
  const now = options.now ?? Date.now();
  const file = options.file ?? "audit.jsonl";
  const checkLinks = file === "audit.jsonl";
  const problems: IntegrityProblem[] = [];
  const notes: IntegrityNote[] = [];
  const trailState = readTrailState(options.logDir);
  const writerStates = checkLinks ? readWriterStates(stateDirOf(options.logDir)) : [];
  const segments = listTrailSegments(options.logDir, file);
  const files = segments.map((segment) => segment.path);
  const trailCreated = trailState ? Date.parse(trailState.created) : Number.POSITIVE_INFINITY;

  // Which hashes to check lines with: the key's, and plain SHA-256 to recognise a downgrade.
  const keyed = trailState?.key_id ?? null;
  let hashOf: ((content: Buffer) => string) | undefined = lineHasher(options.key);
  const plainHashOf = lineHasher();
  if (keyed && !options.key) {
    problems.push({
      kind: "key-required",
      file: files[0] ?? options.logDir,
      line: 0,
      detail: `the trail is sealed with an HMAC key (key id ${keyed}): its lines cannot be checked without it (--key)`,
    });
    hashOf = undefined;
  } else if (keyed && options.key && hmacKeyId(options.key) !== keyed) {
    problems.push({
      kind: "key-required",
      file: files[0] ?? options.logDir,
      line: 0,
      detail: `the key given is not the trail's (key id ${hmacKeyId(options.key)}, the trail's is ${keyed})`,
    });
  }
  const keyedSince = trailState?.keyed_since ? Date.parse(trailState.keyed_since) : undefined;

  // Checkpoints first: the scan records the hash of every line a checkpoint names.
  let ledger: CheckpointLedger | undefined;
  let publicKey: KeyObject | undefined;
  if (options.publicKey !== undefined && checkLinks) {
    publicKey = loadPublicKey(options.publicKey);
    ledger = await CheckpointLedger.load(options.logDir, publicKey, options.checkpoints ?? []);
    problems.push(...ledger.problems);
  }
  const wanted = new Map<string, Set<number>>();
  if (ledger) {
    for (const [writer, byNumber] of ledger.writers) {
      const seqs = new Set<number>();
      for (const placed of byNumber.values()) if (placed.record.seq > 0) seqs.add(placed.record.seq);
      wanted.set(writer, seqs);
    }
  }
  const headHashes = new Map<string, string>();

  const chains = new Map<string, ChainState>();
  const pruned = new Map<string, PrunedChain>();
  let lines = 0;
  let sealed = 0;
  let unsealed = 0;
  let torn = 0;
  let sawSealed = false;
  let sawKeyed = false;

  const onSealed = (line: Buffer, seal: SealTail, path: string, lineNo: number, ownEntry: boolean) => {
    sealed++;
    sawSealed = true;
    if (hashOf) {
      const computed = hashSealedContent(line, seal.hashAt, hashOf);
      if (computed !== seal.hash) {
        const plain = options.key ? hashSealedContent(line, seal.hashAt, plainHashOf) === seal.hash : false;
        if (plain && (sawKeyed || keyedSince === undefined || timeOf(line) >= keyedSince)) {
          problems.push({
            kind: "downgrade",
            ...placeOf(path, lineNo, seal),
            detail: `seq ${seal.seq}: sealed without the trail's key (re-sealed by someone who does not have it)`,
          });
        } else if (!plain) {
          problems.push({ kind: "modified", ...placeOf(path, lineNo, seal), detail: `seq ${seal.seq}: content does not match its hash` });
        }
      } else if (options.key) sawKeyed = true;
    }
    if (ownEntry) noticeOwnEntry(line, path, lineNo);
    if (!checkLinks) return;
    const wantedSeqs = wanted.get(seal.chainId);
    if (wantedSeqs?.has(seal.seq)) headHashes.set(`${seal.chainId}\n${seal.seq}`, seal.hash);
    const chain = chains.get(seal.chainId);
    if (!chain) {
      const time = lineTimestamp(line);
      chains.set(seal.chainId, {
        chainId: seal.chainId,
        firstSeq: seal.seq,
        lastSeq: seal.seq,
        lines: 1,
        firstTimestamp: time,
        lastTimestamp: time,
        firstPrev: seal.prevHash,
        lastHash: seal.hash,
        firstFile: path,
        firstLine: lineNo,
        lastFile: path,
        lastLine: lineNo,
      });
      return;
    }
    if (seal.seq <= chain.lastSeq) {
      problems.push({ kind: "reordered", ...placeOf(path, lineNo, seal), detail: `seq ${seal.seq} after seq ${chain.lastSeq}` });
      return;
    }
    if (seal.seq > chain.lastSeq + 1) {
      problems.push({
        kind: "gap",
        ...placeOf(path, lineNo, seal),
        detail: `seq ${chain.lastSeq + 1}..${seal.seq - 1} missing (${seal.seq - chain.lastSeq - 1} lines, after ${chain.lastTimestamp || "?"})`,
      });
    } else if (seal.prevHash !== chain.lastHash) {
      problems.push({ kind: "broken-link", ...placeOf(path, lineNo, seal), detail: `seq ${seal.seq} does not follow the line before it` });
    }
    chain.lastSeq = seal.seq;
    chain.lastHash = seal.hash;
    chain.lastTimestamp = lineTimestamp(line);
    chain.lastFile = path;
    chain.lastLine = lineNo;
    chain.lines++;
  };

  /** auditx's own entries about its trail: pruning (accepted starts of chains) and incidents (explained gaps). */
  const noticeOwnEntry = (line: Buffer, path: string, lineNo: number) => {
    let entry: { user?: unknown; module?: unknown; metadata?: Record<string, unknown> };
    try {
      entry = JSON.parse(line.toString("utf8"));
    } catch {
      return;
    }
    const metadata = entry.metadata;
    if (entry.user !== "auditx" || entry.module !== "system" || !metadata) return;
    const event = metadata.auditx_event;
    if (event === PRUNED_EVENT && Array.isArray(metadata.chains)) {
      for (const chain of metadata.chains as { chain_id?: unknown; last_seq?: unknown; last_hash?: unknown }[]) {
        if (typeof chain.chain_id !== "string" || typeof chain.last_seq !== "number" || typeof chain.last_hash !== "string") continue;
        let known = pruned.get(chain.chain_id);
        if (!known) {
          known = { lastSeq: chain.last_seq, lastHash: chain.last_hash, ends: new Map() };
          pruned.set(chain.chain_id, known);
        } else if (chain.last_seq > known.lastSeq) {
          known.lastSeq = chain.last_seq;
          known.lastHash = chain.last_hash;
        }
        if (!known.ends.has(chain.last_seq)) known.ends.set(chain.last_seq, chain.last_hash);
      }
    } else if (typeof event === "string" && INCIDENT_EVENTS.has(event)) {
      notes.push({
        kind: "incident",
        file: path,
        line: lineNo,
        detail: `recorded incident: ${String((entry as { description?: unknown }).description ?? event)}`,
      });
    }
  };

  const onUnsealed = (text: string, path: string, lineNo: number, unterminated: boolean, live: boolean) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      const split = splitTornLine(text);
      if (!split) {
        problems.push({ kind: "malformed", file: path, line: lineNo, detail: "not a JSON object" });
        return;
      }
      if (unterminated && live) return; // a line being written right now
      torn++;
      notes.push({
        kind: "torn",
        file: path,
        line: lineNo,
        detail: `${Buffer.byteLength(split.fragment)} bytes of a record whose write failed (its caller got AuditWriteError)${split.record ? "; the record after it on the same line is read" : ""}`,
      });
      if (split.record) {
        const record = Buffer.from(split.record);
        onLine(record, path, lineNo, false, live, record.indexOf(EVENT_MARK) !== -1, true);
      }
      return;
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
      problems.push({ kind: "malformed", file: path, line: lineNo, detail: "not a JSON object" });
      return;
    }
    unsealed++;
    const time = Date.parse(String((parsed as { timestamp?: unknown }).timestamp ?? ""));
    if (sawSealed || (Number.isFinite(time) && time >= trailCreated)) {
      problems.push({
        kind: "unsealed",
        file: path,
        line: lineNo,
        detail: "a line without integrity fields in a sealed trail (inserted?)",
      });
    }
  };

  const onLine = (line: Buffer, path: string, lineNo: number, unterminated: boolean, live: boolean, marked: boolean, fromTorn = false) => {
    if (line.length === 0) return;
    if (!fromTorn) lines++;
    const seal = unterminated ? undefined : readSealTail(line);
    if (seal) onSealed(line, seal, path, lineNo, marked);
    else onUnsealed(line.toString("utf8"), path, lineNo, unterminated, live);
  };

  let moved = false;
  // The live file is opened now: a writer rotating it while the older segments are read must not take its lines out of sight.
  const liveFd = openLiveSegment(segments);
  for (const segment of segments) {
    try {
      const source = segment.live && liveFd !== undefined ? { ...segment, fd: liveFd } : segment;
      await forEachSegmentLine(
        source,
        (line, lineNo, unterminated, marked) => onLine(line, segment.path, lineNo, unterminated, segment.live, marked),
        0,
        EVENT_MARK,
      );
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") {
        moved = true; // pruned, or compressed as it was opened
        continue;
      }
      problems.push({ kind: "malformed", file: segment.path, line: 0, detail: `cannot be read: ${(error as Error).message}` });
    }
  }
  if (unsealed > 0 && !problems.some((problem) => problem.kind === "unsealed")) {
    notes.push({ kind: "before-integrity", detail: `${unsealed} line(s) written before the trail was sealed` });
  }

  if (checkLinks) {
    checkChainStarts(chains, pruned, trailState?.trail_id, trailCreated, problems, notes);
    checkWriters(chains, pruned, writerStates, trailCreated, files[0] ?? options.logDir, problems);
    if (ledger) checkCheckpoints(ledger, chains, pruned, headHashes, now, problems, notes, files[0] ?? options.logDir);
  }

  const elapsedMs = performance.now() - started;
  const held = !moved && sameSegments(segments, listTrailSegments(options.logDir, file));
  const report: VerifyReport = {
    ok: problems.length === 0,
    files,
    lines,
    sealed,
    unsealed,
    torn,
    chains: [...chains.values()].map(({ chainId, firstSeq, lastSeq, lines: count, firstTimestamp, lastTimestamp }) => ({
      chainId,
      firstSeq,
      lastSeq,
      lines: count,
      firstTimestamp,
      lastTimestamp,
    })),
    problems,
    notes,
    checkpoints: ledger
      ? { files: ledger.files, total: ledger.total, valid: ledger.valid, epochs: ledger.epochs, writers: ledger.writers.size }
      : undefined,
    elapsedMs,
    linesPerSecond: elapsedMs > 0 ? Math.round((lines / elapsedMs) * 1000) : lines,
  };
  return { report, held };
}

/** Whether a trail still has the segments it was listed with (compressed or not) and the same live file. */
function sameSegments(before: TrailSegment[], after: TrailSegment[]): boolean {
  if (before.length !== after.length) return false;
  return before.every((segment, i) => segment.id === after[i]?.id && segment.live === after[i]?.live);
}

function timeOf(line: Buffer): number {
  const time = Date.parse(lineTimestamp(line));
  return Number.isFinite(time) ? time : 0;
}

/** Each chain must start at its first line (bound to this trail), or where its pruning left off. */
function checkChainStarts(
  chains: Map<string, ChainState>,
  pruned: Map<string, PrunedChain>,
  trailId: string | undefined,
  trailCreated: number,
  problems: IntegrityProblem[],
  notes: IntegrityNote[],
): void {
  for (const chain of chains.values()) {
    const where = { file: chain.firstFile, line: chain.firstLine, chainId: chain.chainId };
    if (chain.firstSeq === 1) {
      const bound = trailId ? genesisHash(trailId, chain.chainId) : "";
      const legacy = chain.firstPrev === "" && (!trailId || (Date.parse(chain.firstTimestamp ?? "") || 0) < trailCreated);
      if (chain.firstPrev !== bound && !legacy) {
        problems.push({
          kind: "foreign-chain",
          ...where,
          detail: `chain ${chain.chainId} does not begin in this trail (lines spliced in from another one?)`,
        });
      }
      continue;
    }
    const prunedPart = pruned.get(chain.chainId);
    // The chain starts where a pruned segment ended; a later segment's pruning may be announced already, its file not yet deleted.
    if (prunedPart && prunedPart.ends.get(chain.firstSeq - 1) === chain.firstPrev) {
      notes.push({ kind: "pruned-start", ...where, detail: `seq 1..${chain.firstSeq - 1} pruned by retention, as the trail records` });
    } else if (prunedPart && prunedPart.lastSeq + 1 < chain.firstSeq) {
      problems.push({
        kind: "gap",
        ...where,
        detail: `seq ${prunedPart.lastSeq + 1}..${chain.firstSeq - 1} missing after the pruned segments`,
      });
    } else {
      problems.push({
        kind: "chain-start-missing",
        ...where,
        detail: `the first lines of chain ${chain.chainId} are gone: seq 1..${chain.firstSeq - 1} (no pruning recorded)`,
      });
    }
  }
}

/** Writers the folder knows must have their lines in the trail, up to the head they last saved. */
function checkWriters(
  chains: Map<string, ChainState>,
  pruned: Map<string, PrunedChain>,
  writers: WriterState[],
  trailCreated: number,
  firstFile: string,
  problems: IntegrityProblem[],
): void {
  const known = new Set(writers.map((writer) => writer.chain_id));
  for (const writer of writers) {
    if (writer.seq === 0) continue;
    const chain = chains.get(writer.chain_id);
    const prunedUpTo = pruned.get(writer.chain_id)?.lastSeq ?? 0;
    if (!chain) {
      if (prunedUpTo >= writer.seq) continue;
      problems.push({
        kind: "chain-missing",
        file: firstFile,
        line: 0,
        chainId: writer.chain_id,
        detail: `writer ${writer.chain_id} wrote ${writer.seq} line(s) (last saved ${writer.updated}), none of which is in the trail`,
      });
    } else if (chain.lastSeq < writer.seq) {
      problems.push({
        kind: "tail-cut",
        file: chain.lastFile,
        line: chain.lastLine,
        chainId: writer.chain_id,
        detail: `seq ${chain.lastSeq + 1}..${writer.seq} of writer ${writer.chain_id} are gone: its state saved at ${writer.updated} counts ${writer.seq} lines (written after ${chain.lastTimestamp || "?"}, up to ${writer.line_time || writer.updated})`,
      });
    }
  }
  if (writers.length === 0) return;
  for (const chain of chains.values()) {
    if (known.has(chain.chainId)) continue;
    if ((Date.parse(chain.firstTimestamp ?? "") || 0) < trailCreated) continue; // written before writers were recorded
    problems.push({
      kind: "foreign-chain",
      file: chain.firstFile,
      line: chain.firstLine,
      chainId: chain.chainId,
      detail: `chain ${chain.chainId} belongs to no writer of this folder (lines spliced in from another writer?)`,
    });
  }
}

/** Each checkpoint's head must be in the trail as signed; lines after a writer's last checkpoint are accounted for. */
function checkCheckpoints(
  ledger: CheckpointLedger,
  chains: Map<string, ChainState>,
  pruned: Map<string, PrunedChain>,
  headHashes: Map<string, string>,
  now: number,
  problems: IntegrityProblem[],
  notes: IntegrityNote[],
  firstFile: string,
): void {
  if (ledger.total === 0) {
    problems.push({
      kind: "checkpoint-missing",
      file: firstFile,
      line: 0,
      detail: "no signed checkpoint found (digest file deleted, or the trail was not written with a signing key)",
    });
  }
  const named = new Set<string>();
  for (const [writer] of ledger.writers) {
    const checkpoints = ledger.checkpointsOf(writer);
    const chain = chains.get(writer);
    const prunedUpTo = pruned.get(writer)?.lastSeq ?? 0;
    let cut: PlacedCheckpoint | undefined;
    for (const placed of checkpoints) {
      for (const other of placed.record.writers ?? []) named.add(other);
      const { record } = placed;
      if (record.seq === 0 || record.seq <= prunedUpTo) continue;
      const hash = headHashes.get(`${writer}\n${record.seq}`);
      if (hash === record.hash) continue;
      if (hash !== undefined) {
        problems.push({
          kind: "checkpoint-mismatch",
          file: placed.file,
          line: placed.line,
          chainId: writer,
          detail: `line seq ${record.seq} of writer ${writer} is not the one checkpoint #${record.n} signed at ${record.time} (re-sealed)`,
        });
      } else if (!chain || record.seq > chain.lastSeq) {
        if (!cut || record.seq > cut.record.seq) cut = placed;
      }
    }
    if (cut) {
      const from = chain ? chain.lastSeq + 1 : prunedUpTo + 1;
      problems.push({
        kind: "tail-cut",
        file: cut.file,
        line: cut.line,
        chainId: writer,
        detail: `seq ${from}..${cut.record.seq} of writer ${writer} were cut off: written between ${chain?.lastTimestamp || "?"} and ${cut.record.line_time || cut.record.time} (checkpoint #${cut.record.n})`,
      });
      continue;
    }
    accountForTail(writer, checkpoints, chain, now, problems, notes);
  }
  for (const chain of chains.values()) {
    if (ledger.writers.has(chain.chainId)) continue;
    problems.push({
      kind: "uncovered-chain",
      file: chain.firstFile,
      line: chain.firstLine,
      chainId: chain.chainId,
      detail: `no signed checkpoint covers chain ${chain.chainId} (lines spliced in from another writer, or its checkpoints deleted)`,
    });
  }
  for (const writer of named) {
    if (chains.has(writer) || ledger.writers.has(writer) || pruned.has(writer)) continue;
    problems.push({
      kind: "chain-missing",
      file: firstFile,
      line: 0,
      chainId: writer,
      detail: `writer ${writer}, named in signed checkpoints, has neither lines nor checkpoints left`,
    });
  }
}

/** Lines after a writer's last checkpoint, and a writer that stopped without a final one. */
function accountForTail(
  writer: string,
  checkpoints: PlacedCheckpoint[],
  chain: ChainState | undefined,
  now: number,
  problems: IntegrityProblem[],
  notes: IntegrityNote[],
): void {
  const last = checkpoints.at(-1);
  if (!last) return;
  for (let i = 1; i < checkpoints.length; i++) {
    const before = checkpoints[i - 1] as PlacedCheckpoint;
    const after = checkpoints[i] as PlacedCheckpoint;
    const silence = Date.parse(after.record.time) - Date.parse(before.record.time);
    const closed = before.record.reason === "shutdown" || before.record.reason === "exit";
    if (!closed && silence > before.record.interval_ms * RUNNING_INTERVALS + RUNNING_SLACK_MS) {
      notes.push({
        kind: "restart-gap",
        file: after.file,
        line: after.line,
        chainId: writer,
        detail: `writer ${writer} was silent from ${before.record.time} to ${after.record.time} without a final checkpoint (a crash and restart); its chain continues unbroken`,
      });
    }
  }
  const { record } = last;
  const age = now - Date.parse(record.time);
  const running = age <= record.interval_ms * RUNNING_INTERVALS + RUNNING_SLACK_MS;
  const closed = record.reason === "shutdown" || record.reason === "exit";
  const where = { file: last.file, line: last.line, chainId: writer };
  if (chain && chain.lastSeq > record.seq) {
    const detail = `seq ${record.seq + 1}..${chain.lastSeq} of writer ${writer} (${record.line_time || record.time} .. ${chain.lastTimestamp || "?"}) come after its last checkpoint #${record.n}`;
    if (running) notes.push({ kind: "open-tail", ...where, detail: `${detail}; the writer is running and will checkpoint them` });
    else problems.push({ kind: "tail-unsealed", ...where, detail: `${detail} and no later checkpoint vouches for them` });
    return;
  }
  if (!closed && !running) {
    const until = new Date(Date.parse(record.time) + record.interval_ms).toISOString();
    problems.push({
      kind: "tail-unsealed",
      ...where,
      detail: `writer ${writer} stopped without a final checkpoint after #${record.n} at ${record.time}: lines it wrote after that (from ${record.time} to at least ${until}) may have been cut off`,
    });
  }
}

/** Where a problem with a sealed line is (built only for a problem: most lines have none). */
function placeOf(file: string, line: number, seal: SealTail): { file: string; line: number; chainId: string } {
  return { file, line, chainId: seal.chainId };
}

/** A descriptor of the trail's live file as listed, or undefined when it is gone already. */
function openLiveSegment(segments: TrailSegment[]): number | undefined {
  const live = segments.at(-1);
  if (!live?.live) return undefined;
  try {
    return openSync(live.path, "r");
  } catch {
    return undefined;
  }
}
