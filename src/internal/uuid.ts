/**
 * Time-ordered UUIDs (RFC 9562 version 7): 48 bits of Unix milliseconds, then
 * a 12-bit counter that keeps ids from one process strictly increasing within
 * a millisecond, then 62 random bits. Random bytes come from a pool refilled
 * 256 ids at a time, so an id costs no syscall.
 *
 * The id's text is written as ASCII codes into one buffer and read out as one
 * flat string: joined from two dozen pieces it would be a tree of strings that
 * every later reader (the line writer's escape test) first has to flatten. The
 * time part is rewritten only when the millisecond changes.
 */
import { randomFillSync } from "node:crypto";

/** The two ASCII codes of each byte's lowercase hex digits. */
const HEX_CODES = new Uint8Array(512);
for (let byte = 0; byte < 256; byte++) {
  const hex = byte.toString(16).padStart(2, "0");
  HEX_CODES[2 * byte] = hex.charCodeAt(0);
  HEX_CODES[2 * byte + 1] = hex.charCodeAt(1);
}
const POOL_IDS = 256;
const pool = Buffer.alloc(POOL_IDS * 8);
let poolAt = pool.length;
let lastMillis = -1;
let counter = 0;
/** The id being written; its dashes never move. */
const text = Buffer.from("00000000-0000-7000-8000-000000000000", "latin1");
/** The millisecond whose time part `text` holds. */
let textMillis = -1;

function putHex(at: number, byte: number): void {
  text[at] = HEX_CODES[2 * byte] as number;
  text[at + 1] = HEX_CODES[2 * byte + 1] as number;
}

/** A new UUIDv7 for an event at `millis` (epoch ms), as 36 lowercase hex characters and dashes. */
export function uuidv7(millis: number): string {
  let time = Math.max(0, Math.floor(millis));
  if (time <= lastMillis) {
    // Same millisecond (or a clock stepped back): count on, so ids keep their order.
    time = lastMillis;
    if (++counter > 0xfff) {
      time++;
      counter = 0;
    }
  } else counter = 0;
  lastMillis = time;
  if (poolAt + 8 > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const r = poolAt;
  poolAt += 8;
  if (time !== textMillis) {
    const high = Math.floor(time / 0x1000000);
    const low = time % 0x1000000;
    putHex(0, (high >>> 16) & 0xff);
    putHex(2, (high >>> 8) & 0xff);
    putHex(4, high & 0xff);
    putHex(6, (low >>> 16) & 0xff);
    putHex(9, (low >>> 8) & 0xff);
    putHex(11, low & 0xff);
    textMillis = time;
  }
  putHex(14, 0x70 | (counter >>> 8));
  putHex(16, counter & 0xff);
  putHex(19, 0x80 | ((pool[r] as number) & 0x3f));
  putHex(21, pool[r + 1] as number);
  for (let i = 2; i < 8; i++) putHex(20 + 2 * i, pool[r + i] as number);
  return text.toString("latin1", 0, 36);
}
