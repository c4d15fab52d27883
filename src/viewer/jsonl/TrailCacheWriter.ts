import type { Chunk } from "./Chunk.js";
import type { ChunkRecord, SegmentRecord, TrailCache } from "./IndexCache.js";
import { digest, HEAD_BYTES, TAIL_BYTES } from "./jobs.js";
import { SLICE_MS, Slicer } from "./Slicer.js";
import type { TrailBuilder } from "./TrailBuilder.js";
import type { TrailState } from "./TrailState.js";

/**
 * Writes a trail's index to its cache folder: each sealed chunk once, the
 * open chunk of a growing segment as a snapshot, and the manifest that ties
 * them to the segments (with what recognises each segment at the next
 * start). One save at a time; a save skips what changes under it.
 */
export class TrailCacheWriter {
  private saving: Promise<void> | null = null;

  constructor(
    private readonly state: TrailState,
    private readonly builder: TrailBuilder,
    private readonly cache: TrailCache | null,
  ) {}

  /** Writes new chunks and the manifest, when something changed (one save at a time). */
  async save(): Promise<void> {
    if (!this.cache?.writable || !this.state.dirty || !this.builder.built) return;
    if (this.saving) return this.saving;
    this.state.dirty = false;
    this.saving = this.writeCache()
      .catch(() => {
        this.state.dirty = true;
      })
      .finally(() => {
        this.saving = null;
      });
    return this.saving;
  }

  private async writeCache(): Promise<void> {
    const cache = this.cache!;
    const slicer = new Slicer(SLICE_MS);
    const records: SegmentRecord[] = [];
    const inUse = new Set([...this.builder.storesInProgress].map((path) => path.slice(cache.dir.length + 1)));
    for (const segment of [...this.state.segments]) {
      // A `.gz` segment is remembered once built, into this folder.
      if (segment.kind === "gzip" && (!segment.storePath?.startsWith(cache.dir) || segment.building > 0)) continue;
      // A segment reset meanwhile (truncated) is left for the next save: its chunks and digests must be of one content.
      const epoch = segment.epoch;
      const chunks: ChunkRecord[] = [];
      for (const chunk of segment.chunks) {
        let file = this.state.written.get(chunk);
        if (!file) {
          file = await cache.writeChunk((chunk as Chunk).data);
          this.state.written.set(chunk, file);
        }
        chunks.push({ file, start: chunk.start, end: chunk.end, count: chunk.count });
        await slicer.pause();
      }
      if (segment.open && segment.open.end > segment.open.start) {
        const snapshot = segment.open.seal();
        chunks.push({ file: await cache.writeChunk(snapshot), start: snapshot.start, end: snapshot.end, count: snapshot.count });
      }
      const evicted = this.state.evictedUpTo.get(segment);
      const contentEnd = Math.max(evicted?.end ?? 0, ...chunks.map((chunk) => chunk.end));
      if (contentEnd <= 0) continue;
      let head: string;
      let tail: string;
      const gzip = this.state.gzipDigests.get(segment);
      if (segment.kind === "gzip") {
        if (!gzip) continue;
        ({ head, tail } = gzip);
      } else {
        const headBytes = segment.read(0, Math.min(HEAD_BYTES, contentEnd));
        const tailBytes = segment.read(Math.max(0, contentEnd - TAIL_BYTES), contentEnd);
        if (!headBytes || !tailBytes) continue;
        head = digest(headBytes);
        tail = digest(tailBytes);
      }
      if (segment.epoch !== epoch) {
        this.state.dirty = true;
        continue;
      }
      // Forgotten entries are remembered as a chunk-less range, so that a restart does not index them again.
      if (evicted) chunks.unshift({ file: "", start: 0, end: evicted.end, count: evicted.count });
      records.push({
        name: segment.name,
        kind: segment.kind,
        key: segment.key,
        fileSize: segment.fileSize,
        contentEnd,
        head,
        tail,
        store: segment.storePath ? segment.storePath.slice(cache.dir.length + 1) : undefined,
        fileHead: gzip?.fileHead,
        fileTail: gzip?.fileTail,
        chunks,
        skippedLines: segment.skippedLines,
      });
    }
    await cache.saveManifest(records, inUse);
  }

  /** Resolves once a save running now is done. */
  async idle(): Promise<void> {
    await this.saving?.catch(() => {});
  }
}
