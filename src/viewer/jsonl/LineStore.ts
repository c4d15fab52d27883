import { closeSync, fstatSync, openSync, readSync, writeSync } from "node:fs";
import { deflateRawSync, inflateRawSync } from "node:zlib";

/** Reads the content of one segment: its lines, by content offset. */
export interface LineReader {
  /** Bytes [start, end) of the content (fewer at its end); throws when the segment cannot be read. */
  read(start: number, end: number): Buffer;
  close(): void;
}

/** A plain segment: the content is the file. The descriptor belongs to whoever tracks the file. */
export class PlainReader implements LineReader {
  constructor(readonly fd: number) {}

  read(start: number, end: number): Buffer {
    const buffer = Buffer.allocUnsafe(Math.max(0, end - start));
    let filled = 0;
    while (filled < buffer.length) {
      const read = readSync(this.fd, buffer, filled, buffer.length - filled, start + filled);
      if (read === 0) break;
      filled += read;
    }
    return buffer.subarray(0, filled);
  }

  close(): void {}
}

/** Uncompressed bytes per block of a line store (blocks end at a line's end, so a longer line makes a longer block). */
const BLOCK_BYTES = 64 * 1024;
const MAGIC = 0x314c5841; // "AXL1"
const FOOTER_BYTES = 8;

/**
 * A compressed segment's lines, stored so that any line can be read without
 * inflating the segment from its start: deflate blocks of about 64 KiB of
 * whole lines, then a table of (content offset, file offset) per block, then
 * the block count and a magic number. Written once by the build of a
 * `.gz` segment, in the viewer's cache folder.
 */
export class LineStoreWriter {
  private readonly fd: number;
  private readonly table: number[] = [];
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private contentOffset = 0;
  private fileOffset = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, "w", 0o600);
  }

  /** Appends content (any cut: blocks are cut at newlines). */
  append(bytes: Buffer): void {
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes >= BLOCK_BYTES) this.cut(false);
  }

  /** Writes what is left and the table; returns the content size. */
  finish(): number {
    this.cut(true);
    this.table.push(this.contentOffset, this.fileOffset);
    const table = Float64Array.from(this.table);
    writeSync(this.fd, Buffer.from(table.buffer));
    const footer = Buffer.alloc(FOOTER_BYTES);
    footer.writeUInt32LE(this.table.length / 2 - 1, 0);
    footer.writeUInt32LE(MAGIC, 4);
    writeSync(this.fd, footer);
    closeSync(this.fd);
    return this.contentOffset;
  }

  abort(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
  }

  private cut(all: boolean): void {
    const joined = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    let at = joined.length;
    if (!all) {
      const newline = joined.lastIndexOf(10);
      if (newline < 0) return; // one long line so far: wait for its end
      at = newline + 1;
    }
    if (at > 0) {
      const block = deflateRawSync(joined.subarray(0, at), { level: 1 });
      this.table.push(this.contentOffset, this.fileOffset);
      writeSync(this.fd, block);
      this.contentOffset += at;
      this.fileOffset += block.length;
    }
    const rest = joined.subarray(at);
    this.pending = rest.length > 0 ? [Buffer.from(rest)] : [];
    this.pendingBytes = rest.length;
  }
}

/** Reads a line store: the table in memory, a few inflated blocks cached. */
export class LineStoreReader implements LineReader {
  private readonly fd: number;
  /** content offset, file offset per block, plus the end of both. */
  private readonly table: Float64Array;
  readonly size: number;
  private readonly cache = new Map<number, Buffer>();

  constructor(readonly path: string) {
    this.fd = openSync(path, "r");
    try {
      const fileSize = fstatSync(this.fd).size;
      const footer = Buffer.alloc(FOOTER_BYTES);
      readSync(this.fd, footer, 0, FOOTER_BYTES, fileSize - FOOTER_BYTES);
      if (footer.readUInt32LE(4) !== MAGIC) throw new Error(`${path}: not a line store`);
      const blocks = footer.readUInt32LE(0);
      const tableBytes = (blocks + 1) * 16;
      const table = new Float64Array(tableBytes / 8);
      readSync(this.fd, new Uint8Array(table.buffer), 0, tableBytes, fileSize - FOOTER_BYTES - tableBytes);
      this.table = table;
      this.size = table[blocks * 2]!;
    } catch (error) {
      closeSync(this.fd);
      throw error;
    }
  }

  get blockCount(): number {
    return this.table.length / 2 - 1;
  }

  read(start: number, end: number): Buffer {
    end = Math.min(end, this.size);
    if (end <= start) return Buffer.alloc(0);
    let block = this.blockAt(start);
    const parts: Buffer[] = [];
    let at = start;
    while (at < end && block < this.blockCount) {
      const blockStart = this.table[block * 2]!;
      const blockEnd = this.table[block * 2 + 2]!;
      const bytes = this.inflate(block);
      parts.push(bytes.subarray(at - blockStart, Math.min(end, blockEnd) - blockStart));
      at = blockEnd;
      block++;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  close(): void {
    this.cache.clear();
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
  }

  /** The block holding content offset `offset`. */
  private blockAt(offset: number): number {
    let low = 0;
    let high = this.blockCount - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.table[mid * 2]! <= offset) low = mid;
      else high = mid - 1;
    }
    return low;
  }

  private inflate(block: number): Buffer {
    const cached = this.cache.get(block);
    if (cached) {
      this.cache.delete(block);
      this.cache.set(block, cached);
      return cached;
    }
    const from = this.table[block * 2 + 1]!;
    const to = this.table[block * 2 + 3]!;
    const compressed = Buffer.allocUnsafe(to - from);
    readSync(this.fd, compressed, 0, compressed.length, from);
    const bytes = inflateRawSync(compressed);
    this.cache.set(block, bytes);
    if (this.cache.size > 8) this.cache.delete(this.cache.keys().next().value!);
    return bytes;
  }
}
