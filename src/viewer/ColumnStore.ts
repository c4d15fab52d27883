import { timestampMillis } from "../internal/timestampMillis.js";
import { Dictionary } from "./Dictionary.js";
import { ipv4Number } from "./IpRange.js";
import type { TrailEntry } from "./TrailSource.js";

type Column = Uint32Array<ArrayBuffer> | Float64Array<ArrayBuffer> | Int32Array<ArrayBuffer> | Uint8Array<ArrayBuffer>;
type U32 = Uint32Array<ArrayBuffer>;
type F64 = Float64Array<ArrayBuffer>;
type I32 = Int32Array<ArrayBuffer>;
type U8 = Uint8Array<ArrayBuffer>;
type ColumnTuple = [U32, F64, U32, F64, U32, U32, U32, U32, U32, U32, U32, U32, U32, U32, U8, I32, I32, I32, I32, U8];

const INITIAL_CAPACITY = 4096;

/** FNV-1a, never 0 (0 marks an absent value). */
export function hashText(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash === 0 ? 1 : hash;
}

/** The text of a scalar value; undefined for "", objects and arrays. */
export function textOf(value: unknown): string | undefined {
  if (typeof value === "string") return value === "" ? undefined : value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

/**
 * The columns of one trail's index: per entry its place on disk (file id,
 * offset, length), its time, dictionary ids of the filterable fields and
 * hashes of the identifiers, in typed arrays. Entries are numbered by
 * ordinal, oldest first.
 */
export class ColumnStore {
  count = 0;
  /** Bumped whenever ordinals change meaning (entries forgotten); caches compare it. */
  generation = 0;
  evicted = 0;
  /** Entries removed with their file (deleted by retention, or re-read after a truncation). */
  dropped = 0;

  file = new Uint32Array(INITIAL_CAPACITY);
  offset = new Float64Array(INITIAL_CAPACITY);
  length = new Uint32Array(INITIAL_CAPACITY);
  time = new Float64Array(INITIAL_CAPACITY);
  module = new Uint32Array(INITIAL_CAPACITY);
  level = new Uint32Array(INITIAL_CAPACITY);
  user = new Uint32Array(INITIAL_CAPACITY);
  action = new Uint32Array(INITIAL_CAPACITY);
  branch = new Uint32Array(INITIAL_CAPACITY);
  company = new Uint32Array(INITIAL_CAPACITY);
  entityType = new Uint32Array(INITIAL_CAPACITY);
  service = new Uint32Array(INITIAL_CAPACITY);
  hostname = new Uint32Array(INITIAL_CAPACITY);
  /** The client address: an IPv4 one as a number (ipKind 1), another kind of value to read from the line (2), none (0). */
  ipv4 = new Uint32Array(INITIAL_CAPACITY);
  ipKind = new Uint8Array(INITIAL_CAPACITY);
  entityIdHash = new Int32Array(INITIAL_CAPACITY);
  referenceHash = new Int32Array(INITIAL_CAPACITY);
  requestIdHash = new Int32Array(INITIAL_CAPACITY);
  idHash = new Int32Array(INITIAL_CAPACITY);
  success = new Uint8Array(INITIAL_CAPACITY);

  readonly modules = new Dictionary(true);
  readonly levels = new Dictionary(true);
  readonly users = new Dictionary(true);
  readonly actions = new Dictionary(true);
  readonly branches = new Dictionary(false);
  readonly companies = new Dictionary(false);
  readonly entityTypes = new Dictionary(false);
  readonly services = new Dictionary(false);
  readonly hostnames = new Dictionary(false);

  constructor(readonly maxEntries: number) {}

  append(fileId: number, offset: number, length: number, entry: TrailEntry): void {
    if (this.count >= this.maxEntries) this.dropOldest(Math.ceil(this.maxEntries / 10));
    if (this.count === this.file.length) this.grow();
    const i = this.count++;
    this.file[i] = fileId;
    this.offset[i] = offset;
    this.length[i] = length;
    this.time[i] = typeof entry.timestamp === "string" ? timestampMillis(entry.timestamp) : Number.NaN;
    this.module[i] = intern(this.modules, entry.module);
    this.level[i] = intern(this.levels, entry.level);
    this.user[i] = intern(this.users, entry.user);
    this.action[i] = intern(this.actions, entry.action);
    this.branch[i] = intern(this.branches, entry.branch_id);
    this.company[i] = intern(this.companies, entry.company_id);
    this.entityType[i] = intern(this.entityTypes, entry.entity_type);
    this.service[i] = intern(this.services, entry.service);
    this.hostname[i] = intern(this.hostnames, entry.hostname);
    const ip = textOf(entry.ip);
    const v4 = ip === undefined ? -1 : ipv4Number(ip);
    this.ipv4[i] = Math.max(0, v4);
    this.ipKind[i] = ip === undefined ? 0 : v4 < 0 ? 2 : 1;
    this.entityIdHash[i] = hashOf(entry.entity_id);
    this.referenceHash[i] = hashOf(entry.reference_no);
    this.requestIdHash[i] = hashOf(entry.request_id);
    this.idHash[i] = hashOf(entry.id);
    this.success[i] = entry.success === true ? 1 : entry.success === false ? 0 : 2;
  }

  /** Removes the entries of one file, keeping the order of the rest. */
  dropFile(fileId: number): void {
    const columns = this.columns();
    let kept = 0;
    for (let i = 0; i < this.count; i++) {
      if (this.file[i] === fileId) continue;
      if (kept !== i) for (const column of columns) column[kept] = column[i]!;
      kept++;
    }
    if (kept !== this.count) {
      this.dropped += this.count - kept;
      this.count = kept;
      this.generation++;
    }
  }

  private dropOldest(drop: number): void {
    const n = Math.min(drop, this.count);
    for (const column of this.columns()) column.copyWithin(0, n, this.count);
    this.count -= n;
    this.evicted += n;
    this.generation++;
  }

  private columns(): Column[] {
    return [
      this.file,
      this.offset,
      this.length,
      this.time,
      this.module,
      this.level,
      this.user,
      this.action,
      this.branch,
      this.company,
      this.entityType,
      this.service,
      this.hostname,
      this.ipv4,
      this.ipKind,
      this.entityIdHash,
      this.referenceHash,
      this.requestIdHash,
      this.idHash,
      this.success,
    ];
  }

  private grow(): void {
    const capacity = Math.min(this.maxEntries, Math.max(INITIAL_CAPACITY, Math.ceil(this.file.length * 1.5)));
    [
      this.file,
      this.offset,
      this.length,
      this.time,
      this.module,
      this.level,
      this.user,
      this.action,
      this.branch,
      this.company,
      this.entityType,
      this.service,
      this.hostname,
      this.ipv4,
      this.ipKind,
      this.entityIdHash,
      this.referenceHash,
      this.requestIdHash,
      this.idHash,
      this.success,
    ] = this.columns().map((column) => {
      const larger = new (column.constructor as new (length: number) => typeof column)(capacity);
      larger.set(column.subarray(0, this.count));
      return larger;
    }) as ColumnTuple;
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
