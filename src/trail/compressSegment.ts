/**
 * gzip-compresses a rotated segment without blocking the event loop (zlib
 * runs on the thread pool; the loop only passes chunks along), then replaces
 * the plain file with `<name>.gz`. The segment keeps its identity: the
 * compressed file holds exactly the same bytes. The plain file is removed only
 * if nothing was appended to it meanwhile (a writer that had not yet noticed
 * the rotation); otherwise the attempt is dropped and made again later.
 */
import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { link, open, stat, unlink } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { constants, createGzip } from "node:zlib";

export interface CompressedSegment {
  /** Bytes of the plain segment. */
  bytesIn: number;
  /** Bytes of its `.gz`. */
  bytesOut: number;
}

const sameFile = (a: { ino: number; size: number; mtimeMs: number }, b: { ino: number; size: number; mtimeMs: number }) =>
  a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;

/**
 * Compresses `path` into `path.gz` and removes `path`. Resolves undefined when
 * the segment changed while being compressed, or another process made the
 * `.gz` first. `signal` aborts (the partial output is removed).
 */
export async function compressSegment(
  path: string,
  options: { level?: number; signal?: AbortSignal } = {},
): Promise<CompressedSegment | undefined> {
  const before = await stat(path);
  const target = `${path}.gz`;
  const temp = `${target}.${process.pid}.${randomBytes(3).toString("hex")}.tmp`;
  try {
    await pipeline(
      createReadStream(path, { highWaterMark: 256 * 1024 }),
      createGzip({ level: options.level ?? constants.Z_DEFAULT_COMPRESSION, chunkSize: 64 * 1024 }),
      createWriteStream(temp, { flags: "wx", mode: 0o640 }),
      { signal: options.signal },
    );
    const handle = await open(temp, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (!sameFile(before, await stat(path))) return undefined;
    try {
      await link(temp, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") return undefined;
      throw error;
    }
    const bytesOut = (await stat(target)).size;
    // Checked once more right before the plain file goes: a late append keeps it (both forms then exist; readers take the plain one).
    if (!sameFile(before, await stat(path))) {
      await unlink(target);
      return undefined;
    }
    await unlink(path);
    return { bytesIn: before.size, bytesOut };
  } finally {
    await unlink(temp).catch(() => {});
  }
}
