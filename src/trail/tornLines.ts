/**
 * How a trail reader tells a torn write from a damaged line. A write that
 * failed part-way (a full disk) leaves the start of a record with no newline;
 * auditx ends it before its next record, but another process writing the same
 * file may append its own record first, so that one line holds the fragment
 * and then a whole record. Readers split such a line, keep the record, and
 * report the fragment as a torn write (its caller got AuditWriteError), not
 * as tampering or a malformed entry.
 */

/** How every audit.jsonl record begins (the original auditX writes `{"timestamp": "`). */
const RECORD_START = '{"timestamp"';

export interface TornLine {
  /** The fragment a failed write left; "" when the line is a record. */
  fragment: string;
  /** The whole record after the fragment, or undefined when the line is only a fragment. */
  record?: string;
  /** The record parsed (when there is one). */
  parsed?: Record<string, unknown>;
}

/**
 * Reads a trail line that does not parse as JSON: undefined when it is simply
 * malformed, otherwise the torn fragment and the record glued after it, if any.
 */
export function splitTornLine(line: string): TornLine | undefined {
  // A write cut within its first bytes leaves less than the opening field name.
  if (line.length < RECORD_START.length) return RECORD_START.startsWith(line) ? { fragment: line } : undefined;
  if (!line.startsWith(RECORD_START)) return undefined;
  for (let at = line.indexOf(RECORD_START, 1); at !== -1; at = line.indexOf(RECORD_START, at + 1)) {
    const rest = line.slice(at);
    try {
      const parsed = JSON.parse(rest) as unknown;
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
        return { fragment: line.slice(0, at), record: rest, parsed: parsed as Record<string, unknown> };
      }
    } catch {
      // Not a whole record yet: the fragment may contain the same text; look further.
    }
  }
  return { fragment: line };
}
