import { randomBytes } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { open, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ChunkData, FieldData, HashedField, IdColumn } from "./Chunk.js";
import { HASHED_FIELDS } from "./Chunk.js";

/** Bumped whenever what a chunk file or the manifest holds changes meaning: older caches are rebuilt. */
const FORMAT = 7;
const MAGIC = 0x31435841; // "AXC1"

/** What the cache remembers of one segment, to know it again and reuse its chunks. */
export interface SegmentRecord {
  name: string;
  kind: "plain" | "gzip";
  /** dev:ino of the file. */
  key: string;
  /** Size of the file (compressed size for `.gz`). */
  fileSize: number;
  /** Content covered by the chunks: [0, contentEnd) for a complete segment. */
  contentEnd: number;
  /** SHA-256 (first 128 bits) of the content's first 4 KiB and of the 64 KiB before contentEnd. */
  head: string;
  tail: string;
  /** `.gz`: the line store, and the same two digests of the compressed file. */
  store?: string;
  fileHead?: string;
  fileTail?: string;
  chunks: ChunkRecord[];
  skippedLines: number;
}

export interface ChunkRecord {
  file: string;
  start: number;
  end: number;
  count: number;
}

export interface Manifest {
  format: number;
  trail: string;
  segments: SegmentRecord[];
}

type Typed = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array;
const TYPES: Record<string, new (buffer: ArrayBuffer, offset: number, length: number) => Typed> = {
  u8: Uint8Array,
  u16: Uint16Array,
  u32: Uint32Array,
  i32: Int32Array,
  f64: Float64Array,
};

function typeName(view: Typed): string {
  if (view instanceof Float64Array) return "f64";
  if (view instanceof Int32Array) return "i32";
  if (view instanceof Uint32Array) return "u32";
  if (view instanceof Uint16Array) return "u16";
  return "u8";
}

/** A character past Latin-1 (surrogates included). */
const WIDE = /[\u0100-\uffff]/;

/** A string as bytes: Latin-1 when every character fits (one byte each), else UTF-16 (exact, lone surrogates too). */
function textBytes(text: string): { bytes: Uint8Array; encoding: "latin1" | "utf16le" } {
  const encoding = WIDE.test(text) ? "utf16le" : "latin1";
  return { bytes: Buffer.from(text, encoding), encoding };
}

const PADDING = new Uint8Array(8);

/**
 * A chunk as one file: magic, header length, JSON header, then the columns
 * and the dictionaries (as bytes, decoded without parsing), 8-byte aligned.
 * The file is given in pieces, the columns themselves among them, written
 * as they are (nothing copied into one buffer on this thread).
 */
