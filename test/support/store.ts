/** Helpers of the PostgreSQL store tests: the journal's entries as the store must hold them, and the store's rows. */
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import type pg from "pg";
import { expect } from "vitest";
import { entryIdOf } from "../../src/index.js";
import { listTrailSegments } from "../../src/trail/segments.js";

/** The id of every entry line of a trail's segments (rotated and compressed ones too), in order; malformed lines counted. */
export function journalIds(dir: string, trail = "audit.jsonl"): { ids: string[]; malformed: number } {
  const ids: string[] = [];
  let malformed = 0;
  for (const segment of listTrailSegments(dir, trail)) {
    const bytes = readFileSync(segment.path);
    const text = (segment.compressed ? gunzipSync(bytes) : bytes).toString("utf8");
    for (const raw of text.split("\n")) {
      const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (line.trim() === "") continue;
      let dict: unknown;
      try {
        dict = JSON.parse(line);
      } catch {
        malformed++;
        continue;
      }
      if (dict === null || typeof dict !== "object" || Array.isArray(dict)) malformed++;
      else ids.push(entryIdOf(dict as Record<string, unknown>, line));
    }
  }
  return { ids, malformed };
}

/** The store holds exactly these entries, each once. */
export async function expectStoredExactlyOnce(client: pg.Client, expected: string[], schema = "auditx"): Promise<void> {
  const { rows } = await client.query(`SELECT id::text AS id FROM "${schema}".entries`);
  const stored = rows.map((row: { id: string }) => row.id);
  const counts = new Map<string, number>();
  for (const id of stored) counts.set(id, (counts.get(id) ?? 0) + 1);
  const duplicated = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
  const wanted = new Set(expected);
  const missing = [...wanted].filter((id) => !counts.has(id));
  const unexpected = stored.filter((id) => !wanted.has(id));
  expect(duplicated.slice(0, 10), "entries stored more than once").toEqual([]);
  expect(missing.slice(0, 10), `entries missing from the store (${missing.length})`).toEqual([]);
  expect(unexpected.slice(0, 10), "entries in the store that are not in the journal").toEqual([]);
  expect(stored.length).toBe(wanted.size);
}

/** The total the per-day counts give (what the viewer shows as the trail's total). */
export async function countedTotal(client: pg.Client, schema = "auditx"): Promise<number> {
  const { rows } = await client.query(`SELECT coalesce(sum(entries), 0)::int AS n FROM "${schema}".counts WHERE dim = ''`);
  return rows[0].n;
}
