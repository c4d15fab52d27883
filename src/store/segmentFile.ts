/**
 * A trail segment opened for reading: everything about it (inode, size,
 * content) comes through one descriptor. Segments are renamed while they
 * are read (audit.jsonl -> audit.jsonl.1 -> .2, or to a time-named segment):
 * a path read twice may name two files, a descriptor always names one.
 */
import { type FileHandle, open } from "node:fs/promises";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";

export interface OpenSegment {
  handle: FileHandle;
  ino: number;
  size: number;
  mtimeMs: number;
}

/**
 * Opens the segment at `path`; null when it is gone, or when it is no longer
 * the file `expectedIno` names (renamed since it was listed: the next listing
 * finds it under its new name).
 */
export async function openSegment(path: string, expectedIno?: number): Promise<OpenSegment | null> {
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch {
    return null;
  }
  try {
    const info = await handle.stat();
    if (expectedIno !== undefined && info.ino !== expectedIno) {
      await handle.close();
      return null;
    }
    return { handle, ino: info.ino, size: info.size, mtimeMs: info.mtimeMs };
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
}

/** The decompressed content of a `.gz` segment, from its start, read through its descriptor (left open). */
export function gunzipFrom(handle: FileHandle): Readable {
  const gunzip = createGunzip();
  const file = handle.createReadStream({ start: 0, autoClose: false, highWaterMark: 256 * 1024 });
  file.on("error", (error) => gunzip.destroy(error));
  gunzip.on("close", () => file.destroy());
  return file.pipe(gunzip);
}
