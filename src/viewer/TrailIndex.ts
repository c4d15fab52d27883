import { isUtf8 } from "node:buffer";
import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { timestampMillis } from "../internal/timestampMillis.js";
import { listTrailSegments } from "../trail/segments.js";
import { Dictionary } from "./Dictionary.js";
import type { EntryFilter } from "./EntryQuery.js";
import { TextSearch } from "./TextSearch.js";

export type TrailEntry = Record<string, unknown>;

type Column = Uint32Array<ArrayBuffer> | Float64Array<ArrayBuffer> | Int32Array<ArrayBuffer> | Uint8Array<ArrayBuffer>;
type U32 = Uint32Array<ArrayBuffer>;
type F64 = Float64Array<ArrayBuffer>;
type I32 = Int32Array<ArrayBuffer>;
type ColumnTuple = [U32, F64, U32, F64, U32, U32, U32, U32, U32, U32, U32, I32, I32, I32, Uint8Array<ArrayBuffer>];

export interface TrailIndexOptions {
  /** Entries kept in memory; past it the oldest 10% are forgotten (default 5,000,000, about 65 bytes each). */
  maxEntries?: number;
  /** Longest line read; longer ones are skipped and counted as malformed (default 16 MiB). */
  maxLineBytes?: number;
}

/** The counts /api/stats shows for one trail. */
export interface TrailStats {
  total: number;
  failures: number;
  modules: Record<string, number>;
  levels: Record<string, number>;
  latest_timestamp: string | null;
  malformed: number;
  /** Oldest entries forgotten because of maxEntries. */
  evicted: number;
}

export interface QueryResult {
  total: number;
  /** Entry ordinals of the page, newest first. */
  ordinals: number[];
}

/** One file of the trail, known by its inode so that a rename (rotation) keeps its identity. */
interface IndexedFile {
  id: number;
  name: string;
  key: string;
  fd: number;
  /** Bytes indexed so far: always the start of a line. */
  readOffset: number;
  malformed: number;
  active: boolean;
  /** Consecutive listings the file was absent from while still linked somewhere. */
  missing: number;
}

/** Listings a still-linked file may be absent from before it is forgotten (readdir can miss a file being renamed). */
const MISSING_LISTINGS_BEFORE_FORGET = 3;

/** A compiled filter: dictionary ids (-1 = no filter, 0 would be "absent"), hashes and bounds. */
interface CompiledFilter {
  module: number;
  level: number;
  user: number;
  action: number;
  branch: number;
  company: number;
  entityType: number;
  success: number;
  from: number;
  to: number;
  hashed: Array<{ column: Int32Array; hash: number; field: string; value: string }>;
  textBits: Uint8Array | null;
}

const READ_CHUNK_BYTES = 4 * 1024 * 1024;
const INITIAL_CAPACITY = 4096;
const TEXT_CACHE_SIZE = 4;
/** Past this many unscanned new entries a cached text search is redone whole. */
const TEXT_INCREMENT_LIMIT = 20_000;

/** FNV-1a, never 0 (0 marks an absent value). */
function hashText(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash === 0 ? 1 : hash;
}

