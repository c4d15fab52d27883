/**
 * A row of the entries table back as the trail line's object (snake_case
 * fields in the trail's order, empty ones left out, then the fields the trail
 * does not know), exactly what the JSONL trail gives for the same line: with
 * its `id`, the one derived from the line when it was written without one.
 */
import { entryFromDict } from "../entry/entryFromDict.js";
import { entryToDict } from "../entry/jsonl.js";
import { FIELD_COLUMNS } from "./columns.js";

/** The columns a SELECT must return for rowDict: every trail field, `extra` and `id_derived`. */
export const DICT_COLUMNS = [...FIELD_COLUMNS.map((column) => column.name), "extra", "id_derived"];

/** A row as node-postgres returns it: numeric and bigint as text, jsonb parsed, uuid as text. */
export type EntryRow = Record<string, unknown>;

export function rowDict(row: EntryRow): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const column of FIELD_COLUMNS) {
    const value = row[column.name];
    if (value === null || value === undefined) continue;
    fields[column.name] = column.kind === "number" || column.kind === "seq" ? Number(value) : value;
  }
  const dict = entryToDict(entryFromDict(fields)) as Record<string, unknown>;
  const extra = row.extra as Record<string, unknown> | null;
  if (extra) for (const key in extra) dict[key] = extra[key];
  return dict;
}
