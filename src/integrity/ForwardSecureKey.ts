/**
 * Forward-secure signing (the idea of journald's Forward Secure Sealing and of
 * Schneier and Kelsey's secure audit logs): time is cut into epochs, each with
 * its own Ed25519 key. The key of epoch e+1 is derived from epoch e's by a
 * one-way hash, epoch e's key signs the handover to its successor (an epoch
 * record naming the new public key and every writer's latest checkpoint), and
 * is then erased. Whoever takes the machine in epoch k holds only key k: it
 * can sign nothing in the name of an earlier epoch, so it cannot re-seal what
 * was checkpointed before without verify (which needs only epoch 0's public
 * key) noticing.
 *
 * The current epoch's key lives in `.auditx/signing-key.json` (mode 0600),
 * overwritten at each handover. Erasure is as good as the file system's
 * overwrite and the runtime's memory (a Buffer is zeroed; copies inside
 * OpenSSL's key objects are freed, not wiped).
 */
import { createHash, type KeyObject } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";
import { AuditConfigError } from "../entry/errors.js";
import { acquireFileLock } from "../internal/fileLock.js";
import { privateKeyFromSeed, rawPublicKey, seedOf } from "./signingKeys.js";

const STATE_FILE = "signing-key.json";

interface StoredKey {
  v: 1;
  /** Epoch 0's start (ms since the epoch) and the epochs' length. */
  origin: number;
  epoch_ms: number;
  /** The epoch whose seed is stored. */
  epoch: number;
  seed: string;
  /** Epoch 0's public key: what verify must be given. */
  public_key_0: string;
}

/** The seed of the epoch after the one whose seed is given (one-way). */
export function nextSeed(seed: Buffer): Buffer {
  return createHash("sha256").update("auditx forward-secure epoch\n").update(seed).digest();
}

export interface EpochKey {
  epoch: number;
  key: KeyObject;
}

/** An epoch key handed over: the signed record's fields, signed by the previous epoch's key. */
export interface Handover {
  from: number;
  epoch: number;
  start: number;
  publicKey: string;
  /** Signs with the key being erased (call before anything else). */
  signWithPrevious: <T>(sign: (key: KeyObject) => T) => T;
}

export class ForwardSecureKey {
  private seed: Buffer;
  private current: EpochKey;

  /** Whether this start created the folder's key (from the initial key) rather than finding it. */
  created = false;

  private constructor(
    private readonly path: string,
    readonly origin: number,
    readonly epochMs: number,
    epoch: number,
    seed: Buffer,
    readonly publicKey0: string,
  ) {
    this.seed = seed;
    this.current = { epoch, key: privateKeyFromSeed(seed) };
  }

  /**
   * The folder's evolving key: read from its state file, or made from the
   * initial key (epoch 0, starting now, aligned to the epoch length) when the
   * folder has none yet.
   */
  static open(stateDir: string, initialKey: KeyObject | undefined, epochMs: number): ForwardSecureKey {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const path = join(stateDir, STATE_FILE);
    let stored = readStored(path);
    let created = false;
    if (!stored) {
      if (!initialKey) {
        throw new AuditConfigError(
          "integrity.forwardSecure needs a signing key the first time (integrity.signingKey, from auditx keygen); later starts use the evolving key in .auditx/",
        );
      }
      const now = Date.now();
      const fresh: StoredKey = {
        v: 1,
        origin: Math.floor(now / epochMs) * epochMs,
        epoch_ms: epochMs,
        epoch: 0,
        seed: seedOf(initialKey).toString("base64url"),
        public_key_0: rawPublicKey(initialKey),
      };
      const lock = acquireFileLock(`${path}.lock`, { purpose: "signing-key", timeoutMs: 2000 });
      try {
        stored = readStored(path);
        if (!stored) {
          writeStored(path, fresh);
          stored = fresh;
          created = true;
        }
      } finally {
        lock?.release();
      }
    }
    const key = new ForwardSecureKey(
      path,
      stored.origin,
      stored.epoch_ms,
      stored.epoch,
      Buffer.from(stored.seed, "base64url"),
      stored.public_key_0,
    );
    key.created = created;
    return key;
  }

  /** The epoch a time falls in. */
  epochAt(millis: number): number {
    return Math.max(0, Math.floor((millis - this.origin) / this.epochMs));
  }

  startOf(epoch: number): number {
    return this.origin + epoch * this.epochMs;
  }

  /** The key in use (its epoch may be behind the clock until advance() runs). */
  get key(): EpochKey {
    return this.current;
  }

  /**
   * Moves to the epoch `millis` falls in, when later than the current one:
   * derives the new key, lets `handover` sign the handover with the old key,
   * stores the new key in place of the old (once per folder, whichever process
   * comes first) and erases the old one. Returns false when nothing changed.
   */
  advance(millis: number, handover: (change: Handover) => void): boolean {
    const target = this.epochAt(millis);
    const from = this.current.epoch;
    if (target <= from) return false;
    let seed: Buffer = Buffer.from(this.seed);
    for (let epoch = from; epoch < target; epoch++) {
      const next = nextSeed(seed);
      seed.fill(0);
      seed = next;
    }
    const key = privateKeyFromSeed(seed);
    const previous = this.current.key;
    const lock = acquireFileLock(`${this.path}.lock`, { purpose: "signing-key", timeoutMs: 2000 });
    try {
      const stored = readStored(this.path);
      if (!stored || stored.epoch < target) {
        handover({
          from,
          epoch: target,
          start: this.startOf(target),
          publicKey: rawPublicKey(key),
          signWithPrevious: (sign) => sign(previous),
        });
        writeStored(this.path, {
          v: 1,
          origin: this.origin,
          epoch_ms: this.epochMs,
          epoch: target,
          seed: seed.toString("base64url"),
          public_key_0: this.publicKey0,
        });
      }
    } finally {
      lock?.release();
    }
    this.seed.fill(0);
    this.seed = seed;
    this.current = { epoch: target, key };
    return true;
  }

  /** Forgets the key held in memory (shutdown). */
  erase(): void {
    this.seed.fill(0);
  }
}

function readStored(path: string): StoredKey | undefined {
  try {
    const stored = JSON.parse(readFileSync(path, "utf8")) as StoredKey;
    if (stored.v !== 1 || typeof stored.seed !== "string" || typeof stored.epoch !== "number") return undefined;
    return stored;
  } catch {
    return undefined;
  }
}

/** Overwrites the stored key: a new file renamed over the old, made durable before the rename. */
function writeStored(path: string, stored: StoredKey): void {
  const temp = `${path}.${process.pid}.tmp`;
  const fd = openSync(temp, "w", 0o600);
  try {
    writeSync(fd, `${JSON.stringify(stored)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}
