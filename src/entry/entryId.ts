import { createHash } from "node:crypto";
import { timestampMillis } from "../internal/timestampMillis.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The id of a trail line: its `id` field (a UUIDv7 written by auditx), or, for
 * a line without one (written by the Python auditX or an older auditx), a
 * UUID derived from the line's text: version 8, the entry's time in its first
 * 48 bits (so derived ids sort by time like v7 ones), then 74 bits of the
 * line's SHA-256. The same line always gets the same id, so a reader, a
 * shipper and a replay agree on it.
 */
export function entryIdOf(dict: Record<string, unknown>, line: string): string {
  const id = dict.id;
  if (typeof id === "string" && UUID.test(id)) return id.toLowerCase();
  const millis = timestampMillis(typeof dict.timestamp === "string" ? dict.timestamp : "");
  const time = Number.isFinite(millis) && millis > 0 ? Math.min(millis, 2 ** 48 - 1) : 0;
  const hash = createHash("sha256").update(line).digest();
  const bytes = Buffer.alloc(16);
  bytes.writeUIntBE(time, 0, 6);
  hash.copy(bytes, 6, 0, 10);
  bytes[6] = 0x80 | ((bytes[6] as number) & 0x0f);
  bytes[8] = 0x80 | ((bytes[8] as number) & 0x3f);
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
