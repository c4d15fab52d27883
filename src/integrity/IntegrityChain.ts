import { createHmac, hash, randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { AuditEntryFields, IntegrityFields } from "../entry/fields.js";
import { type LineHasher, sealEntry } from "./sealedLine.js";

/** Hashes are cut to 128 bits (22 base64url characters): ample against collisions, light on every line. */
const HASH_CHARS = 22;

/** How a chain hashes a line's content: keyed (HMAC-SHA-256) or not (SHA-256). */
export function lineHasher(key?: string): (content: string | Buffer) => string {
  if (key) return (content) => createHmac("sha256", key).update(content).digest("base64url").slice(0, HASH_CHARS);
  return (content) => hash("sha256", content, "base64url").slice(0, HASH_CHARS);
}

/** Where a chain resumes: its id and head (seq 0 for a new chain, whose first line links to `genesis`). */
export interface ChainStart {
  chainId: string;
  seq: number;
  hash: string;
  /** The prev_hash of the chain's first line (bound to the trail). */
  genesis: string;
}

/**
 * A tamper-evident hash chain over the lines one writer appends: each line
 * carries the chain id, its sequence number, the previous line's hash and its
 * own. An edited, removed or reordered line breaks the chain where `auditx
 * verify` finds it. Each writer (a process, or a writer identity it resumed
 * after a restart) keeps its own chain, so writers never coordinate. With a
 * key the hashes are HMACs, which whoever edits the file cannot recompute
 * without the key.
 */
export class IntegrityChain {
  readonly chainId: string;
  private readonly hashOf: LineHasher;
  private seq: number;
  private prevHash: string;
  /** The head line's timestamp, when the committer gave it. */
  private lineTime = "";
  /** Called (once) when the chain reaches `dueAt` lines: a checkpoint by record count is due. */
  private dueAt = Number.POSITIVE_INFINITY;
  onDue?: () => void;

  constructor(key?: string, start?: ChainStart) {
    this.chainId = start?.chainId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
    this.hashOf = lineHasher(key);
    this.seq = start?.seq ?? 0;
    this.prevHash = start ? (start.seq === 0 ? start.genesis : start.hash) : "";
  }

  /** Seals an entry as the chain's next line: sets its integrity fields and returns its line; the chain moves on only at commit(). */
  seal(fields: AuditEntryFields): string {
    fields.chainId = this.chainId;
    fields.seq = this.seq + 1;
    fields.prevHash = this.prevHash;
    return sealEntry(fields, this.hashOf);
  }

  /** Advances the chain once the sealed line is written, so a failed write leaves no hole. */
  commit(integrity: IntegrityFields & { timestamp?: string }): void {
    this.seq = integrity.seq;
    this.prevHash = integrity.hash;
    this.lineTime = integrity.timestamp ?? "";
    if (this.seq >= this.dueAt) {
      this.dueAt = Number.POSITIVE_INFINITY;
      this.onDue?.();
    }
  }

  /** The chain's last line: sequence number, hash and timestamp (seq 0 before the first). */
  head(): { seq: number; hash: string; lineTime: string } {
    return { seq: this.seq, hash: this.seq === 0 ? "" : this.prevHash, lineTime: this.lineTime };
  }

  /** Asks for onDue when the chain reaches `seq`. */
  dueWhen(seq: number): void {
    this.dueAt = seq;
  }
}
