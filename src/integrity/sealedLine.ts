/**
 * A sealed audit.jsonl line: the entry's fields, then chain_id, seq and
 * prev_hash, then the hash of all that (the line up to there, closed with
 * `}`). The hash is the last field, so the line is the hashed content with
 * `,"hash":"…"` spliced in before its closing brace.
 */
import type { AuditEntryFields, IntegrityFields } from "../entry/fields.js";
import { entryToSealedContent, jsonString } from "../entry/jsonl.js";

/** Hashes a line's content (see lineHasher). */
export type LineHasher = (content: string) => string;

/**
 * Seals an entry whose chain_id, seq and prev_hash are set: sets its hash and
 * returns its line, the same text entryToJsonLine then gives.
 */
export function sealEntry(fields: AuditEntryFields, hashOf: LineHasher): string {
  // Written once from the fields: hashing flattens the content in place, and the line then shares that text.
  const content = entryToSealedContent(fields);
  const hash = hashOf(content);
  fields.hash = hash;
  return withHash(content, hash);
}

/** A line in trail form (newline-terminated, not sealed) with its integrity fields appended; `hash` is computed here. */
export function sealLine(
  line: string,
  link: Omit<IntegrityFields, "hash">,
  hashOf: LineHasher,
): { line: string; integrity: IntegrityFields } {
  const content = `${line.slice(0, -2)},"chain_id":${jsonString(link.chainId)},"seq":${link.seq},"prev_hash":"${link.prevHash}"}`;
  const hash = hashOf(content);
  return { line: withHash(content, hash), integrity: { ...link, hash } };
}

function withHash(content: string, hash: string): string {
  return `${content.slice(0, -1)},"hash":"${hash}"}\n`;
}

/** The content and recorded hash of a sealed line (the inverse of sealLine), or undefined for an unsealed one. */
export function unsealLine(line: string): { content: string; hash: string } | undefined {
  const match = /,"hash":"([A-Za-z0-9_-]+)"}$/.exec(line);
  if (!match) return undefined;
  return { content: `${line.slice(0, match.index)}}`, hash: match[1] as string };
}
