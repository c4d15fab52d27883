/**
 * Entries as the viewer can always show them. A trail line is written by any
 * process (or edited by hand): one nested thousands of levels deep parses,
 * but cannot be serialised back (JSON.stringify overflows the stack), which
 * would turn a page, an entry, a stream or an export into an error. Such an
 * entry is shown flattened instead: every value at MAX_VIEW_DEPTH is replaced
 * by a text preview of it, and the entry carries a `viewer_note`.
 */
import type { TrailEntry } from "./TrailSource.js";

/** The deepest nesting shown as is (the logger itself writes at most 8 levels). */
export const MAX_VIEW_DEPTH = 64;
/** The longest preview of a value cut at MAX_VIEW_DEPTH. */
const PREVIEW_CHARS = 200;
/** The field that marks an entry the viewer shows differently from its line. */
export const VIEWER_NOTE = "viewer_note";

/** Whether a value nests deeper than `limit` levels (without recursion: the value may be arbitrarily deep). */
export function exceedsDepth(value: unknown, limit = MAX_VIEW_DEPTH): boolean {
  if (value === null || typeof value !== "object") return false;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (depth > limit) return true;
    const items = Array.isArray(current) ? current : Object.values(current as object);
    for (const item of items) if (item !== null && typeof item === "object") stack.push([item, depth + 1]);
  }
  return false;
}

/** The start of a value's JSON, at most `max` characters, built without recursion. */
export function jsonPreview(value: unknown, max = PREVIEW_CHARS): string {
  let text = "";
  // Each item is a piece of text to write, or a value to expand.
  const work: Array<{ text: string } | { value: unknown }> = [{ value }];
  while (work.length > 0 && text.length < max) {
    const item = work.pop()!;
    if ("text" in item) {
      text += item.text;
      continue;
    }
    const current = item.value;
    if (current === null || typeof current !== "object") {
      text += JSON.stringify(current) ?? "null";
      continue;
    }
    const isArray = Array.isArray(current);
    const entries = isArray ? (current as unknown[]).map((v) => [null, v] as const) : Object.entries(current as object);
    const pieces: Array<{ text: string } | { value: unknown }> = [{ text: isArray ? "[" : "{" }];
    entries.forEach(([key, v], index) => {
      if (index > 0) pieces.push({ text: "," });
      if (!isArray) pieces.push({ text: `${JSON.stringify(key)}:` });
      pieces.push({ value: v });
    });
    pieces.push({ text: isArray ? "]" : "}" });
    for (let i = pieces.length - 1; i >= 0; i--) work.push(pieces[i]!);
  }
  return text.length > max ? `${text.slice(0, max)}…` : work.length > 0 ? `${text}…` : text;
}

function flatten(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== "object") return value;
  if (depth >= MAX_VIEW_DEPTH) return `[nested deeper than ${MAX_VIEW_DEPTH} levels] ${jsonPreview(value)}`;
  if (Array.isArray(value)) return value.map((item) => flatten(item, depth + 1));
  const result: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    Object.defineProperty(result, key, { value: flatten(item, depth + 1), enumerable: true, writable: true, configurable: true });
  }
  return result;
}

/** The entry itself when it can be shown as is; else a flattened copy with a `viewer_note`. */
export function viewableEntry(entry: TrailEntry): TrailEntry {
  if (!exceedsDepth(entry)) return entry;
  const flat = flatten(entry, 0) as TrailEntry;
  flat[VIEWER_NOTE] = `nested deeper than ${MAX_VIEW_DEPTH} levels: the deeper values are shown as text`;
  return flat;
}

/** viewableEntry over a list (a page, an export batch). */
export function viewableEntries(entries: TrailEntry[]): TrailEntry[] {
  let copy: TrailEntry[] | null = null;
  for (let i = 0; i < entries.length; i++) {
    const viewable = viewableEntry(entries[i]!);
    if (viewable !== entries[i]) (copy ??= [...entries])[i] = viewable;
  }
  return copy ?? entries;
}
