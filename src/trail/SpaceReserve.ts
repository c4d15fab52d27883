/**
 * A few blocks of the log folder's disk held back for the moment it fills:
 * a write that fails part-way leaves the start of a record in the file, and
 * ending it with a newline needs one more block, which a full disk does not
 * have. Freeing the reserve gives it back, so the fragment is closed at once
 * and no later record (of this or another process) is glued onto it. Each
 * process keeps its own small file under `.auditx/`; files of processes that
 * died on this host are removed at start.
 */
import { closeSync, mkdirSync, openSync, readdirSync, unlinkSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { threadId } from "node:worker_threads";
import { isProcessAlive } from "../internal/fileLock.js";

const RESERVE_BYTES = 64 * 1024;
const PREFIX = "space-reserve.";

export class SpaceReserve {
  private readonly path: string;
  private held = false;

  constructor(private readonly stateDir: string) {
    this.path = join(stateDir, `${PREFIX}${hostname()}.${process.pid}.${threadId}`);
  }

  /** Makes sure the reserve is on disk (best effort: a full or read-only disk simply has none). */
  hold(): boolean {
    if (this.held) return true;
    let fd = -1;
    try {
      mkdirSync(this.stateDir, { recursive: true });
      fd = openSync(this.path, "w", 0o600);
      // Real zeros, not a sparse file: the blocks must be allocated to be given back.
      const zeros = Buffer.alloc(RESERVE_BYTES);
      let written = 0;
      while (written < RESERVE_BYTES) written += writeSync(fd, zeros, written, RESERVE_BYTES - written);
      this.held = true;
    } catch {
      this.dropFile();
    } finally {
      if (fd >= 0) closeSync(fd);
    }
    return this.held;
  }

  /** Gives the reserved blocks back to the disk; true when there were any. */
  release(): boolean {
    if (!this.held) return false;
    this.held = false;
    this.dropFile();
    return true;
  }

  get holding(): boolean {
    return this.held;
  }

  private dropFile(): void {
    try {
      unlinkSync(this.path);
    } catch {
      // Not there: nothing to give back.
    }
  }

  /** Removes reserves left by processes of this host that are gone. */
  static removeAbandoned(stateDir: string): void {
    let names: string[];
    try {
      names = readdirSync(stateDir);
    } catch {
      return;
    }
    const host = hostname();
    for (const name of names) {
      if (!name.startsWith(`${PREFIX}${host}.`)) continue;
      const pid = Number(name.slice(PREFIX.length + host.length + 1).split(".")[0]);
      if (pid === process.pid || isProcessAlive(pid)) continue;
      try {
        unlinkSync(join(stateDir, name));
      } catch {
        // Removed by another process meanwhile.
      }
    }
  }
}
