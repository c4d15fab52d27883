/**
 * Reads one trail segment line by line from a byte offset of its content:
 * a plain file with positioned reads (it may still grow), a `.gz` segment
 * through a gunzip stream (offsets count decompressed bytes). Only complete
 * lines are handed out, unless the segment is final; a line longer than the
 * limit is skipped without being held in memory.
 */
import type { FileHandle } from "node:fs/promises";
import type { Readable } from "node:stream";
import { gunzipFrom } from "./segmentFile.js";

export interface LineChunk {
  /** Complete lines, without their newline. */
  lines: Buffer[];
  /** Lines skipped because they were longer than the limit. */
  overlong: number;
  /** Offset just past what was consumed: where the next read starts. */
  end: number;
  /** No more bytes are there now (for a final segment: ever). */
  exhausted: boolean;
}

const READ_SIZE = 1024 * 1024;

interface ByteSource {
  /** The next bytes, or null when there are none now. */
  read(): Promise<Buffer | null>;
  close(): Promise<void>;
}

class PlainSource implements ByteSource {
  constructor(
    private readonly handle: FileHandle,
    private position: number,
  ) {}

  async read(): Promise<Buffer | null> {
    const buffer = Buffer.allocUnsafe(READ_SIZE);
    const { bytesRead } = await this.handle.read(buffer, 0, READ_SIZE, this.position);
    if (bytesRead === 0) return null;
    this.position += bytesRead;
    return buffer.subarray(0, bytesRead);
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

class GzipSource implements ByteSource {
  private readonly content: Readable;
  private readonly iterator: AsyncIterator<Buffer>;
  private toSkip: number;

  constructor(
    private readonly handle: FileHandle,
    offset: number,
  ) {
    this.content = gunzipFrom(handle);
    this.iterator = this.content[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    this.toSkip = offset;
  }

  async read(): Promise<Buffer | null> {
    for (;;) {
      const next = await this.iterator.next();
      if (next.done) return null;
      let chunk = next.value;
      if (this.toSkip > 0) {
        if (chunk.length <= this.toSkip) {
          this.toSkip -= chunk.length;
          continue;
        }
        chunk = chunk.subarray(this.toSkip);
        this.toSkip = 0;
      }
      return chunk;
    }
  }

  async close(): Promise<void> {
    this.content.destroy();
    await this.handle.close().catch(() => undefined);
  }
}

export class LineReader {
  private carry: Buffer = Buffer.alloc(0);
  /** Inside a line longer than the limit: its bytes are dropped up to its newline. */
  private skipping = false;
  /** Offset of the first byte of `carry`. */
  private carryOffset: number;

  private constructor(
    private readonly source: ByteSource,
    offset: number,
    private readonly maxLineBytes: number,
  ) {
    this.carryOffset = offset;
  }

  /** Reads the open segment (the reader closes it) from `offset` of its content. */
  static open(handle: FileHandle, compressed: boolean, offset: number, maxLineBytes: number): LineReader {
    const source = compressed ? new GzipSource(handle, offset) : new PlainSource(handle, offset);
    return new LineReader(source, offset, maxLineBytes);
  }

  /** Where the next line starts. */
  get offset(): number {
    return this.carryOffset;
  }

  /**
   * Up to `maxLines` lines (or about `maxBytes`). With `final`, an
   * unterminated last line is a line too (the segment will not grow).
   */
  async next(maxLines: number, maxBytes: number, final: boolean): Promise<LineChunk> {
    const lines: Buffer[] = [];
    let overlong = 0;
    let bytes = 0;
    let exhausted = false;
    while (lines.length < maxLines && bytes < maxBytes) {
      const newline = this.carry.indexOf(10);
      if (newline >= 0) {
        if (this.skipping) this.skipping = false;
        else if (newline > this.maxLineBytes) overlong++;
        else lines.push(this.carry.subarray(0, newline));
        bytes += newline + 1;
        this.carry = this.carry.subarray(newline + 1);
        this.carryOffset += newline + 1;
        continue;
      }
      if (this.carry.length > this.maxLineBytes) {
        // Drop the line's bytes as they come; count it once.
        if (!this.skipping) overlong++;
        this.skipping = true;
        this.carryOffset += this.carry.length;
        this.carry = Buffer.alloc(0);
      }
      const chunk = await this.source.read();
      if (chunk === null) {
        exhausted = true;
        if (final && this.carry.length > 0) {
          if (!this.skipping) lines.push(this.carry);
          this.carryOffset += this.carry.length;
          this.carry = Buffer.alloc(0);
        }
        if (final) this.skipping = false;
        break;
      }
      this.carry = this.carry.length === 0 ? chunk : Buffer.concat([this.carry, chunk]);
    }
    return { lines, overlong, end: this.carryOffset, exhausted };
  }

  close(): Promise<void> {
    return this.source.close();
  }
}
