/**
 * A trail line longer than maxLineBytes is not read whole (one line could
 * otherwise take the viewer's memory): it is shown from its first and last
 * bytes, as the fields that are complete there (the id, service and integrity
 * fields come last in auditx's lines), a cut string value marked with "…",
 * and a `viewer_note` saying how long the line is.
 */
import { readSync } from "node:fs";
import type { TrailEntry } from "./TrailSource.js";
import { VIEWER_NOTE } from "./viewableEntry.js";

/** How much of the start of a too-long line is read to show it. */
export const TRUNCATED_PREFIX_BYTES = 64 * 1024;
/** How much of its end. */
export const TRUNCATED_SUFFIX_BYTES = 16 * 1024;
/** Places in the end tried as the start of the line's last fields. */
const SUFFIX_ATTEMPTS = 64;

function skipSpace(text: string, at: number): number {
  let i = at;
  while (i < text.length && (text[i] === " " || text[i] === "\t" || text[i] === "\r" || text[i] === "\n")) i++;
  return i;
}

/** The index just past the string starting at `at` (a quote), or -1 when the text ends inside it. */
function stringEnd(text: string, at: number): number {
  for (let i = at + 1; i < text.length; i++) {
    const char = text[i];
    if (char === "\\") i++;
    else if (char === '"') return i + 1;
  }
  return -1;
}

/** The index just past the object or array starting at `at`, or -1 when the text ends inside it. */
function containerEnd(text: string, at: number): number {
  let depth = 0;
  for (let i = at; i < text.length; i++) {
    const char = text[i];
    if (char === '"') {
      const end = stringEnd(text, i);
      if (end < 0) return -1;
      i = end - 1;
    } else if (char === "{" || char === "[") depth++;
    else if (char === "}" || char === "]") {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

/** The start of a string value cut by the end of the prefix, decoded as far as it is whole. */
function cutString(text: string, at: number): string {
  const body = text.slice(at + 1);
  // An escape cut in its middle ("\\", "\\u12") does not parse: drop up to its six characters.
  for (let drop = 0; drop <= 6 && drop <= body.length; drop++) {
    try {
      return `${JSON.parse(`"${body.slice(0, body.length - drop)}"`) as string}…`;
    } catch {
      // one character fewer
    }
  }
  return "…";
}

/**
 * The complete fields at the end of a line: the text after the first `,"`
 * that makes the rest a JSON object by itself (one inside a nested value or
 * a string leaves brackets or quotes unbalanced, and does not parse).
 */
function lastFields(suffix: string): Record<string, unknown> {
  const text = suffix.trimEnd();
  if (!text.endsWith("}")) return {};
  let at = text.indexOf(',"');
  for (let attempt = 0; at >= 0 && attempt < SUFFIX_ATTEMPTS; attempt++) {
    try {
      const parsed = JSON.parse(`{${text.slice(at + 1)}`) as unknown;
      if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    } catch {
      // not a member boundary
    }
    at = text.indexOf(',"', at + 2);
  }
  return {};
}

/** The entry shown for a line of `totalBytes` bytes of which `prefix` is the start and `suffix` the end. */
export function truncatedEntry(prefix: string, suffix: string, totalBytes: number, maxLineBytes: number): TrailEntry {
  const entry: TrailEntry = {};
  let i = skipSpace(prefix, 0);
  if (prefix[i] === "{") {
    i++;
    for (;;) {
      i = skipSpace(prefix, i);
      if (prefix[i] !== '"') break;
      const keyEnd = stringEnd(prefix, i);
      if (keyEnd < 0) break;
      let key: string;
      try {
        key = JSON.parse(prefix.slice(i, keyEnd)) as string;
      } catch {
        break;
      }
      i = skipSpace(prefix, keyEnd);
      if (prefix[i] !== ":") break;
      i = skipSpace(prefix, i + 1);
      const start = i;
      let end: number;
      if (prefix[i] === '"') end = stringEnd(prefix, i);
      else if (prefix[i] === "{" || prefix[i] === "[") end = containerEnd(prefix, i);
      else {
        end = i;
        while (end < prefix.length && prefix[end] !== "," && prefix[end] !== "}") end++;
        if (end === prefix.length) end = -1;
      }
      if (end < 0) {
        // The value goes on past what was read: a string shows its start, anything else a mark.
        entry[key] = prefix[start] === '"' ? cutString(prefix, start) : "[cut: the line is too long]";
        break;
      }
      try {
        entry[key] = JSON.parse(prefix.slice(start, end));
      } catch {
        break;
      }
      i = skipSpace(prefix, end);
      if (prefix[i] !== ",") break;
      i++;
    }
  }
  for (const [key, value] of Object.entries(lastFields(suffix))) {
    if (!Object.hasOwn(entry, key)) Object.defineProperty(entry, key, { value, enumerable: true, writable: true, configurable: true });
  }
  entry[VIEWER_NOTE] =
    `line of ${totalBytes} bytes, longer than maxLineBytes (${maxLineBytes}): shown from its first ${TRUNCATED_PREFIX_BYTES} and last ${TRUNCATED_SUFFIX_BYTES} bytes`;
  return entry;
}

/** The last TRUNCATED_SUFFIX_BYTES of a line at [offset, offset + length) of a file, as text ("" when unreadable). */
export function readLineEnd(fd: number, offset: number, length: number): string {
  const size = Math.min(TRUNCATED_SUFFIX_BYTES, length);
  const buffer = Buffer.allocUnsafe(size);
  try {
    const read = readSync(fd, buffer, 0, size, offset + length - size);
    return buffer.toString("utf8", 0, read);
  } catch {
    return "";
  }
}
