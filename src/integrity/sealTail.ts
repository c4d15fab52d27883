/**
 * Reads the integrity fields at the end of a sealed trail line straight from
 * its bytes (`..."chain_id":"c","seq":7,"prev_hash":"p","hash":"h"}`), without
 * parsing the JSON: verify reads a million lines in seconds this way. A line
 * whose hash matches was written by a sealing writer, so it is valid JSON.
 */

const HASH_MARK = Buffer.from(',"hash":"');
const PREV_MARK = Buffer.from(',"prev_hash":"');
const SEQ_MARK = Buffer.from(',"seq":');
const CHAIN_MARK = Buffer.from(',"chain_id":');
const TIMESTAMP_HEAD = Buffer.from('{"timestamp":"');

export interface SealTail {
  chainId: string;
  seq: number;
  prevHash: string;
  hash: string;
  /** Where `,"hash":"` starts: the sealed content is the line up to here, closed with `}`. */
  hashAt: number;
}

/** The seal of a line (a Buffer without its newline), or undefined when it carries none. */
export function readSealTail(line: Buffer): SealTail | undefined {
  return readSealTailFast(line) ?? readSealTailSearching(line);
}

/** The last chain id read, and its bytes: one writer's lines follow each other, so its id is decoded once. */
let lastChainBytes = Buffer.alloc(0);
let lastChainId = "";

/**
 * The seal of a line as sealing writers write it (base64url hashes, a chain id
 * without escapes), read walking back from its end with no search and no
 * string but the three values; undefined for any other line, which the
 * searching reader then reads. Where both read a line, they read the same.
 */
function readSealTailFast(line: Buffer): SealTail | undefined {
  const length = line.length;
  if (length < 40 || line[length - 1] !== 0x7d || line[length - 2] !== 0x22) return undefined;
  let at = length - 3;
  while (at >= 0 && isHashByte(line[at] as number)) at--;
  const hashAt = at - HASH_MARK.length + 1;
  if (hashAt < 1 || !endsWith(line, at, HASH_MARK)) return undefined;
  at = hashAt - 2;
  if (line[hashAt - 1] !== 0x22) return undefined;
  while (at >= 0 && isHashByte(line[at] as number)) at--;
  const prevAt = at - PREV_MARK.length + 1;
  if (prevAt < 1 || !endsWith(line, at, PREV_MARK)) return undefined;
  at = prevAt - 1;
  while (at >= 0 && (line[at] as number) >= 0x30 && (line[at] as number) <= 0x39) at--;
  const seqAt = at - SEQ_MARK.length + 1;
  if (seqAt < 2 || prevAt - at - 1 > 15 || !endsWith(line, at, SEQ_MARK) || line[seqAt - 1] !== 0x22) return undefined;
  let seq = 0;
  for (let i = at + 1; i < prevAt; i++) seq = seq * 10 + ((line[i] as number) - 48);
  at = seqAt - 2;
  while (at >= 0 && line[at] !== 0x22 && line[at] !== 0x5c) at--;
  if (at < 0 || line[at] !== 0x22 || !endsWith(line, at - 1, CHAIN_MARK)) return undefined;
  return {
    chainId: chainIdAt(line, at + 1, seqAt - 1),
    seq,
    prevHash: line.toString("latin1", prevAt + PREV_MARK.length, hashAt - 1),
    hash: line.toString("latin1", hashAt + HASH_MARK.length, length - 2),
    hashAt,
  };
}

/** 1 for the characters of base64url, the alphabet of hashes. */
const HASH_BYTES = new Uint8Array(256);
for (const byte of Buffer.from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")) HASH_BYTES[byte] = 1;

function isHashByte(byte: number): boolean {
  return HASH_BYTES[byte] === 1;
}

/** Whether `mark` ends at byte `end` of `line`. */
function endsWith(line: Buffer, end: number, mark: Buffer): boolean {
  const from = end - mark.length + 1;
  if (from < 0) return false;
  for (let i = 0; i < mark.length; i++) if (line[from + i] !== mark[i]) return false;
  return true;
}

/** The chain id in bytes `from`..`to` of a line, decoded only when it differs from the last one. */
function chainIdAt(line: Buffer, from: number, to: number): string {
  const length = to - from;
  if (length === lastChainBytes.length) {
    let same = true;
    for (let i = 0; i < length; i++) {
      if (line[from + i] !== lastChainBytes[i]) {
        same = false;
        break;
      }
    }
    if (same) return lastChainId;
  }
  lastChainBytes = Buffer.from(line.subarray(from, to));
  lastChainId = line.toString("utf8", from, to);
  return lastChainId;
}

/** The same, searching for each field's name: any line, whatever its values hold. */
function readSealTailSearching(line: Buffer): SealTail | undefined {
  const length = line.length;
  if (length < 40 || line[length - 1] !== 0x7d || line[length - 2] !== 0x22) return undefined;
  const hashAt = line.lastIndexOf(HASH_MARK, length - 2);
  if (hashAt === -1) return undefined;
  const prevAt = line.lastIndexOf(PREV_MARK, hashAt);
  if (prevAt === -1 || line[hashAt - 1] !== 0x22) return undefined;
  const seqAt = line.lastIndexOf(SEQ_MARK, prevAt);
  if (seqAt === -1) return undefined;
  const chainAt = line.lastIndexOf(CHAIN_MARK, seqAt);
  if (chainAt === -1) return undefined;
  let seq = 0;
  for (let i = seqAt + SEQ_MARK.length; i < prevAt; i++) {
    const digit = (line[i] as number) - 48;
    if (digit < 0 || digit > 9 || seq > 1e14) return undefined;
    seq = seq * 10 + digit;
  }
  const literal = line.toString("utf8", chainAt + CHAIN_MARK.length, seqAt);
  let chainId: string;
  if (literal.length >= 2 && literal.startsWith('"') && literal.endsWith('"') && !literal.includes("\\")) chainId = literal.slice(1, -1);
  else {
    try {
      chainId = JSON.parse(literal) as string;
    } catch {
      return undefined;
    }
    if (typeof chainId !== "string") return undefined;
  }
  return {
    chainId,
    seq,
    prevHash: line.toString("latin1", prevAt + PREV_MARK.length, hashAt - 1),
    hash: line.toString("latin1", hashAt + HASH_MARK.length, length - 2),
    hashAt,
  };
}

/** Hashes the sealed content of a line (up to its hash field, closed with `}`) without copying it. */
export function hashSealedContent(line: Buffer, hashAt: number, hashOf: (content: Buffer) => string): string {
  const saved = line[hashAt] as number;
  line[hashAt] = 0x7d;
  try {
    return hashOf(line.subarray(0, hashAt + 1));
  } finally {
    line[hashAt] = saved;
  }
}

/** The timestamp an auditx line starts with, or "" when it does not start with one. */
export function lineTimestamp(line: Buffer): string {
  const from = TIMESTAMP_HEAD.length;
  if (line.length < from + 20) return "";
  for (let i = 0; i < from; i++) if (line[i] !== TIMESTAMP_HEAD[i]) return "";
  const last = Math.min(line.length - 1, from + 40);
  for (let end = from; end <= last; end++) if (line[end] === 0x22) return line.toString("latin1", from, end);
  return "";
}
