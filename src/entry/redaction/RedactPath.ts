/**
 * Redaction paths, parsed once: `metadata.card.number`, `*.token`,
 * `**.card_number`, `old_values["api.key"]`, `metadata.*_secret`.
 */
import { AuditConfigError } from "../errors.js";

export type PathSegment =
  | { readonly kind: "key"; readonly name: string }
  | { readonly kind: "glob"; readonly pattern: RegExp }
  | { readonly kind: "any" }
  | { readonly kind: "deep" };

const ANY: PathSegment = { kind: "any" };
const DEEP: PathSegment = { kind: "deep" };

function segmentOf(text: string, quoted: boolean, path: string): PathSegment {
  if (!quoted) {
    if (text === "*") return ANY;
    if (text === "**") return DEEP;
    if (text.includes("**")) throw new AuditConfigError(`redact: "**" must be a whole key in ${JSON.stringify(path)}`);
    if (text.includes("*")) {
      const source = text
        .toLowerCase()
        .split("*")
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
        .join(".*");
      return { kind: "glob", pattern: new RegExp(`^${source}$`, "s") };
    }
  }
  return { kind: "key", name: text.toLowerCase() };
}

/** The segments of a path; throws AuditConfigError on a malformed one. */
export function parsePath(path: string): PathSegment[] {
  if (typeof path !== "string" || path.trim() === "")
    throw new AuditConfigError(`redact: a path must be a non-empty string, got ${JSON.stringify(path)}`);
  const segments: PathSegment[] = [];
  let i = 0;
  const text = path.trim();
  while (i < text.length) {
    if (text[i] === "[") {
      const quote = text[i + 1];
      if (quote === '"' || quote === "'") {
        const end = text.indexOf(`${quote}]`, i + 2);
        if (end === -1) throw new AuditConfigError(`redact: unclosed [${quote} in ${JSON.stringify(path)}`);
        segments.push(segmentOf(text.slice(i + 2, end), true, path));
        i = end + 2;
      } else {
        const end = text.indexOf("]", i);
        const inner = end === -1 ? "" : text.slice(i + 1, end).trim();
        if (inner !== "*") throw new AuditConfigError(`redact: use ["name"] or [*] in brackets, in ${JSON.stringify(path)}`);
        segments.push(ANY);
        i = end + 1;
      }
      if (text[i] === ".") i++;
      continue;
    }
    let end = i;
    while (end < text.length && text[end] !== "." && text[end] !== "[") end++;
    const key = text.slice(i, end).trim();
    if (key === "") throw new AuditConfigError(`redact: empty key in ${JSON.stringify(path)}`);
    segments.push(segmentOf(key, false, path));
    i = end;
    if (text[i] === ".") {
      i++;
      if (i === text.length) throw new AuditConfigError(`redact: a path must not end with "." (${JSON.stringify(path)})`);
    }
  }
  return segments;
}

/** Whether a segment that consumes one key matches it (`lower` is the key in lower case). */
export function segmentMatches(segment: PathSegment, lower: string): boolean {
  switch (segment.kind) {
    case "key":
      return segment.name === lower;
    case "glob":
      return segment.pattern.test(lower);
    default:
      return true;
  }
}
