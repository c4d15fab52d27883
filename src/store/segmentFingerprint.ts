/**
 * The identity of a trail segment, whatever its name: a hash of its first
 * line. A segment keeps it when it is renamed (audit.jsonl ->
 * audit.<stamp>.jsonl, or audit.jsonl.1 -> .2) and when it is compressed
 * (its content is the same), so a cursor keyed on it follows the segment.
 * Every line carries a unique id and a timestamp, so no two segments share a
 * first line.
 */
import { createHash } from "node:crypto";
import type { FileHandle } from "node:fs/promises";
import { gunzipFrom } from "./segmentFile.js";

/** At most this much of a first line is hashed (a very long first line is told apart by its start). */
const FINGERPRINT_BYTES = 64 * 1024;

function hashOf(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex").slice(0, 32);
}

/** The first line (or its first FINGERPRINT_BYTES) of `head`, or null when it is not complete yet. */
function fingerprintOfHead(head: Buffer, final: boolean): string | null {
  const newline = head.indexOf(10);
  if (newline >= 0) return hashOf(head.subarray(0, newline));
  if (head.length >= FINGERPRINT_BYTES) return hashOf(head.subarray(0, FINGERPRINT_BYTES));
  return final && head.length > 0 ? hashOf(head) : null;
}

async function plainHead(handle: FileHandle): Promise<Buffer> {
  const buffer = Buffer.alloc(FINGERPRINT_BYTES);
  const { bytesRead } = await handle.read(buffer, 0, FINGERPRINT_BYTES, 0);
  return buffer.subarray(0, bytesRead);
}

async function gzipHead(handle: FileHandle): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  const content = gunzipFrom(handle);
  try {
    for await (const chunk of content as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= FINGERPRINT_BYTES || chunk.includes(10)) break;
    }
  } finally {
    content.destroy();
  }
  return Buffer.concat(chunks, length);
}

/**
 * The fingerprint of an open segment, or null while its first line is
 * incomplete (a live file just created). `final`: the segment will not grow,
 * so a first line without newline is complete.
 */
export async function segmentFingerprint(handle: FileHandle, compressed: boolean, final: boolean): Promise<string | null> {
  const head = compressed ? await gzipHead(handle) : await plainHead(handle);
  return fingerprintOfHead(head, final || compressed);
}
