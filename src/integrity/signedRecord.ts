/**
 * The records of a digest file (checkpoints and forward-secure epoch
 * handovers): one JSON object per line, signed with Ed25519. The signature
 * covers the line's text without its `sig` field (the same layout a sealed
 * trail line has for its hash), so a record is checked from the text as
 * written, whatever JSON parser reads it.
 */
import { createHash, type KeyObject, sign, verify } from "node:crypto";

/** A writer's signed statement of its chain head. */
export interface CheckpointRecord {
  type: "checkpoint";
  v: 1;
  /** The trail's id (`.auditx/trail.json`). */
  trail: string;
  /** The writer: its chain id. */
  writer: string;
  /** This writer's checkpoint number, from 1, across restarts. */
  n: number;
  /** When it was made (ISO 8601, UTC). */
  time: string;
  /** "interval", "records", "heartbeat" (no new lines since the previous one), "epoch-end", "shutdown", "exit" or "start". */
  reason: string;
  /** The chain head: the sequence number and hash of the writer's last line (0 and "" before its first). */
  seq: number;
  hash: string;
  /** The head line's timestamp, for time windows. */
  line_time: string;
  /** Checkpoints come at least this often while the writer runs (heartbeats). */
  interval_ms: number;
  /** Every writer (chain) known in the folder when it was made. */
  writers: string[];
  /** The id of the HMAC key lines are sealed with, or null for SHA-256. */
  key_id: string | null;
  /** The forward-secure epoch whose key signed it (0 without forward security). */
  epoch: number;
  /** Digest of this writer's previous checkpoint ("" for its first). */
  prev: string;
}

/** Forward security: the key of epoch `from` hands over to the key of epoch `epoch`, then is erased. */
export interface EpochRecord {
  type: "epoch";
  v: 1;
  trail: string;
  epoch: number;
  from: number;
  /** When epoch `epoch` starts (ISO 8601). */
  start: string;
  /** Epoch 0's start and every epoch's length: epoch e starts at origin + e * epoch_ms. */
  origin: string;
  epoch_ms: number;
  /** The new epoch's public key (raw, base64url). */
  public_key: string;
  /** Each writer's latest checkpoint digest at the handover: what the erased key vouched for last. */
  heads: Record<string, string>;
  time: string;
}

export type SignedRecord = CheckpointRecord | EpochRecord;

const SIG_MARK = ',"sig":"';

/** The digest a record is linked by (SHA-256 of the whole line, base64url). */
export function recordDigest(line: string): string {
  return createHash("sha256").update(line).digest("base64url");
}

/** The record as one signed line (no newline). */
export function signRecord(record: SignedRecord, key: KeyObject): string {
  const content = JSON.stringify(record);
  const signature = sign(null, Buffer.from(content), key).toString("base64url");
  return `${content.slice(0, -1)}${SIG_MARK}${signature}"}`;
}

export interface ParsedRecord {
  record: SignedRecord;
  line: string;
  digest: string;
  /** Whether `key` signed it (undefined when no key was given). */
  valid?: boolean;
}

/** A digest-file line read back, its signature checked with `key` when given; undefined when it is not a record. */
export function parseSignedLine(line: string, key?: KeyObject): ParsedRecord | undefined {
  const at = line.lastIndexOf(SIG_MARK);
  if (at === -1 || !line.endsWith('"}')) return undefined;
  let record: SignedRecord;
  try {
    record = JSON.parse(line) as SignedRecord;
  } catch {
    return undefined;
  }
  if (record?.type !== "checkpoint" && record?.type !== "epoch") return undefined;
  const parsed: ParsedRecord = { record, line, digest: recordDigest(line) };
  if (key) {
    const content = `${line.slice(0, at)}}`;
    const signature = Buffer.from(line.slice(at + SIG_MARK.length, -2), "base64url");
    try {
      parsed.valid = verify(null, Buffer.from(content), key, signature);
    } catch {
      parsed.valid = false;
    }
  }
  return parsed;
}
