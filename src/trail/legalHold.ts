/**
 * A legal hold on a log folder: while the marker file `legal-hold` exists in
 * it, nothing of the trail is pruned, whatever the retention policy says.
 * `auditx hold on|off` writes and removes it; an operator may also create it
 * by hand (any content).
 */
import { readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname, userInfo } from "node:os";
import { join } from "node:path";

export const LEGAL_HOLD_FILE = "legal-hold";

export interface LegalHold {
  since: string;
  by?: string;
  reason?: string;
}

/** The hold on `logDir`, or undefined when there is none. */
export function readLegalHold(logDir: string): LegalHold | undefined {
  const path = join(logDir, LEGAL_HOLD_FILE);
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return undefined;
  let hold: LegalHold = { since: stat.mtime.toISOString() };
  try {
    const text = readFileSync(path, "utf8").trim();
    if (text) {
      const parsed = JSON.parse(text) as Partial<LegalHold>;
      hold = {
        since: typeof parsed.since === "string" ? parsed.since : hold.since,
        by: typeof parsed.by === "string" ? parsed.by : undefined,
        reason: typeof parsed.reason === "string" ? parsed.reason : undefined,
      };
    }
  } catch {
    // A hand-made marker with free text: a hold all the same.
  }
  return hold;
}

/** Puts the folder on hold (keeping an existing hold's start) or lifts it. */
export function setLegalHold(logDir: string, on: boolean, reason?: string): LegalHold | undefined {
  const path = join(logDir, LEGAL_HOLD_FILE);
  if (!on) {
    const previous = readLegalHold(logDir);
    try {
      unlinkSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    return previous;
  }
  const existing = readLegalHold(logDir);
  let by: string;
  try {
    by = `${userInfo().username}@${hostname()}`;
  } catch {
    by = hostname();
  }
  const hold: LegalHold = { since: existing?.since ?? new Date().toISOString(), by, reason: reason ?? existing?.reason };
  writeFileSync(path, `${JSON.stringify(hold)}\n`, { mode: 0o644 });
  return hold;
}
