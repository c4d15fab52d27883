import { readdirSync } from "node:fs";

/** One file of a trail: the active file (`audit.jsonl`) or a rotated backup (`audit.jsonl.3`). */
export interface TrailFileName {
  name: string;
  /** 0 for the active file, N for `<base>.N` (1 is the newest backup). */
  backup: number;
}

/**
 * The files of one trail in the order their entries were written: the oldest
 * backup first, the active file last. A folder that does not exist (yet) has none.
 */
export function listTrailFiles(dir: string, baseName: string): TrailFileName[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const files: TrailFileName[] = [];
  for (const name of names) {
    if (name === baseName) files.push({ name, backup: 0 });
    else if (name.startsWith(`${baseName}.`)) {
      const suffix = name.slice(baseName.length + 1);
      if (/^[1-9]\d{0,5}$/.test(suffix)) files.push({ name, backup: Number(suffix) });
    }
  }
  return files.sort((a, b) => b.backup - a.backup);
}
