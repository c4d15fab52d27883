import { createHash, createHmac, randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { IntegrityFields } from "../entry/fields.js";
import { sealLine } from "./sealedLine.js";

/** Hashes are cut to 128 bits (22 base64url characters): ample against collisions, light on every line. */
const HASH_CHARS = 22;

/** How a chain hashes a line's content: keyed (HMAC-SHA-256) or not (SHA-256). */
export function lineHasher(key?: string): (content: string) => string {
  if (key) return (content) => createHmac("sha256", key).update(content).digest("base64url").slice(0, HASH_CHARS);
  return (content) => createHash("sha256").update(content).digest("base64url").slice(0, HASH_CHARS);
}

/**
 * A tamper-evident hash chain over the lines one writer (one pipeline in one
 * process) appends: each line carries the chain id, its sequence number, the
 * previous line's hash and its own. An edited, removed or reordered line
 * breaks the chain where `auditx verify` finds it. Each process keeps its own
 * chain, so writers never coordinate. With a key the hashes are HMACs, which
 * whoever edits the file cannot recompute without the key.
 */
export class IntegrityChain {
  readonly chainId: string;
  private readonly hashOf: (content: string) => string;
  private seq = 0;
  private prevHash = "";

  constructor(key?: string) {
    this.chainId = `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
    this.hashOf = lineHasher(key);
  }

  /** The line sealed as the chain's next one, and its integrity fields; the chain moves on only at commit(). */
  seal(line: string): { line: string; integrity: IntegrityFields } {
    return sealLine(line, { chainId: this.chainId, seq: this.seq + 1, prevHash: this.prevHash }, this.hashOf);
  }

  /** Advances the chain once the sealed line is written, so a failed write leaves no hole. */
  commit(integrity: IntegrityFields): void {
    this.seq = integrity.seq;
    this.prevHash = integrity.hash;
  }
}