function textOf(value: unknown): string | undefined {
  if (typeof value === "string") return value === "" ? undefined : value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

/**
 * A columnar index of one trail (audit.jsonl or security.jsonl with its rotated
 * backups): per entry only its place on disk, its time, dictionary ids of the
 * filterable fields and hashes of the identifiers, in typed arrays. Filters scan
 * those arrays; only the entries of the page are read back from disk.
 * `refresh()` reads what was appended since, follows renames by inode (rotation)
 * and forgets files that are gone, so an entry is indexed once and never missed.
 */
export class TrailIndex {
  readonly maxEntries: number;
  readonly maxLineBytes: number;
  count = 0;
  /** Bumped whenever ordinals change meaning (entries forgotten); caches compare it. */
  generation = 0;
  evicted = 0;

  fileColumn = new Uint32Array(INITIAL_CAPACITY);
  offsetColumn = new Float64Array(INITIAL_CAPACITY);
  lengthColumn = new Uint32Array(INITIAL_CAPACITY);
  private time = new Float64Array(INITIAL_CAPACITY);
  private module = new Uint32Array(INITIAL_CAPACITY);
  private level = new Uint32Array(INITIAL_CAPACITY);
  private user = new Uint32Array(INITIAL_CAPACITY);
  private action = new Uint32Array(INITIAL_CAPACITY);
  private branch = new Uint32Array(INITIAL_CAPACITY);
  private company = new Uint32Array(INITIAL_CAPACITY);
  private entityType = new Uint32Array(INITIAL_CAPACITY);
  private entityIdHash = new Int32Array(INITIAL_CAPACITY);
  private referenceHash = new Int32Array(INITIAL_CAPACITY);
  private requestIdHash = new Int32Array(INITIAL_CAPACITY);
  private success = new Uint8Array(INITIAL_CAPACITY);

  private readonly modules = new Dictionary(true);
  private readonly levels = new Dictionary(true);
  private readonly users = new Dictionary(true);
  private readonly actions = new Dictionary(true);
  private readonly branches = new Dictionary(false);
  private readonly companies = new Dictionary(false);
  private readonly entityTypes = new Dictionary(false);

  private readonly files = new Map<string, IndexedFile>();
  private readonly filesById = new Map<number, IndexedFile>();
  private nextFileId = 1;
  private readBuffer = Buffer.allocUnsafeSlow(READ_CHUNK_BYTES);
  private lineBuffer = Buffer.allocUnsafeSlow(64 * 1024);
  private readonly appendListeners = new Set<(entries: TrailEntry[]) => void>();
  private pendingNotifications: TrailEntry[] | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;
  private statsCache: { key: string; stats: TrailStats } | null = null;
  private readonly textCache = new Map<string, { bits: Uint8Array; covered: number; generation: number }>();

  constructor(
    readonly dir: string,
    readonly baseName: string,
    options: TrailIndexOptions = {},
  ) {
    this.maxEntries = Math.max(1000, Math.floor(options.maxEntries ?? 5_000_000));
    this.maxLineBytes = Math.max(64 * 1024, Math.floor(options.maxLineBytes ?? 16 * 1024 * 1024));
  }

  /** Calls `listener` with the entries each later refresh finds appended (not the ones of the first build). */
  onAppend(listener: (entries: TrailEntry[]) => void): () => void {
    this.appendListeners.add(listener);
    return () => {
      this.appendListeners.delete(listener);
    };
  }

  /**
   * Brings the index up to date with the files. Calls made while one runs are
   * folded into one more pass, so refreshes never overlap.
   */
  refresh(notify = true): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.refreshOnce(notify);
        } while (this.again && !this.closed);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  close(): void {
    this.closed = true;
    for (const file of this.files.values()) closeQuietly(file.fd);
    this.files.clear();
    this.filesById.clear();
  }

  descriptorOf(fileId: number): number {
    return this.filesById.get(fileId)?.fd ?? -1;
  }

  get malformed(): number {
    let sum = 0;
    for (const file of this.files.values()) sum += file.malformed;
    return sum;
  }

  private async refreshOnce(notify: boolean): Promise<void> {
    if (this.closed) return;
    const seen = new Set<IndexedFile>();
    const order: IndexedFile[] = [];
    for (const { name, path, live, compressed } of listTrailSegments(this.dir, this.baseName)) {
      // Compressed segments are read by the trail readers that stream them; this index maps byte offsets of plain files.
      if (compressed) continue;
      let key: string;
      try {
        const stat = statSync(path);
        if (!stat.isFile()) continue;
        key = `${stat.dev}:${stat.ino}`;
      } catch {
        continue; // renamed or removed between the listing and now: the next pass sees it
      }
      let file = this.files.get(key);
      if (!file) {
        const opened = openFile(path, key);
        if (opened === null) continue;
        file = { id: this.nextFileId++, name, key, fd: opened, readOffset: 0, malformed: 0, active: false, missing: 0 };
        this.files.set(key, file);
        this.filesById.set(file.id, file);
      }
      file.name = name;
      file.active = live;
      file.missing = 0;
      if (!seen.has(file)) order.push(file);
      seen.add(file);
    }
    for (const file of this.files.values()) {
      if (seen.has(file)) continue;
      // A listing taken during a rename may miss a file that is still there:
      // forgetting it would index it again as new. Forget only what was deleted
      // (no link left), or what stays away from several listings (moved elsewhere).
      let deleted = true;
      try {
        deleted = fstatSync(file.fd).nlink === 0;
      } catch {
        // unreadable: treat as deleted
      }
      // Read its new lines first: they are older than the active file's. A deleted file will
      // not grow any more, so its last line counts even without a newline.
      if (deleted) file.active = false;
      await this.readAppended(file, notify);
      if (deleted || ++file.missing >= MISSING_LISTINGS_BEFORE_FORGET) this.forgetFile(file);
    }
    for (const file of order) {
      if (this.closed) return;
      let size: number;
      try {
        size = fstatSync(file.fd).size;
      } catch {
        continue;
      }
      if (size < file.readOffset) {
        // Truncated in place (copytruncate): index it again from the start.
        this.dropEntries((fileId) => fileId === file.id);
        file.readOffset = 0;
        file.malformed = 0;
      }
      if (size > file.readOffset) await this.readAppended(file, notify);
    }
  }

  private forgetFile(file: IndexedFile): void {
    this.dropEntries((fileId) => fileId === file.id);
    this.files.delete(file.key);
    this.filesById.delete(file.id);
    closeQuietly(file.fd);
  }

  /** Indexes the complete lines past readOffset (and, in a backup, a last line without newline). */
  private async readAppended(file: IndexedFile, notify: boolean): Promise<void> {
    this.pendingNotifications = notify && this.appendListeners.size > 0 ? [] : null;
    let position = file.readOffset;
    for (;;) {
      let buffer = this.readBuffer;
      let read: number;
      try {
        read = readSync(file.fd, buffer, 0, buffer.length, position);
      } catch {
        break;
      }
      if (read === 0) break;
      const atEnd = read < buffer.length;
      let consumed = this.indexLines(file, buffer, read, position, atEnd && !file.active);
      if (consumed === 0 && !atEnd) {
        // A line longer than the buffer: grow up to maxLineBytes, past that skip it.
        if (buffer.length < this.maxLineBytes) {
          this.readBuffer = buffer = Buffer.allocUnsafeSlow(Math.min(this.maxLineBytes, buffer.length * 2));
          continue;
        }
        consumed = skipLine(file.fd, position + read, buffer) - position;
        file.malformed++;
      }
      position += consumed;
      file.readOffset = position;
      this.flushNotifications();
      if (atEnd || this.closed) break;
      await yieldToEventLoop();
    }
    if (this.readBuffer.length > READ_CHUNK_BYTES) this.readBuffer = Buffer.allocUnsafeSlow(READ_CHUNK_BYTES);
    this.pendingNotifications = null;
  }

  private flushNotifications(): void {
    const pending = this.pendingNotifications;
    if (!pending || pending.length === 0) return;
    this.pendingNotifications = [];
    for (const listener of this.appendListeners) {
      try {
        listener(pending);
      } catch {
        // A live view's failure must not stop the index.
      }
    }
  }

  /** Indexes the complete lines of buffer[0, length); returns the bytes consumed. */
  private indexLines(file: IndexedFile, buffer: Buffer, length: number, base: number, takeUnterminated: boolean): number {
    const chunk = buffer.subarray(0, length);
    const checkEachLine = !isUtf8(chunk);
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(10, start);
      if (newline < 0) break;
      this.indexLine(file, chunk, start, newline, base, checkEachLine);
      start = newline + 1;
    }
    if (takeUnterminated && start < length) {
      this.indexLine(file, chunk, start, length, base, checkEachLine);
      start = length;
    }
    return start;
  }

  private indexLine(file: IndexedFile, chunk: Buffer, start: number, end: number, base: number, checkUtf8: boolean): void {
    // A byte order mark at the start of a file (an editor on Windows) is not part of the first entry.
    if (base + start === 0 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) start = 3;
    let stop = end;
    if (stop > start && chunk[stop - 1] === 13) stop--;
    if (stop === start) return;
    let entry: unknown;
    if (checkUtf8 && !isUtf8(chunk.subarray(start, stop))) {
      file.malformed++;
      return;
    }
    try {
      entry = JSON.parse(chunk.toString("utf8", start, stop));
    } catch {
      // Blank lines are not entries, nor errors.
      if (chunk.subarray(start, stop).toString("latin1").trim() !== "") file.malformed++;
      return;
    }
    if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
      file.malformed++;
      return;
    }
    this.append(file.id, base + start, end - start, entry as TrailEntry);
    this.pendingNotifications?.push(entry as TrailEntry);
  }

  private append(fileId: number, offset: number, length: number, entry: TrailEntry): void {
    if (this.count >= this.maxEntries) this.dropOldest(Math.ceil(this.maxEntries / 10));
    if (this.count === this.fileColumn.length) this.grow();
    const i = this.count++;
    this.fileColumn[i] = fileId;
    this.offsetColumn[i] = offset;
    this.lengthColumn[i] = length;
    this.time[i] = typeof entry.timestamp === "string" ? timestampMillis(entry.timestamp) : Number.NaN;
    this.module[i] = intern(this.modules, entry.module);
    this.level[i] = intern(this.levels, entry.level);
    this.user[i] = intern(this.users, entry.user);
    this.action[i] = intern(this.actions, entry.action);
    this.branch[i] = intern(this.branches, entry.branch_id);
    this.company[i] = intern(this.companies, entry.company_id);
    this.entityType[i] = intern(this.entityTypes, entry.entity_type);
    this.entityIdHash[i] = hashOf(entry.entity_id);
    this.referenceHash[i] = hashOf(entry.reference_no);
    this.requestIdHash[i] = hashOf(entry.request_id);
    this.success[i] = entry.success === true ? 1 : entry.success === false ? 0 : 2;
  }

  private columns(): Column[] {
    return [
      this.fileColumn,
      this.offsetColumn,
      this.lengthColumn,
      this.time,
      this.module,
      this.level,
      this.user,
      this.action,
      this.branch,
      this.company,
      this.entityType,
      this.entityIdHash,
      this.referenceHash,
      this.requestIdHash,
      this.success,
    ];
  }

  private setColumns(columns: Column[]): void {
    [
      this.fileColumn,
      this.offsetColumn,
      this.lengthColumn,
      this.time,
      this.module,
      this.level,
      this.user,
      this.action,
      this.branch,
      this.company,
      this.entityType,
      this.entityIdHash,
      this.referenceHash,
      this.requestIdHash,
      this.success,
    ] = columns as ColumnTuple;
  }

  private grow(): void {
    const capacity = Math.min(this.maxEntries, Math.max(INITIAL_CAPACITY, Math.ceil(this.fileColumn.length * 1.5)));
    this.setColumns(
      this.columns().map((column) => {
        const larger = new (column.constructor as new (length: number) => typeof column)(capacity);
        larger.set(column.subarray(0, this.count));
        return larger;
      }),
    );
  }

  private dropOldest(drop: number): void {
    const n = Math.min(drop, this.count);
    for (const column of this.columns()) column.copyWithin(0, n, this.count);
    this.count -= n;
    this.evicted += n;
    this.generation++;
  }

  /** Removes the entries whose file matches, keeping the order of the rest. */
  private dropEntries(matches: (fileId: number) => boolean): void {
    const columns = this.columns();
    let kept = 0;
    for (let i = 0; i < this.count; i++) {
      if (matches(this.fileColumn[i]!)) continue;
      if (kept !== i) for (const column of columns) column[kept] = column[i]!;
      kept++;
    }
    if (kept !== this.count) {
      this.count = kept;
      this.generation++;
    }
  }

  /** Prepares a filter; null when no entry can match (a value no entry has). */
  private compile(filter: EntryFilter): CompiledFilter | null {
    const lookup = (dictionary: Dictionary, value: string | undefined) => (value === undefined ? -1 : dictionary.find(value));
    const compiled: CompiledFilter = {
      module: lookup(this.modules, filter.module),
      level: lookup(this.levels, filter.level),
      user: lookup(this.users, filter.user),
      action: lookup(this.actions, filter.action),
      branch: lookup(this.branches, filter.branchId),
      company: lookup(this.companies, filter.companyId),
      entityType: lookup(this.entityTypes, filter.entityType),
      success: filter.success === undefined ? -1 : filter.success ? 1 : 0,
      from: filter.from ?? Number.NEGATIVE_INFINITY,
      to: filter.to ?? Number.POSITIVE_INFINITY,
      hashed: [],
      textBits: null,
    };
    const unknown = (asked: string | undefined, id: number) => asked !== undefined && id < 0;
    if (
      unknown(filter.module, compiled.module) ||
      unknown(filter.level, compiled.level) ||
      unknown(filter.user, compiled.user) ||
      unknown(filter.action, compiled.action) ||
      unknown(filter.branchId, compiled.branch) ||
      unknown(filter.companyId, compiled.company) ||
      unknown(filter.entityType, compiled.entityType)
    ) {
      return null;
    }
    if (filter.entityId !== undefined)
      compiled.hashed.push({ column: this.entityIdHash, hash: hashText(filter.entityId), field: "entity_id", value: filter.entityId });
    if (filter.referenceNo !== undefined)
      compiled.hashed.push({
        column: this.referenceHash,
        hash: hashText(filter.referenceNo),
        field: "reference_no",
        value: filter.referenceNo,
      });
    if (filter.requestId !== undefined)
      compiled.hashed.push({ column: this.requestIdHash, hash: hashText(filter.requestId), field: "request_id", value: filter.requestId });
    if (filter.q !== undefined) compiled.textBits = this.textBits(filter.q);
    return compiled;
  }

  /**
   * Scans the entries newest first from `below` (exclusive): counts the matches
   * and collects the ordinals of those numbered [skip, skip + take). With
   * `stopWhenFull` it stops once the page is full (the count is then partial).
   * One loop over typed arrays, no call per entry: 1M entries in a few ms.
   */
  private scan(compiled: CompiledFilter, below: number, skip: number, take: number, stopWhenFull: boolean): QueryResult {
    const { module, level, user, action, branch, company, entityType, success, from, to, hashed, textBits } = compiled;
    const timed = from !== Number.NEGATIVE_INFINITY || to !== Number.POSITIVE_INFINITY;
    const modules = this.module;
    const levels = this.level;
    const users = this.user;
    const actions = this.action;
    const branches = this.branch;
    const companies = this.company;
    const entityTypes = this.entityType;
    const successes = this.success;
    const times = this.time;
    const ordinals: number[] = [];
    const end = skip + take;
    let total = 0;
    for (let i = Math.min(below, this.count) - 1; i >= 0; i--) {
      if (module >= 0 && modules[i] !== module) continue;
      if (level >= 0 && levels[i] !== level) continue;
      if (user >= 0 && users[i] !== user) continue;
      if (action >= 0 && actions[i] !== action) continue;
      if (branch >= 0 && branches[i] !== branch) continue;
      if (company >= 0 && companies[i] !== company) continue;
      if (entityType >= 0 && entityTypes[i] !== entityType) continue;
      if (success >= 0 && successes[i] !== success) continue;
      if (timed) {
        const t = times[i]!;
        if (!(t >= from && t <= to)) continue;
      }
      if (textBits !== null && textBits[i] !== 1) continue;
      if (hashed.length > 0 && !this.matchesHashed(i, hashed)) continue;
      if (total >= skip && total < end) ordinals.push(i);
      total++;
      if (stopWhenFull && total >= end) break;
    }
    return { total, ordinals };
  }

  private isUnfiltered(compiled: CompiledFilter): boolean {
    const c = compiled;
    return (
      c.module < 0 &&
      c.level < 0 &&
      c.user < 0 &&
      c.action < 0 &&
      c.branch < 0 &&
      c.company < 0 &&
      c.entityType < 0 &&
      c.success < 0 &&
      c.from === Number.NEGATIVE_INFINITY &&
      c.to === Number.POSITIVE_INFINITY &&
      c.hashed.length === 0 &&
      c.textBits === null
    );
  }

  /** Hashes narrow the candidates; the line itself confirms (a hash may collide). */
  private matchesHashed(ordinal: number, hashed: CompiledFilter["hashed"]): boolean {
    for (const { column, hash } of hashed) if (column[ordinal] !== hash) return false;
    const entry = this.readEntry(ordinal);
    if (!entry) return false;
    for (const { field, value } of hashed) if (textOf(entry[field]) !== value) return false;
    return true;
  }

  /** One page of matching entries, newest first, with the exact number of matches. */
  query(filter: EntryFilter, offset: number, limit: number): QueryResult {
    const compiled = this.compile(filter);
    if (!compiled) return { total: 0, ordinals: [] };
    if (this.isUnfiltered(compiled)) {
      // The first page of the whole trail: no scan at all.
      const ordinals: number[] = [];
      for (let i = this.count - 1 - offset; i >= 0 && ordinals.length < limit; i--) ordinals.push(i);
      return { total: this.count, ordinals };
    }
    return this.scan(compiled, this.count, offset, limit, false);
  }

  /**
   * Every matching entry, newest first, in batches (for exports): each batch is
   * read when the caller asks for it, so a slow download holds little memory.
   * Stops early if entries are forgotten meanwhile (their ordinals would shift).
   */
  *matchingBatches(filter: EntryFilter, batchSize = 1000): Generator<TrailEntry[]> {
    const compiled = this.compile(filter);
    if (!compiled) return;
    const generation = this.generation;
    let below = this.count;
    while (below > 0 && generation === this.generation) {
      const { ordinals } = this.scan(compiled, below, 0, batchSize, true);
      if (ordinals.length === 0) return;
      below = ordinals[ordinals.length - 1]!;
      yield this.readEntries(ordinals);
    }
  }

  /** The entries at these ordinals, parsed from disk. */
  readEntries(ordinals: number[]): TrailEntry[] {
    const entries: TrailEntry[] = [];
    for (const ordinal of ordinals) {
      const entry = this.readEntry(ordinal);
      if (entry) entries.push(entry);
    }
    return entries;
  }

  /** Raw bytes of an entry's line (without the newline), or null when its file is gone. */
  readLine(ordinal: number): Buffer | null {
    const fd = this.descriptorOf(this.fileColumn[ordinal]!);
    if (fd < 0) return null;
    const length = this.lengthColumn[ordinal]!;
    if (this.lineBuffer.length < length) this.lineBuffer = Buffer.allocUnsafeSlow(Math.max(length, this.lineBuffer.length * 2));
    try {
      const read = readSync(fd, this.lineBuffer, 0, length, this.offsetColumn[ordinal]!);
      let end = read;
      while (end > 0 && (this.lineBuffer[end - 1] === 10 || this.lineBuffer[end - 1] === 13)) end--;
      return this.lineBuffer.subarray(0, end);
    } catch {
      return null;
    }
  }

  private readEntry(ordinal: number): TrailEntry | null {
    const line = this.readLine(ordinal);
    if (!line) return null;
    try {
      return JSON.parse(line.toString("utf8")) as TrailEntry;
    } catch {
      return null;
    }
  }

  /** Bitmap of the entries whose line contains `q`; cached, and extended for entries appended since. */
  private textBits(q: string): Uint8Array {
    const cached = this.textCache.get(q);
    const search = new TextSearch(q);
    if (cached && cached.generation === this.generation && this.count - cached.covered <= TEXT_INCREMENT_LIMIT) {
      this.textCache.delete(q);
      this.textCache.set(q, cached);
      if (cached.covered === this.count) return cached.bits;
      const bits = new Uint8Array(this.count);
      bits.set(cached.bits.subarray(0, Math.min(cached.covered, this.count)));
      for (let i = cached.covered; i < this.count; i++) {
        const line = this.readLine(i);
        if (line && search.matchesLine(line)) bits[i] = 1;
      }
      cached.bits = bits;
      cached.covered = this.count;
      return bits;
    }
    const bits = search.scan(this);
    this.textCache.delete(q);
    this.textCache.set(q, { bits, covered: this.count, generation: this.generation });
    while (this.textCache.size > TEXT_CACHE_SIZE) this.textCache.delete(this.textCache.keys().next().value!);
    return bits;
  }

  /** Totals, failures, counts per module and level, newest timestamp, malformed lines. */
  stats(): TrailStats {
    const key = `${this.generation}:${this.count}:${this.malformed}`;
    if (this.statsCache?.key === key) return this.statsCache.stats;
    const moduleCounts = new Uint32Array(this.modules.size);
    const levelCounts = new Uint32Array(this.levels.size);
    let failures = 0;
    let latest = -1;
    let latestTime = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < this.count; i++) {
      moduleCounts[this.module[i]!]!++;
      levelCounts[this.level[i]!]!++;
      if (this.success[i] === 0) failures++;
      const t = this.time[i]!;
      if (t >= latestTime) {
        latestTime = t;
        latest = i;
      }
    }
    if (latest < 0 && this.count > 0) latest = this.count - 1;
    const named = (dictionary: Dictionary, counts: Uint32Array) => {
      const result: Record<string, number> = {};
      for (let id = 1; id < counts.length; id++) if (counts[id]! > 0) result[dictionary.name(id)] = counts[id]!;
      return result;
    };
    const latestEntry = latest >= 0 ? this.readEntry(latest) : null;
    const stats: TrailStats = {
      total: this.count,
      failures,
      modules: named(this.modules, moduleCounts),
      levels: named(this.levels, levelCounts),
      latest_timestamp: typeof latestEntry?.timestamp === "string" ? latestEntry.timestamp : null,
      malformed: this.malformed,
      evicted: this.evicted,
    };
    this.statsCache = { key, stats };
    return stats;
  }
}

function intern(dictionary: Dictionary, value: unknown): number {
  const text = textOf(value);
  return text === undefined ? 0 : dictionary.intern(text);
}

function hashOf(value: unknown): number {
  const text = textOf(value);
  return text === undefined ? 0 : hashText(text);
}

/** Opens a file for reading and checks it is still the inode that was listed. */
function openFile(path: string, key: string): number | null {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return null;
  }
  try {
    const stat = fstatSync(fd);
    if (`${stat.dev}:${stat.ino}` === key) return fd;
  } catch {
    // fall through
  }
  closeQuietly(fd);
  return null;
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

/** The offset just past the next newline at or after `position` (or the end of the file). */
function skipLine(fd: number, position: number, buffer: Buffer): number {
  let at = position;
  for (;;) {
    const read = readSync(fd, buffer, 0, buffer.length, at);
    if (read === 0) return at;
    const newline = buffer.subarray(0, read).indexOf(10);
    if (newline >= 0) return at + newline + 1;
    at += read;
  }
}
