/**
 * The integrity fields of a sealed audit.jsonl line: chain_id, seq and
 * prev_hash appended to the line's content, then the hash of all that. The
 * text is the same the entry's line writer produces for a sealed entry.
 */
import type { IntegrityFields } from "../entry/fields.js";
import { jsonString } from "../entry/jsonl.js";

/** The chain id as a JSON string of the last chain sealed for (a writer seals for one chain). */
let quotedFor = "";
let quoted = '""';

/** A line from entryToJsonLine with its integrity fields appended; `hash` is computed here. */
export function sealLine(
  line: string,
  link: Omit<IntegrityFields, "hash">,
  hashOf: (content: string) => string,
): { line: string; integrity: IntegrityFields } {
  if (link.chainId !== quotedFor) {
    quotedFor = link.chainId;
    quoted = jsonString(link.chainId);
  }
  // Built from parts, so that the line's text is copied once to hash it and once to write it.
  const head = `${line.slice(0, -2)},"chain_id":${quoted},"seq":${link.seq},"prev_hash":"${link.prevHash}"`;
  const hash = hashOf(`${head}}`);
  return { line: `${head},"hash":"${hash}"}\n`, integrity: { chainId: link.chainId, seq: link.seq, prevHash: link.prevHash, hash } };
}

/** The content and recorded hash of a sealed line (the inverse of sealLine), or undefined for an unsealed one. */
export function unsealLine(line: string): { content: string; hash: string } | undefined {
  const match = /,"hash":"([A-Za-z0-9_-]+)"}$/.exec(line);
  if (!match) return undefined;
  return { content: `${line.slice(0, match.index)}}`, hash: match[1] as string };
}