export function encodeChunk(chunk: ChunkData): Uint8Array[] {
  const buffers: Typed[] = [];
  const add = (view: Typed | null): number => {
    if (!view) return -1;
    buffers.push(view);
    return buffers.length - 1;
  };
  const addText = (text: string | null): [number, string] | null => {
    if (text === null) return null;
    const { bytes, encoding } = textBytes(text);
    return [add(bytes), encoding];
  };
  const header = {
    format: FORMAT,
    start: chunk.start,
    end: chunk.end,
    count: chunk.count,
    malformed: chunk.malformed,
    truncated: chunk.truncated,
    deep: chunk.deep,
    rawPaths: chunk.rawPaths,
    templatePaths: chunk.templatePaths,
    stats: chunk.stats,
    offsets: add(chunk.offsets),
    time: add(chunk.time),
    success: add(chunk.success),
    hashes: Object.fromEntries(HASHED_FIELDS.map((name) => [name, add(chunk.hashes[name])])),
    ip: add(chunk.ip),
    ipLines: add(chunk.ipLines),
    ipBlocks: add(chunk.ipBlocks),
    ipBlockCounts: add(chunk.ipBlockCounts),
    fields: chunk.fields.map((field) => ({
      path: field.path,
      mode: field.mode,
      names: addText(field.names),
      folded: addText(field.folded),
      starts: add(field.starts),
      positions: add(field.positions),
      constant: field.constant,
      rawFrom: field.rawFrom,
      ids: add(field.ids),
    })),
    rawBloom: add(chunk.rawBloom),
    rawBlocks: add(chunk.rawBlocks),
    layout: [] as Array<[string, number, number]>,
  };
  let offset = 0;
  for (const view of buffers) {
    header.layout.push([typeName(view), offset, view.length]);
    offset += (view.byteLength + 7) & ~7;
  }
  const headerBytes = Buffer.from(JSON.stringify(header), "utf8");
  const dataStart = (8 + headerBytes.length + 7) & ~7;
  const head = Buffer.alloc(dataStart);
  head.writeUInt32LE(MAGIC, 0);
  head.writeUInt32LE(headerBytes.length, 4);
  headerBytes.copy(head, 8);
  const parts: Uint8Array[] = [head];
  for (const view of buffers) {
    parts.push(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
    const padding = ((view.byteLength + 7) & ~7) - view.byteLength;
    if (padding > 0) parts.push(PADDING.subarray(0, padding));
  }
  return parts;
}

export function decodeChunk(file: Buffer): ChunkData {
  if (file.length < 8 || file.readUInt32LE(0) !== MAGIC) throw new Error("not a chunk file");
  const headerLength = file.readUInt32LE(4);
  const header = JSON.parse(file.toString("utf8", 8, 8 + headerLength));
  if (header.format !== FORMAT) throw new Error("chunk file of another format");
  const dataStart = (8 + headerLength + 7) & ~7;
  // Typed arrays need aligned offsets: a file read into a pooled buffer is copied once.
  const bytes = (file.byteOffset + dataStart) % 8 === 0 ? file : Buffer.from(file);
  const views: Typed[] = (header.layout as Array<[string, number, number]>).map(([type, offset, length]) => {
    const Type = TYPES[type];
    if (!Type) throw new Error("bad chunk layout");
    return new Type(bytes.buffer as ArrayBuffer, bytes.byteOffset + dataStart + offset, length);
  });
  const view = <T extends Typed>(index: number): T | null => (index >= 0 ? (views[index] as T) : null);
  const text = (stored: [number, string] | null): string | null => {
    if (stored === null) return null;
    const bytes = views[stored[0]]!;
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString(stored[1] as BufferEncoding);
  };
  return {
    start: header.start,
    end: header.end,
    count: header.count,
    malformed: header.malformed,
    truncated: header.truncated ?? 0,
    deep: header.deep ?? 0,
    rawPaths: header.rawPaths,
    templatePaths: header.templatePaths ?? [],
    stats: header.stats,
    offsets: view<Uint32Array>(header.offsets)!,
    time: view<Float64Array>(header.time)!,
    success: view<Uint8Array>(header.success)!,
    hashes: Object.fromEntries(HASHED_FIELDS.map((name) => [name, view<Uint16Array>(header.hashes[name])])) as Record<
      HashedField,
      Uint16Array | null
    >,
    ip: view<Uint32Array>(header.ip),
    ipLines: view<Uint16Array>(header.ipLines),
    ipBlocks: view<Uint16Array>(header.ipBlocks),
    ipBlockCounts: view<Uint32Array>(header.ipBlockCounts),
    fields: (
      header.fields as Array<
        Omit<FieldData, "ids" | "starts" | "positions" | "names" | "folded"> & {
          ids: number;
          starts: number;
          positions: number;
          names: [number, string];
          folded: [number, string] | null;
        }
      >
    ).map((field) => ({
      ...field,
      names: text(field.names)!,
      folded: text(field.folded),
      ids: view<IdColumn>(field.ids),
      starts: view<Uint32Array>(field.starts)!,
      positions: view<Uint16Array>(field.positions),
    })),
    rawBloom: view<Uint8Array>(header.rawBloom),
    rawBlocks: view<Uint8Array>(header.rawBlocks),
  };
}

/**
 * The persisted index of one trail: chunk files, line stores of `.gz`
 * segments and a manifest that says which segment each belongs to. Files are
 * written once under fresh names and the manifest replaced atomically
 * (write, then rename), so a crash leaves the previous manifest valid; files
 * it no longer names are deleted. One viewer writes a folder at a time (a
 * lock file with its pid); another one on the same folder only reads it.
 */
export class TrailCache {
  readonly writable: boolean;
  private readonly lockPath: string;

  constructor(
    readonly dir: string,
    readonly trail: string,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.lockPath = join(dir, "lock");
    this.writable = this.lock();
  }

  private lock(): boolean {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(this.lockPath, "wx", 0o600);
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return true;
      } catch {
        // Held: by a live process, or left by one that died.
        let pid = Number.NaN;
        try {
          pid = Number(readFileSync(this.lockPath, "utf8"));
        } catch {
          continue;
        }
        if (pid === process.pid || alive(pid)) return false;
        try {
          unlinkSync(this.lockPath);
        } catch {
          return false;
        }
      }
    }
    return false;
  }

  /** A fresh file name in the folder. */
  newPath(prefix: string, ext: string): string {
    return join(this.dir, `${prefix}-${randomBytes(8).toString("hex")}${ext}`);
  }

  async load(): Promise<Manifest | null> {
    try {
      const manifest = JSON.parse(await readFile(join(this.dir, "manifest.json"), "utf8")) as Manifest;
      if (manifest.format !== FORMAT || manifest.trail !== this.trail || !Array.isArray(manifest.segments)) return null;
      return manifest;
    } catch {
      return null;
    }
  }

  async loadChunk(file: string): Promise<ChunkData> {
    // One read of the whole file into a buffer of its own (readFile reads in small pieces).
    const handle = await open(join(this.dir, file), "r");
    try {
      const { size } = await handle.stat();
      const buffer = Buffer.allocUnsafeSlow(size);
      let filled = 0;
      while (filled < size) {
        const { bytesRead } = await handle.read(buffer, filled, size - filled, filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return decodeChunk(buffer.subarray(0, filled));
    } finally {
      await handle.close();
    }
  }

  async writeChunk(chunk: ChunkData): Promise<string> {
    const path = this.newPath("c", ".bin");
    const handle = await open(path, "w", 0o600);
    try {
      const parts = encodeChunk(chunk);
      // writev may write less than asked: the rest goes on from where it stopped.
      let written = (await handle.writev(parts)).bytesWritten;
      const total = parts.reduce((sum, part) => sum + part.byteLength, 0);
      if (written < total) {
        const file = Buffer.concat(parts);
        while (written < total) written += (await handle.write(file, written, total - written, written)).bytesWritten;
      }
    } finally {
      await handle.close();
    }
    return path.slice(this.dir.length + 1);
  }

  /** Replaces the manifest, then deletes the files it does not name (except those `inUse`: a build writing them). */
  async saveManifest(segments: SegmentRecord[], inUse: Set<string>): Promise<void> {
    const manifest: Manifest = { format: FORMAT, trail: this.trail, segments };
    const temp = join(this.dir, `manifest.${process.pid}.tmp`);
    await writeFile(temp, JSON.stringify(manifest), { mode: 0o600 });
    await rename(temp, join(this.dir, "manifest.json"));
    const named = new Set<string>(["manifest.json", "lock"]);
    for (const segment of segments) {
      if (segment.store) named.add(segment.store);
      for (const chunk of segment.chunks) named.add(chunk.file);
    }
    await this.removeExcept(named, inUse);
  }

  /** Deletes the files of the folder that are not named (nor in use: `keep`). */
  async removeExcept(named: Set<string>, keep: Set<string>): Promise<void> {
    let names: string[] = [];
    try {
      names = await readdir(this.dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (named.has(name) || keep.has(name) || name.endsWith(".tmp")) continue;
      await rm(join(this.dir, name), { force: true }).catch(() => {});
    }
  }

  release(): void {
    if (!this.writable) return;
    try {
      if (Number(readFileSync(this.lockPath, "utf8")) === process.pid) unlinkSync(this.lockPath);
    } catch {
      // gone already
    }
  }
}

function alive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
