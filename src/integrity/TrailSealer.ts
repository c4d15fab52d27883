/**
 * One writer's side of a sealed trail: the hash chain it seals audit lines
 * with, the writer identity that chain belongs to across restarts, and, with
 * a signing key, the signed checkpoints of its head (every `intervalMs` even
 * when idle, every `records` lines, at shutdown) appended to the digest file
 * beside the trail and handed to OTLP, so that copies live off the host.
 * Nothing here runs per log call except the chain itself: checkpoints run
 * from the folder monitor's timer or right after the call that made one due.
 */
import type { KeyObject } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { RotatingFile } from "../trail/RotatingFile.js";
import { ForwardSecureKey } from "./ForwardSecureKey.js";
import { IntegrityChain } from "./IntegrityChain.js";
import { type CheckpointRecord, type EpochRecord, recordDigest, type SignedRecord, signRecord } from "./signedRecord.js";
import { genesisHash, hmacKeyId, openTrailState, type TrailState } from "./TrailState.js";
import { readWriterStates, WriterSlot } from "./WriterSlot.js";

/** An epoch's key signs its epoch-end checkpoint at most this part of an epoch after the epoch ended (verify allows twice that). */
const EPOCH_END_GRACE_PARTS = 8;

export interface CheckpointSettings {
  /** Longest time between two checkpoints of a running writer (a heartbeat when idle). */
  intervalMs: number;
  /** Lines after which a checkpoint is due, whatever the time. */
  records: number;
}

export interface TrailSealerOptions {
  logDir: string;
  stateDir: string;
  /** The live audit file (its name, its position for restarts, its buffered lines flushed before a checkpoint). */
  audit: RotatingFile;
  auditBaseName: string;
  /** HMAC key of the lines. */
  key?: string;
  /** Signs checkpoints; none: no checkpoints (the writer's state is still saved). */
  signingKey?: KeyObject;
  /** Evolve the signing key every `epochMs` and erase the old one. */
  forwardSecure?: { epochMs: number };
  /** The file the initial signing key came from: with forward security it must not stay on the host. */
  signingKeyPath?: string;
  /** Where warnings go (app.log). */
  onWarning?: (message: string) => void;
  checkpoints: CheckpointSettings;
  /** The digest file (needed with a signing key). */
  digest?: RotatingFile;
  /** Hands each signed record to OTLP (off-host copies). */
  emit?: (line: string, record: SignedRecord) => void;
  onError: (error: unknown) => void;
}

export class TrailSealer {
  readonly chain: IntegrityChain;
  readonly trail: TrailState;
  /** Whether this writer resumed an earlier process's chain. */
  readonly resumed: boolean;
  private readonly slot: WriterSlot;
  private readonly fsKey?: ForwardSecureKey;
  private readonly keyId: string | null;
  private lastCheckpointAt = 0;
  private lastCheckpointSeq = -1;
  private dueScheduled = false;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Checkpoints written by this process. */
  written = 0;

  constructor(private readonly options: TrailSealerOptions) {
    this.keyId = options.key ? hmacKeyId(options.key) : null;
    this.trail = openTrailState(options.logDir, this.keyId);
    this.slot = WriterSlot.claim(options.stateDir, options.logDir, options.auditBaseName);
    this.resumed = this.slot.resumed;
    const { chain_id, seq, hash } = this.slot.state;
    this.chain = new IntegrityChain(options.key, { chainId: chain_id, seq, hash, genesis: genesisHash(this.trail.trail_id, chain_id) });
    this.chain.onDue = () => this.scheduleDue();
    if (options.forwardSecure) {
      this.fsKey = ForwardSecureKey.open(options.stateDir, options.signingKey, options.forwardSecure.epochMs);
      this.fsKey.advance(Date.now(), (change) => this.handOver(change));
      if (options.signingKeyPath && existsSync(options.signingKeyPath)) {
        options.onWarning?.(
          `forward security: the initial signing key ${options.signingKeyPath} is still on this host; ${this.fsKey.created ? "its key now evolves in the log folder: " : ""}remove it, or whoever reads it can sign for any epoch`,
        );
      }
    }
    this.checkpoint("start");
  }

  /** Whether checkpoints are signed (a signing key, or a forward-secure key in the folder). */
  get signing(): boolean {
    return this.fsKey !== undefined || this.options.signingKey !== undefined;
  }

  get chainId(): string {
    return this.chain.chainId;
  }

  /** Sets the timer for the next interval checkpoint or epoch handover (unref'd: it never keeps the process alive). */
  private arm(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    let due = this.lastCheckpointAt + this.options.checkpoints.intervalMs;
    if (this.fsKey) due = Math.min(due, this.fsKey.startOf(this.fsKey.key.epoch + 1));
    this.timer = setTimeout(() => this.tick(), Math.max(0, due - Date.now()));
    this.timer.unref();
  }

