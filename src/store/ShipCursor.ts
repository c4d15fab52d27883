/**
 * How far a trail has been shipped to one store, kept in the trail's folder
 * as `<trail>.shipped-<store id>.json`: per segment (by fingerprint, so that
 * renames and compression keep it) the offset of the first line not yet in
 * the store, with the lines shipped and skipped. It is written (to a
 * temporary file, fsync'ed, renamed over the old one) only after the store
 * committed the lines before that offset; a crash in between only makes the
 * shipper send lines again, which the store's primary key ignores. The write
 * runs off the event loop (the shipper may live in the application's process,
 * and an fsync can take a second on a busy disk); saves asked for meanwhile
 * become one write after it.
 */
import { readdirSync, readFileSync } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import { join } from "node:path";

export const CURSOR_FORMAT = "auditx-ship-cursor/1";

export interface SegmentCursor {
  /** The segment's name when last seen (for people reading the file; the key is the fingerprint). */
  name: string;
  /** Bytes of the segment's content (decompressed) shipped or skipped: the next line starts here. */
  offset: number;
  /** Lines stored from this segment, and lines skipped (malformed, torn, too long). */
  lines: number;
  skipped: number;
  /** The segment is finished (rotated, settled) and read to its end. */
  done: boolean;
}

export interface CursorFile {
  format: typeof CURSOR_FORMAT;
  store: string;
  trail: string;
  logDir: string;
  updated: string;
  /** Lifetime totals for this trail and store. */
  shipped: number;
  skipped: number;
  segments: Record<string, SegmentCursor>;
}

/** The cursor file of `trail` in `logDir` for the store `storeId`. */
export function cursorPath(logDir: string, trail: string, storeId: string): string {
  return join(logDir, `${trail}.shipped-${storeId}.json`);
}

/** The stores that `trail` in `logDir` has cursors for (from the file names). */
export function findCursorStores(logDir: string, trail: string): string[] {
  const prefix = `${trail}.shipped-`;
  try {
    return readdirSync(logDir)
      .filter((name) => name.startsWith(prefix) && name.endsWith(".json"))
      .map((name) => name.slice(prefix.length, -".json".length));
  } catch {
    return [];
  }
}

function isCursorFile(value: unknown, storeId: string): value is CursorFile {
  if (value === null || typeof value !== "object") return false;
  const file = value as Partial<CursorFile>;
  return file.format === CURSOR_FORMAT && file.store === storeId && typeof file.segments === "object" && file.segments !== null;
}

export class ShipCursor {
  readonly path: string;
  data: CursorFile;
  /** Set when the file existed but could not be read: shipping starts over (the store ignores what it has). */
  readonly unreadable: string | null = null;
  /** The write under way, whether the cursor moved since it began, and the failure last reported. */
  private writing: Promise<void> | null = null;
  private movedSinceWrite = false;
  private reportedFailure: string | null = null;

  constructor(
    logDir: string,
    trail: string,
    readonly storeId: string,
    /** Told when a write fails (once per distinct failure until a write succeeds again). */
    private readonly onWriteFailure: (error: Error) => void = () => undefined,
  ) {
    this.path = cursorPath(logDir, trail, storeId);
    const empty: CursorFile = {
      format: CURSOR_FORMAT,
      store: storeId,
      trail,
      logDir,
      updated: new Date().toISOString(),
      shipped: 0,
      skipped: 0,
      segments: {},
    };
    let text: string | null = null;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") this.unreadable = (error as Error).message;
    }
    if (text === null) {
      this.data = empty;
      return;
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (!isCursorFile(parsed, storeId)) throw new Error("not a shipping cursor of this store");
      this.data = { ...parsed, logDir, trail };
    } catch (error) {
      this.unreadable = (error as Error).message;
      this.data = empty;
    }
  }

  segment(key: string): SegmentCursor | undefined {
    return this.data.segments[key];
  }

  set(key: string, segment: SegmentCursor): void {
    this.data.segments[key] = segment;
  }

  /** Forgets segments no longer in the folder (pruned by retention). */
  forget(keys: Iterable<string>): void {
    for (const key of keys) delete this.data.segments[key];
  }

  /**
   * Writes the cursor durably (temporary file, fsync, rename) in the
   * background; a save asked for while one runs is merged into a write after
   * it. A failed write is reported and the next save tries again: until then
   * only a restart would send lines again, which the store turns away.
   */
  save(): void {
    if (this.writing) this.movedSinceWrite = true;
    else this.writing = this.writeWhileMoved();
  }

  /** Resolves once every save asked for was written (or failed and was reported). */
  async saved(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async writeWhileMoved(): Promise<void> {
    try {
      do {
        this.movedSinceWrite = false;
        await this.write();
      } while (this.movedSinceWrite);
      this.reportedFailure = null;
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      if (failure.message !== this.reportedFailure) this.onWriteFailure(failure);
      this.reportedFailure = failure.message;
    } finally {
      this.writing = null;
    }
  }

  private async write(): Promise<void> {
    this.data.updated = new Date().toISOString();
    const text = `${JSON.stringify(this.data, null, 1)}\n`;
    const temporary = `${this.path}.${process.pid}.tmp`;
    const handle = await open(temporary, "w", 0o640);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await rename(temporary, this.path);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }
}
