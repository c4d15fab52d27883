/**
 * The segments of one trail, in the order their entries were written. Every
 * reader of the trail (the viewer, verify, shippers) lists them here.
 *
 * A trail named `audit.jsonl` has: the live file `audit.jsonl`; rotated
 * segments `audit.<yyyymmddThhmmss.mmmZ>.<6 hex>.jsonl` (UTC, so names sort
 * by time), compressed in the background to the same name plus `.gz`; and
 * legacy numbered backups `audit.jsonl.N` written by the original auditX or
 * older auditx, older than any time-named segment (N = 1 is the newest).
 *
 * A segment's identity is its name without `.gz` (`TrailSegment.id`): the
 * compressed form holds exactly the same bytes, so a reader's cursor (segment
 * id, byte offset or line number in the uncompressed content) stays valid
 * when `x.jsonl` becomes `x.jsonl.gz`.
 */
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { extname, join } from "node:path";

export interface TrailSegment {
  /** File name in the trail's folder. */
  name: string;
  /** The segment's identity: its name without `.gz`, the same before and after compression. */
  id: string;
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

const STAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z\.[0-9a-f]{6}$/;
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
    id: name.endsWith(".gz") ? name.slice(0, -3) : name,
    path: join(dir, name),
    live: isLive,
    compressed: name.endsWith(".gz"),
  });
  const segments = numbered.sort((a, b) => b.n - a.n).map(({ name }) => segment(name, false));
  for (const plain of [...stamped.keys()].sort()) segments.push(segment(stamped.get(plain) as string, false));
  if (live) segments.push(segment(baseName, true));
  return segments;
}

/** `20261202T174345.123Z`: a time as the UTC stamp of a rotated segment's name. */
function stampOf(millis: number): string {
  const iso = new Date(millis).toISOString(); // 2026-12-02T17:43:45.123Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 23)}Z`;
}

/**
 * The name a trail file takes when it is rotated at `millis`: `audit.jsonl`
 * becomes `audit.<stamp>.<6 random hex>.jsonl`. Names sort by time; the random
 * part keeps two rotations of one millisecond (two hosts sharing a folder) apart.
 */
export function rotatedSegmentName(baseName: string, millis: number): string {
  const { stem, ext } = trailNameParts(baseName);
  return `${stem}.${stampOf(millis)}.${randomBytes(3).toString("hex")}${ext}`;
}

/**
 * When a time-named segment was rotated (ms since the epoch), read from its
 * name (plain or `.gz`); undefined for the live file and legacy backups.
 */
export function segmentRotatedAt(baseName: string, name: string): number | undefined {
  const { stem, ext } = trailNameParts(baseName);
  const plain = name.endsWith(".gz") ? name.slice(0, -3) : name;
  if (!plain.startsWith(`${stem}.`) || !plain.endsWith(ext)) return undefined;
  const match = STAMP.exec(plain.slice(stem.length + 1, plain.length - ext.length));
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, ms] = match.map(Number) as number[];
  return Date.UTC(y as number, (mo as number) - 1, d, h, mi, s, ms);
}