  /** An interval checkpoint (or heartbeat) when due, an epoch handover when its time has come. */
  tick(now = Date.now()): void {
    if (this.closed) return;
    try {
      if (this.fsKey && this.fsKey.epochAt(now) > this.fsKey.key.epoch) {
        // The old epoch's key vouches for the head one last time, then hands over and is erased.
        this.checkpoint("epoch-end");
        this.fsKey.advance(now, (change) => this.handOver(change));
        this.arm();
        return;
      }
      if (now - this.lastCheckpointAt >= this.options.checkpoints.intervalMs) {
        this.checkpoint(this.chain.head().seq === this.lastCheckpointSeq ? "heartbeat" : "interval");
      }
    } catch (error) {
      this.options.onError(error);
    }
    this.arm();
  }

  private scheduleDue(): void {
    if (this.dueScheduled || this.closed) return;
    this.dueScheduled = true;
    // After the call that made it due: the log call itself pays nothing.
    setImmediate(() => {
      this.dueScheduled = false;
      try {
        if (!this.closed) this.checkpoint("records");
      } catch (error) {
        this.options.onError(error);
      }
    });
  }

  /**
   * Saves the writer's head (and signs a checkpoint of it when signing): the
   * audit file's buffered lines are written first, so the head is on disk.
   */
  checkpoint(reason: string): void {
    const { audit, digest } = this.options;
    const fsKey = this.fsKey;
    if (fsKey && fsKey.epochAt(Date.now()) > fsKey.key.epoch) {
      // The epoch is over: its key may still vouch for the head right at its end (the timer fires late by
      // a little), never long after; past that the key hands over first and the new one signs.
      const late = Date.now() - fsKey.startOf(fsKey.key.epoch + 1);
      if (late > fsKey.epochMs / EPOCH_END_GRACE_PARTS || reason !== "epoch-end") {
        fsKey.advance(Date.now(), (change) => this.handOver(change));
        if (reason === "epoch-end") reason = "interval";
      }
    }
    audit.flushSync();
    const head = this.chain.head();
    const now = Date.now();
    const state = this.slot.state;
    if (this.signing && digest) {
      const record: CheckpointRecord = {
        type: "checkpoint",
        v: 1,
        trail: this.trail.trail_id,
        writer: this.chain.chainId,
        n: (state.checkpoint?.n ?? 0) + 1,
        time: new Date(now).toISOString(),
        reason,
        seq: head.seq,
        hash: head.hash,
        line_time: head.lineTime || state.line_time,
        interval_ms: this.options.checkpoints.intervalMs,
        writers: this.knownWriters(),
        key_id: this.keyId,
        epoch: this.fsKey?.key.epoch ?? 0,
        prev: state.checkpoint?.digest ?? "",
      };
      const line = signRecord(record, this.fsKey?.key.key ?? (this.options.signingKey as KeyObject));
      digest.write(`${line}\n`);
      state.checkpoint = { n: record.n, digest: recordDigest(line), time: record.time };
      this.written++;
      this.options.emit?.(line, record);
    }
    state.seq = head.seq;
    state.hash = head.hash;
    if (head.lineTime) state.line_time = head.lineTime;
    const position = audit.position();
    if (position) state.position = { inode: position.inode, offset: position.size };
    this.slot.save();
    this.lastCheckpointAt = now;
    this.lastCheckpointSeq = head.seq;
    this.chain.dueWhen(head.seq + this.options.checkpoints.records);
    this.arm();
  }

  /** Writes the handover of the epoch key (signed by the key being erased), naming every writer's latest checkpoint. */
  private handOver(change: Parameters<Parameters<ForwardSecureKey["advance"]>[1]>[0]): void {
    const heads: Record<string, string> = {};
    for (const writer of readWriterStates(this.options.stateDir)) {
      if (writer.checkpoint) heads[writer.chain_id] = writer.checkpoint.digest;
    }
    if (this.slot.state.checkpoint) heads[this.chain.chainId] = this.slot.state.checkpoint.digest;
    const fsKey = this.fsKey;
    const record: EpochRecord = {
      type: "epoch",
      v: 1,
      trail: this.trail.trail_id,
      epoch: change.epoch,
      from: change.from,
      start: new Date(change.start).toISOString(),
      origin: new Date(fsKey ? fsKey.origin : 0).toISOString(),
      epoch_ms: fsKey?.epochMs ?? 0,
      public_key: change.publicKey,
      heads,
      time: new Date().toISOString(),
    };
    const line = change.signWithPrevious((key) => signRecord(record, key));
    this.options.digest?.write(`${line}\n`);
    this.options.emit?.(line, record);
  }

  private knownWriters(): string[] {
    try {
      return readdirSync(join(this.options.stateDir, "writers"))
        .filter((name) => name.endsWith(".json"))
        .map((name) => name.slice(0, -".json".length))
        .sort();
    } catch {
      return [this.chain.chainId];
    }
  }

  /** The last checkpoint (`reason`: shutdown, or exit when the process ends without one), then lets the writer go. */
  close(reason = "shutdown"): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    try {
      this.slot.state.closed = true;
      this.checkpoint(reason);
    } finally {
      this.slot.release();
      this.fsKey?.erase();
    }
  }
}
