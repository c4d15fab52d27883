/**
 * What a sealed trail says about itself, in `.auditx/trail.json` beside it:
 * its id (which every chain's first line is bound to, so lines spliced in
 * from another trail do not pass), since when it is sealed, and whether with
 * a key (so a keyed trail re-sealed without the key, or verified without
 * it, is not taken for intact).
 */
import { createHash, createHmac, randomBytes } from "node:crypto";
import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const STATE_DIR = ".auditx";
const TRAIL_FILE = "trail.json";

export interface TrailState {
  trail_id: string;
  created: string;
  /** Set once a writer seals with an HMAC key: from then on every line must be keyed. */
  key_id: string | null;
  keyed_since: string | null;
}

/** The folder of auditx's own state inside a log folder. */
export function stateDirOf(logDir: string): string {
  return join(logDir, STATE_DIR);
}

/** The id naming an HMAC key (never the key itself). */
export function hmacKeyId(key: string): string {
  return createHmac("sha256", key).update("auditx key id").digest("base64url").slice(0, 16);
}

/** The prev_hash of a chain's first line: bound to the trail and the chain. */
export function genesisHash(trailId: string, chainId: string): string {
  return createHash("sha256").update(`auditx genesis\n${trailId}\n${chainId}`).digest("base64url").slice(0, 22);
}

export function readTrailState(logDir: string): TrailState | undefined {
  try {
    const state = JSON.parse(readFileSync(join(stateDirOf(logDir), TRAIL_FILE), "utf8")) as Partial<TrailState>;
    if (typeof state.trail_id !== "string") return undefined;
    return {
      trail_id: state.trail_id,
      created: String(state.created ?? ""),
      key_id: typeof state.key_id === "string" ? state.key_id : null,
      keyed_since: typeof state.keyed_since === "string" ? state.keyed_since : null,
    };
  } catch {
    return undefined;
  }
}

/**
 * The trail's state, created by the first sealing writer (exclusively: several
 * processes may start at once). A writer with a key on a trail sealed without
 * one until now records that the trail is keyed from now on.
 */
export function openTrailState(logDir: string, keyId: string | null): TrailState {
  const dir = stateDirOf(logDir);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, TRAIL_FILE);
  let state = readTrailState(logDir);
  if (!state) {
    const now = new Date().toISOString();
    const fresh: TrailState = {
      trail_id: randomBytes(12).toString("base64url"),
      created: now,
      key_id: keyId,
      keyed_since: keyId ? now : null,
    };
    // Written aside and linked into place: a reader never sees a half-written file, and of two writers one wins.
    const temp = `${path}.${process.pid}.${randomBytes(3).toString("hex")}.tmp`;
    writeFileSync(temp, `${JSON.stringify(fresh)}\n`, { mode: 0o644 });
    try {
      linkSync(temp, path);
      return fresh;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      state = readTrailState(logDir);
      if (!state) throw error;
    } finally {
      unlinkSync(temp);
    }
  }
  if (keyId && !state.key_id) {
    state = { ...state, key_id: keyId, keyed_since: new Date().toISOString() };
    const temp = `${path}.${process.pid}.tmp`;
    writeFileSync(temp, `${JSON.stringify(state)}\n`, { mode: 0o644 });
    renameSync(temp, path);
  }
  return state;
}
