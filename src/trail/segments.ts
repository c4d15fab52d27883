/**
 * The segments of one trail, in the order their entries were written. Every
 * reader of the trail (the viewer, verify, shippers) lists them here.
 *
 * A trail named `audit.jsonl` has: the live file `audit.jsonl`; rotated
 * segments `audit.<yyyymmddThhmmss.mmmZ>.<6 hex>.jsonl` (UTC, so names sort
 * by time), compressed in the background to the same name plus `.gz`; and
 * legacy numbered backups `audit.jsonl.N` written by the original auditX or
 * older auditx, older than any time-named segment (N = 1 is the newest).
 */
import { readdirSync } from "node:fs";
import { extname, join } from "node:path";

export interface TrailSegment {
  /** File name in the trail's folder. */
  name: string;
  path: string;
  /** The live file, still being appended to. */
  live: boolean;
  /** A gzip-compressed segment. */
  compressed: boolean;
}

/** A trail file name split around the place a rotated segment's stamp goes: `audit` + `.jsonl`. */
export function trailNameParts(baseName: string): { stem: string; ext: string } {
  const ext = extname(baseName);
  return ext === "" || ext === baseName ? { stem: baseName, ext: "" } : { stem: baseName.slice(0, -ext.length), ext };
}

const STAMP = /^\d{8}T\d{6}\.\d{3}Z\.[0-9a-f]{6}$/;
const BACKUP_NUMBER = /^[1-9]\d{0,5}$/;

/**
 * The segments of the trail `baseName` in `dir`, oldest first, the live file
 * last. A folder that does not exist (yet) has none. A segment present both
 * plain and compressed (its compression just finished) is listed once, plain.
 */
export function listTrailSegments(dir: string, baseName: string): TrailSegment[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const { stem, ext } = trailNameParts(baseName);
  const numbered: { name: string; n: number }[] = [];
  const stamped = new Map<string, string>();
  let live = false;
  for (const name of names) {
    if (name === baseName) {
      live = true;
      continue;
    }
    if (name.startsWith(`${baseName}.`)) {
      const suffix = name.slice(baseName.length + 1);
      if (BACKUP_NUMBER.test(suffix)) {
        numbered.push({ name, n: Number(suffix) });
        continue;
      }
    }
    const plain = name.endsWith(".gz") ? name.slice(0, -3) : name;
    if (!plain.startsWith(`${stem}.`) || !plain.endsWith(ext)) continue;
    const stamp = plain.slice(stem.length + 1, plain.length - ext.length);
    if (!STAMP.test(stamp)) continue;
    if (plain === name || !stamped.has(plain)) stamped.set(plain, name);
  }
  const segment = (name: string, isLive: boolean): TrailSegment => ({
    name,
    path: join(dir, name),
    live: isLive,
    compressed: name.endsWith(".gz"),
  });
  const segments = numbered.sort((a, b) => b.n - a.n).map(({ name }) => segment(name, false));
  for (const plain of [...stamped.keys()].sort()) segments.push(segment(stamped.get(plain) as string, false));
  if (live) segments.push(segment(baseName, true));
  return segments;
}
