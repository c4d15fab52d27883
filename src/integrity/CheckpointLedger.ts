/**
 * The signed records of a trail's digest file (and of copies kept elsewhere,
 * such as a SIEM's), checked against the public key of epoch 0: every epoch
 * handover back to that key, every checkpoint's signature by its epoch's key,
 * each writer's checkpoints numbered without holes and linked to their
 * predecessors, and the copies against the local file.
 */
import type { KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { forEachSegmentLine } from "../trail/segmentReader.js";
import { listTrailSegments } from "../trail/segments.js";
import { type CheckpointRecord, type EpochRecord, type ParsedRecord, parseSignedLine } from "./signedRecord.js";
import { publicKeyFromRaw } from "./signingKeys.js";

/** The digest file beside a trail (rotated like it). */
export const DIGEST_FILE = "checkpoints.jsonl";

/** A problem a ledger check found, placed by file and line. */
export interface LedgerProblem {
  kind: "checkpoint-invalid" | "checkpoint-missing" | "checkpoint-mismatch" | "epoch-invalid";
  file: string;
  line: number;
  chainId?: string;
  detail: string;
}

export interface PlacedCheckpoint {
  record: CheckpointRecord;
  digest: string;
  file: string;
  line: number;
}

/** Slack allowed between a checkpoint's time and its epoch's bounds (timers fire late): a quarter epoch, at most a minute. */
const EPOCH_SLACK_MS = 60_000;

/** An epoch's public key and time bounds (as far as the handovers tell them). */
interface EpochKey {
  key: KeyObject;
  start?: number;
  end?: number;
  /** The epochs' length. */
  length?: number;
}

interface Placed {
  parsed: ParsedRecord;
  file: string;
  line: number;
}

async function readRecords(path: string, compressed: boolean): Promise<Placed[]> {
  const records: Placed[] = [];
  await forEachSegmentLine({ path, compressed }, (line, lineNo) => {
    if (line.length === 0) return;
    const parsed = parseSignedLine(line.toString("utf8"));
    if (parsed) records.push({ parsed, file: path, line: lineNo });
  });
  return records;
}

export class CheckpointLedger {
  /** Each writer's valid checkpoints, by number. */
  readonly writers = new Map<string, Map<number, PlacedCheckpoint>>();
  readonly problems: LedgerProblem[] = [];
  readonly files: string[] = [];
  total = 0;
  valid = 0;
  epochs = 0;
  /** Checkpoint digests the epoch handovers vouch for (the erased keys' last word). */
  private readonly pinned: { digest: string; writer: string; epoch: number; file: string; line: number }[] = [];

  private constructor(private readonly publicKey0: KeyObject) {}

  /** Reads and checks the digest files of `logDir` and the given copies. */
  static async load(logDir: string, publicKey: KeyObject, copies: string[] = []): Promise<CheckpointLedger> {
    const ledger = new CheckpointLedger(publicKey);
    const local: Placed[] = [];
    for (const segment of listTrailSegments(logDir, DIGEST_FILE)) {
      ledger.files.push(segment.path);
      local.push(...(await readRecords(segment.path, segment.compressed)));
    }
    const copied: Placed[] = [];
    for (const copy of copies) {
      ledger.files.push(copy);
      readFileSync(copy); // a copy that cannot be read is an error of the caller, not a finding
      copied.push(...(await readRecords(copy, copy.endsWith(".gz"))));
    }
    ledger.check(local, copied);
    return ledger;
  }

  private check(local: Placed[], copied: Placed[]): void {
    const localDigests = new Set(local.map((placed) => placed.parsed.digest));
    const all = [...local];
    for (const placed of copied) {
      if (localDigests.has(placed.parsed.digest)) continue;
      all.push(placed);
      if (placed.parsed.record.type === "checkpoint") {
        const { writer, n } = placed.parsed.record;
        this.problems.push({
          kind: "checkpoint-missing",
          file: placed.file,
          line: placed.line,
          chainId: writer,
          detail: `checkpoint #${n} of writer ${writer} is in this copy but not in the trail's digest file (deleted or replaced there)`,
        });
      }
      localDigests.add(placed.parsed.digest);
    }
    const keys = this.epochKeys(all);
    const bounds = (epoch: number) => keys.get(epoch);
    for (const placed of all) {
      const { parsed, file, line } = placed;
      if (parsed.record.type !== "checkpoint") continue;
      this.total++;
      const record = parsed.record;
      const epoch = bounds(record.epoch);
      const where = { file, line, chainId: record.writer };
      if (!epoch) {
        this.problems.push({
          kind: "checkpoint-invalid",
          ...where,
          detail: `checkpoint #${record.n} names epoch ${record.epoch}, which no valid handover leads to`,
        });
        continue;
      }
      const checked = parseSignedLine(parsed.line, epoch.key);
      if (!checked?.valid) {
        this.problems.push({
          kind: "checkpoint-invalid",
          ...where,
          detail: `checkpoint #${record.n} of writer ${record.writer}: signature does not match (forged or altered)`,
        });
        continue;
      }
      const time = Date.parse(record.time);
      const slack = Math.min(EPOCH_SLACK_MS, (epoch.length ?? Number.POSITIVE_INFINITY) / 4);
      if (epoch.start !== undefined && (time < epoch.start - slack || (epoch.end !== undefined && time > epoch.end + slack))) {
        this.problems.push({
          kind: "checkpoint-invalid",
          ...where,
          detail: `checkpoint #${record.n} is dated ${record.time}, outside epoch ${record.epoch} whose key signed it (signed later with a stolen key?)`,
        });
        continue;
      }
      this.valid++;
      let byNumber = this.writers.get(record.writer);
      if (!byNumber) this.writers.set(record.writer, (byNumber = new Map()));
      const existing = byNumber.get(record.n);
      if (existing && existing.digest !== parsed.digest) {
        this.problems.push({
          kind: "checkpoint-mismatch",
          ...where,
          detail: `two different checkpoints #${record.n} of writer ${record.writer} (the other at ${existing.file}:${existing.line})`,
        });
        continue;
      }
      byNumber.set(record.n, { record, digest: parsed.digest, file, line });
    }
    this.checkSequences();
    this.checkPins();
  }

  /** Epoch keys reachable from epoch 0's public key through valid handovers, with each epoch's time bounds. */
  private epochKeys(all: Placed[]): Map<number, EpochKey> {
    const keys = new Map<number, EpochKey>([[0, { key: this.publicKey0 }]]);
    const handovers = all
      .filter((placed) => placed.parsed.record.type === "epoch")
      .sort((a, b) => (a.parsed.record as EpochRecord).epoch - (b.parsed.record as EpochRecord).epoch);
    const seen = new Set<string>();
    for (const placed of handovers) {
      const record = placed.parsed.record as EpochRecord;
      if (seen.has(placed.parsed.digest)) continue;
      seen.add(placed.parsed.digest);
      const signer = keys.get(record.from);
      const valid = signer ? parseSignedLine(placed.parsed.line, signer.key)?.valid === true : false;
      if (!valid || record.epoch <= record.from) {
        this.problems.push({
          kind: "epoch-invalid",
          file: placed.file,
          line: placed.line,
          detail: `handover to epoch ${record.epoch} is not signed by the key of epoch ${record.from} (forged)`,
        });
        continue;
      }
      if (keys.has(record.epoch)) continue;
      const origin = Date.parse(record.origin);
      const start = Date.parse(record.start);
      if (signer) {
        signer.end ??= start;
        signer.length ??= record.epoch_ms;
      }
      if (record.from === 0 && keys.get(0)?.start === undefined && Number.isFinite(origin)) {
        const zero = keys.get(0);
        if (zero) zero.start = origin;
      }
      keys.set(record.epoch, {
        key: publicKeyFromRaw(record.public_key),
        start: Number.isFinite(start) ? start : undefined,
        length: record.epoch_ms,
      });
      this.epochs++;
      for (const [writer, digest] of Object.entries(record.heads ?? {})) {
        this.pinned.push({ digest, writer, epoch: record.from, file: placed.file, line: placed.line });
      }
    }
    return keys;
  }

  private checkSequences(): void {
    for (const [writer, byNumber] of this.writers) {
      const numbers = [...byNumber.keys()].sort((a, b) => a - b);
      const first = numbers[0] as number;
      if (first > 1) {
        const at = byNumber.get(first) as PlacedCheckpoint;
        this.problems.push({
          kind: "checkpoint-missing",
          file: at.file,
          line: at.line,
          chainId: writer,
          detail: `writer ${writer}: checkpoints #1..#${first - 1} missing`,
        });
      }
      for (let i = 1; i < numbers.length; i++) {
        const previous = byNumber.get(numbers[i - 1] as number) as PlacedCheckpoint;
        const current = byNumber.get(numbers[i] as number) as PlacedCheckpoint;
        if (current.record.n > previous.record.n + 1) {
          this.problems.push({
            kind: "checkpoint-missing",
            file: current.file,
            line: current.line,
            chainId: writer,
            detail: `writer ${writer}: checkpoints #${previous.record.n + 1}..#${current.record.n - 1} missing`,
          });
        } else if (current.record.prev !== previous.digest) {
          this.problems.push({
            kind: "checkpoint-mismatch",
            file: current.file,
            line: current.line,
            chainId: writer,
            detail: `writer ${writer}: checkpoint #${current.record.n} does not link to checkpoint #${previous.record.n}`,
          });
        }
      }
    }
  }

  /** Every checkpoint an epoch handover vouched for must still be there. */
  private checkPins(): void {
    const digests = new Set<string>();
    for (const byNumber of this.writers.values()) for (const placed of byNumber.values()) digests.add(placed.digest);
    for (const pin of this.pinned) {
      if (digests.has(pin.digest)) continue;
      this.problems.push({
        kind: "checkpoint-missing",
        file: pin.file,
        line: pin.line,
        chainId: pin.writer,
        detail: `the handover from epoch ${pin.epoch} vouches for a checkpoint of writer ${pin.writer} that is not in the digest file (replaced or deleted)`,
      });
    }
  }

  /** A writer's checkpoints, oldest first. */
  checkpointsOf(writer: string): PlacedCheckpoint[] {
    const byNumber = this.writers.get(writer);
    return byNumber ? [...byNumber.values()].sort((a, b) => a.record.n - b.record.n) : [];
  }
}
