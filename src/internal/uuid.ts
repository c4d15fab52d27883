/**
 * Time-ordered UUIDs (RFC 9562 version 7): 48 bits of Unix milliseconds, then
 * a 12-bit counter that keeps ids from one process strictly increasing within
 * a millisecond, then 62 random bits. Random bytes come from a pool refilled
 * 256 ids at a time, so an id costs no syscall.
 */
import { randomFillSync } from "node:crypto";

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));
const POOL_IDS = 256;
const pool = Buffer.alloc(POOL_IDS * 8);
let poolAt = pool.length;
let lastMillis = -1;
let counter = 0;

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
  const high = Math.floor(time / 0x1000000);
  const low = time % 0x1000000;
  return (
    HEX[(high >>> 16) & 0xff] +
    HEX[(high >>> 8) & 0xff] +
    HEX[high & 0xff] +
    HEX[(low >>> 16) & 0xff] +
    "-" +
    HEX[(low >>> 8) & 0xff] +
    HEX[low & 0xff] +
    "-" +
    HEX[0x70 | (counter >>> 8)] +
    HEX[counter & 0xff] +
    "-" +
    HEX[0x80 | ((pool[r] as number) & 0x3f)] +
    HEX[pool[r + 1] as number] +
    "-" +
    HEX[pool[r + 2] as number] +
    HEX[pool[r + 3] as number] +
    HEX[pool[r + 4] as number] +
    HEX[pool[r + 5] as number] +
    HEX[pool[r + 6] as number] +
    HEX[pool[r + 7] as number]
  );
}
