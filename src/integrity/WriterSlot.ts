/**
 * A writer's identity that outlives its process: the chain a process seals
 * lines into continues when the process restarts, so that a restart is no
 * place to hide deleted lines. Each writer has a state file under
 * `.auditx/writers/` (its chain id, head, last checkpoint, and where in the
 * trail it last saved) and a lock its process holds while it runs. A starting
 * process takes a writer whose process is gone (several workers of a cluster
 * each take one), or begins a new one. The head it resumes from is the saved
 * one moved forward by whatever its chain wrote after the save (a crash
 * between two saves), read from the trail itself.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { acquireLongLivedLock, type HeldLock } from "../internal/fileLock.js";
import { forEachSegmentLineSync } from "../trail/segmentReader.js";
import { listTrailSegments, segmentRotatedAt } from "../trail/segments.js";
import { lineTimestamp, readSealTail } from "./sealTail.js";

export interface WriterState {
  chain_id: string;
  /** The chain head: last sequence number and hash written, and that line's timestamp. */
  seq: number;
  hash: string;
  line_time: string;
  /** The writer's latest checkpoint (number, digest, time), or null before its first. */
  checkpoint: { n: number; digest: string; time: string } | null;
  /** The live trail file and its size when the state was saved: where a restart reads on from. */
  position: { inode: number; offset: number } | null;
  pid: number;
  host: string;
  updated: string;
  /** Saved at a clean shutdown. */
  closed: boolean;
}

const WRITERS_DIR = "writers";
/** Saves lag the trail by less than this (rotation stamps and save times are compared with it to spare). */
const SAVE_SLACK_MS = 5000;

function safeHost(): string {
  return (
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, "_")
      .slice(0, 64) || "host"
  );
}

export class WriterSlot {
  private constructor(
    private readonly dir: string,
    private readonly lock: HeldLock,
    readonly state: WriterState,
    /** Whether this writer existed before (a restart) rather than starting a chain. */
    readonly resumed: boolean,
  ) {}

  get chainId(): string {
    return this.state.chain_id;
  }

  /**
   * Takes over a writer whose process is gone (the most recently saved first),
   * or starts a new one; its head is brought up to date from the trail.
   */
  static claim(stateDir: string, logDir: string, auditBaseName: string): WriterSlot {
    const dir = join(stateDir, WRITERS_DIR);
    mkdirSync(dir, { recursive: true });
    const known = readdirSync(dir)
      .filter((name) => name.endsWith(".json"))
      .map((name) => ({ name, mtime: statSync(join(dir, name), { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
      .sort((a, b) => b.mtime - a.mtime);
    for (const { name } of known) {
      const chainId = name.slice(0, -".json".length);
      const lock = acquireLongLivedLock(join(dir, `${chainId}.lock`), "writer");
      if (!lock) continue;
      const saved = readState(join(dir, name));
      if (!saved || saved.chain_id !== chainId) {
        lock.release();
        continue;
      }
      const state = recoverHead(saved, logDir, auditBaseName);
      const slot = new WriterSlot(dir, lock, { ...state, pid: process.pid, host: hostname(), closed: false }, true);
      slot.save();
      return slot;
    }
    for (;;) {
      const chainId = `${safeHost()}-${randomBytes(3).toString("hex")}`;
      if (statSync(join(dir, `${chainId}.json`), { throwIfNoEntry: false })) continue;
      const lock = acquireLongLivedLock(join(dir, `${chainId}.lock`), "writer");
      if (!lock) continue;
      const state: WriterState = {
        chain_id: chainId,
        seq: 0,
        hash: "",
        line_time: "",
        checkpoint: null,
        position: null,
        pid: process.pid,
        host: hostname(),
        updated: new Date().toISOString(),
        closed: false,
      };
      const slot = new WriterSlot(dir, lock, state, false);
      slot.save();
      return slot;
    }
  }

  /** Writes the state (atomically: aside, then renamed over). */
  save(): void {
    this.state.updated = new Date().toISOString();
    const path = join(this.dir, `${this.state.chain_id}.json`);
    const temp = `${path}.${process.pid}.tmp`;
    writeFileSync(temp, `${JSON.stringify(this.state)}\n`, { mode: 0o644 });
    renameSync(temp, path);
  }

  /** Lets another process take this writer over. */
  release(): void {
    this.lock.release();
  }
}

/** Every writer known in a log folder, with its saved state (for checkpoints and verify). */
export function readWriterStates(stateDir: string): WriterState[] {
  const dir = join(stateDir, WRITERS_DIR);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const states: WriterState[] = [];
  for (const name of names) {
    if (!name.endsWith(".json")) continue;
    const state = readState(join(dir, name));
    if (state) states.push(state);
  }
  return states;
}

function readState(path: string): WriterState | undefined {
  try {
    const state = JSON.parse(readFileSync(path, "utf8")) as WriterState;
    if (typeof state.chain_id !== "string" || typeof state.seq !== "number" || typeof state.hash !== "string") return undefined;
    return state;
  } catch {
    return undefined;
  }
}

/**
 * The saved head moved forward by the chain's lines written after the save:
 * from the saved position in the file it was saved in (found by inode), or,
 * when that file was rotated and compressed since, from every segment rotated
 * after the save, then the live file.
 */
function recoverHead(saved: WriterState, logDir: string, auditBaseName: string): WriterState {
  const state = { ...saved };
  const marker = Buffer.from(`,"chain_id":${JSON.stringify(saved.chain_id)},"seq":`);
  const onLine = (line: Buffer) => {
    if (line.indexOf(marker) === -1) return;
    const seal = readSealTail(line);
    if (!seal || seal.chainId !== saved.chain_id || seal.seq <= state.seq) return;
    state.seq = seal.seq;
    state.hash = seal.hash;
    state.line_time = lineTimestamp(line);
  };
  const segments = listTrailSegments(logDir, auditBaseName);
  const savedAt = Date.parse(saved.updated) || 0;
  let from = -1;
  let offset = 0;
  if (saved.position) {
    for (let i = segments.length - 1; i >= 0 && from === -1; i--) {
      const segment = segments[i] as (typeof segments)[number];
      if (segment.compressed) continue;
      const rotatedAt = segmentRotatedAt(auditBaseName, segment.name);
      if (rotatedAt !== undefined && rotatedAt < savedAt - SAVE_SLACK_MS) break;
      if (statSync(segment.path, { throwIfNoEntry: false })?.ino === saved.position.inode) {
        from = i;
        offset = saved.position.offset;
      }
    }
  }
  if (from === -1) {
    from = segments.findIndex((segment) => segment.live || (segmentRotatedAt(auditBaseName, segment.name) ?? 0) >= savedAt - SAVE_SLACK_MS);
    offset = 0;
  }
  if (from === -1) return state;
  for (let i = from; i < segments.length; i++) {
    try {
      forEachSegmentLineSync(segments[i] as (typeof segments)[number], onLine, i === from ? offset : 0);
    } catch {
      // Rotated or compressed while being read: what was read stands.
    }
  }
  return state;
}
