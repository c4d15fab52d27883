import { foldAscii } from "../../internal/foldAscii.js";
import { timestampMillis, timestampMillisOfBytes } from "../../internal/timestampMillis.js";
import { ipv4Number } from "../IpRange.js";
import type { TrailEntry } from "../TrailSource.js";
import { asciiText, FALSE, NULL, NUMBER, OBJECT, PLAIN, ScannedLine, TEXT, TRUE } from "./LineScanner.js";
import { NameBytes } from "./NameBytes.js";
import { addTrigramBytes, addTrigrams, BLOOM_BYTES, maskDigits, scalarText, someScalarText } from "./text.js";

/**
 * A chunk: the index of a run of consecutive lines of one segment, in
 * columns. Per entry: where its line starts, its time, success, hashes of the
 * identifiers, its client address (IPv4 as a number), and for every field (nested ones as "old_values.status") a
 * dictionary id, so that filters and most free-text searches never read the
 * files. A field keeps exact values while they are few; past that its values
 * become templates (digit runs masked: "SI-2026-0042" -> "SI-#-#"); past that
 * the field is "raw": only a trigram filter per block of entries remembers it,
 * and a search reads those lines to check.
 *
 * ChunkBuilder grows one (the live end of a segment); seal() packs it into
 * ChunkData (narrowest id widths, constant columns dropped), which is what
 * the build workers send, the cache stores and Chunk reads.
 */

export type IdColumn = Uint8Array | Uint16Array | Uint32Array;

export const VALUE_MODE = 0;
export const TEMPLATE_MODE = 1;
export type FieldMode = typeof VALUE_MODE | typeof TEMPLATE_MODE;

/** Entries per block of the raw filter (2^10). */
export const BLOCK_SHIFT = 10;
export const CHUNK_MAX_ENTRIES = 65_536;
/** Fields with a column per chunk; more are raw. */
const MAX_FIELDS = 64;
const VALUE_CAP = 8192;
const TEMPLATE_CAP = 4096;
const DICTIONARY_BYTES_CAP = 1024 * 1024;
/** Slots of a value field's table of recent ids (a power of two). */
const RECENT_SLOTS = 64;
/** rawFrom of a field that never turned raw. */
export const NEVER = 0x7fffffff;

/** The fields the REST filters use: exact values, never templated, whatever their number (and never raw). */
export const FILTER_FIELDS = [
  "module",
  "level",
  "user",
  "action",
  "branch_id",
  "company_id",
  "entity_type",
  "service",
  "hostname",
] as const;
export type FilterField = (typeof FILTER_FIELDS)[number];
const FILTER_FIELD_SET = new Set<string>(FILTER_FIELDS);

/** Identifier fields kept as 32-bit hashes, for exact filters and lookup by id. */
export const HASHED_FIELDS = ["entity_id", "reference_no", "request_id", "id"] as const;
export type HashedField = (typeof HASHED_FIELDS)[number];

/**
 * A 16-bit hash of an identifier (FNV-1a folded), never 0 (0 marks an absent
 * value). Short on purpose: it only narrows the entries whose line is read to
 * confirm (about one in 65,536 entries besides the right ones).
 */
export function hashText(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  const folded = (hash ^ (hash >>> 16)) & 0xffff;
  return folded === 0 ? 1 : folded;
}

function hashOf(value: unknown): number {
  const text = scalarText(value);
  return text === undefined ? 0 : hashText(text);
}

/** A 53-bit hash of maskDigits(text), computed without building it. */
function templateHash(text: string): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x2545f491;
  let digits = false;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits) continue;
      digits = true;
      c = 0x11;
    } else digits = false;
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 13;
  }
  return (h1 >>> 0) * 0x200000 + ((h2 >>> 0) & 0x1fffff);
}

/** Whether maskDigits(text) === template, without building it. */
function fitsTemplate(text: string, template: string): boolean {
  let t = 0;
  for (let i = 0; i < text.length; ) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (template.charCodeAt(t) !== 0x11) return false;
      t++;
      i++;
      while (i < text.length && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
      continue;
    }
    if (template.charCodeAt(t) !== c) return false;
    t++;
    i++;
  }
  return t === template.length;
}

/** hashText's result from the FNV-1a hash of the text. */
function foldHash(hash: number): number {
  const folded = (hash ^ (hash >>> 16)) & 0xffff;
  return folded === 0 ? 1 : folded;
}

/** templateHash of the ASCII text in buffer[start, end). */
function templateHashBytes(buffer: Buffer, start: number, end: number): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x2545f491;
  let digits = false;
  for (let i = start; i < end; i++) {
    let c = buffer[i]!;
    if (c >= 48 && c <= 57) {
      if (digits) continue;
      digits = true;
      c = 0x11;
    } else digits = false;
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 13;
  }
  return (h1 >>> 0) * 0x200000 + ((h2 >>> 0) & 0x1fffff);
}

/** /16 blocks a chunk counts its addresses in, at most (past that, an address filter scans the column). */
const IP_BLOCKS_CAP = 4096;

/** The /16 blocks of a chunk's addresses and their counts (see ChunkData.ipBlocks). */
function countIpBlocks(ip: Uint32Array): { blocks: Uint16Array; counts: Uint32Array } | null {
  const perBlock = new Uint32Array(65_536);
  let distinct = 0;
  for (let i = 0; i < ip.length; i++) {
    const address = ip[i]!;
    if (address === 0) continue;
    if (perBlock[address >>> 16]!++ === 0 && ++distinct > IP_BLOCKS_CAP) return null;
  }
  const blocks = new Uint16Array(distinct);
  const counts = new Uint32Array(distinct);
  for (let block = 0, k = 0; k < distinct; block++) {
    if (perBlock[block] === 0) continue;
    blocks[k] = block;
    counts[k++] = perBlock[block]!;
  }
  return { blocks, counts };
}

/** Marks cached per sealed field: a filter runs its matcher once per distinct value, not per query. */
const CACHED_MARKS = 8;

/** What earlier chunks of a trail found about its fields: those that turned raw, and into templates. */
export interface FieldHints {
  raw: ReadonlySet<string>;
  template: ReadonlySet<string>;
}

const NO_HINTS: FieldHints = { raw: new Set(), template: new Set() };

/** Hints as job parameters (structured-cloned to a worker). */
export interface HintLists {
  raw: string[];
  template: string[];
}

export function hintSets(lists: HintLists): FieldHints {
  return { raw: new Set(lists.raw), template: new Set(lists.template) };
}

/** Adds what a chunk found to hints. */
export function learnHints(hints: { raw: Set<string>; template: Set<string> }, chunk: ChunkData): void {
  for (const path of chunk.rawPaths) hints.raw.add(path);
  for (const path of chunk.templatePaths ?? []) hints.template.add(path);
}

/** A packed field column, as sent between threads and stored. */
export interface FieldData {
  path: string;
  mode: FieldMode;
  /** The names of ids 0..n-1 joined by NUL (id 0 is "", absent). */
  names: string;
  /** The same with ASCII letters lower-cased, when that differs (what free text searches). */
  folded: string | null;
  /** Where each name starts in `names`, plus one past the end (the last name's end + 1). */
  starts: Uint32Array;
  /** Per entry its id (per position when `positions` is set); null when all have `constant`. */
  ids: IdColumn | null;
  constant: number;
  /** A field few entries have: the entries that have it, ascending (the others have id 0). */
  positions: Uint16Array | null;
  /** Entries from this one on are raw for this field (NEVER: none). */
  rawFrom: number;
}

/** A sealed chunk's columns, as sent between threads and stored. */
export interface ChunkData {
  /** Content offsets in the segment: [start, end) holds exactly this chunk's lines. */
  start: number;
  end: number;
  count: number;
  malformed: number;
  /** Lines longer than maxLineBytes (indexed from their first and last bytes), and entries nested too deep to show as is. */
  truncated: number;
  deep: number;
  /** Line starts relative to `start`. */
  offsets: Uint32Array;
  time: Float64Array;
  /** 1 true, 0 false, 2 neither. */
  success: Uint8Array;
  /** Per hashed field its column; null when no entry has the field. */
  hashes: Record<HashedField, Uint16Array | null>;
  /** Per entry its `ip` as an IPv4 number (0: none, or see ipLines); null when no entry has one. */
  ip: Uint32Array | null;
  /** Entries whose `ip` is there but not an IPv4 number (IPv6, other text, 0.0.0.0): read from the line to compare. */
  ipLines: Uint16Array | null;
  /** The /16 blocks of the IPv4 addresses (their first 16 bits, ascending) and how many entries each has; null past IP_BLOCKS_CAP blocks or without addresses. */
  ipBlocks: Uint16Array | null;
  ipBlockCounts: Uint32Array | null;
  fields: FieldData[];
  /** BLOOM_BYTES per block of 2^BLOCK_SHIFT entries; null when nothing is raw. */
  rawBloom: Uint8Array | null;
  /** 1 for the blocks holding raw values. */
  rawBlocks: Uint8Array | null;
  /** Fields that turned raw: later chunks of the trail start them raw. */
  rawPaths: string[];
  /** Fields that turned into templates: later chunks start them so. */
  templatePaths: string[];
  /** What /api/stats counts, for the whole chunk. */
  stats: ChunkStats;
}

/** The counts of a chunk's entries that /api/stats adds up. */
export interface ChunkStats {
  modules: Array<[string, number]>;
  levels: Array<[string, number]>;
  failures: number;
  /** The newest entry by time (the last of equals; the last entry when none has a time), and its time. */
  latest: number;
  latestTime: number | null;
  /** The range of the entries' times (null when none has one), and whether some have none. */
  minTime: number | null;
  maxTime: number | null;
  untimed: boolean;
}

/** Counts the entries [first, count) of a chunk; with `only`, just those marked 1 in it (a scoped reader's). */
export function countChunk(view: ChunkView, first: number, only?: Uint8Array): ChunkStats {
  const end = view.count;
  const count = (path: string): Array<[string, number]> => {
    const field = view.field(path);
    if (!field) return [];
    const counts = new Uint32Array(field.nameCount);
    const ids = field.ids;
    const positions = field.positions;
    if (positions) {
      for (let k = 0; k < positions.length; k++) {
        const i = positions[k]!;
        if (i >= first && (only === undefined || only[i] === 1)) counts[ids ? ids[k]! : field.constant]!++;
      }
    } else if (ids) {
      for (let i = first; i < end; i++) if (only === undefined || only[i] === 1) counts[ids[i]!]!++;
    } else if (only === undefined) counts[field.constant] = end - first;
    else for (let i = first; i < end; i++) counts[field.constant]! += only[i]!;
    const result: Array<[string, number]> = [];
    for (let id = 1; id < counts.length; id++) if (counts[id]! > 0) result.push([field.name(id), counts[id]!]);
    return result;
  };
  let failures = 0;
  let latest = -1;
  let latestTime = Number.NEGATIVE_INFINITY;
  let minTime = Number.POSITIVE_INFINITY;
  let untimed = false;
  const successes = view.success;
  const times = view.time;
  for (let i = first; i < end; i++) {
    if (only !== undefined && only[i] !== 1) continue;
    if (successes[i] === 0) failures++;
    const t = times[i]!;
    if (t >= latestTime) {
      latestTime = t;
      latest = i;
    }
    if (t < minTime) minTime = t;
    if (Number.isNaN(t)) untimed = true;
  }
  if (latest < 0 && only === undefined) latest = end - 1;
  const timed = Number.isFinite(latestTime);
  return {
    modules: count("module"),
    levels: count("level"),
    failures,
    latest,
    latestTime: timed ? latestTime : null,
    minTime: timed ? minTime : null,
    maxTime: timed ? latestTime : null,
    untimed,
  };
}

/** What queries read of a field: sealed (Chunk) or growing (ChunkBuilder). */
export interface FieldView {
  readonly path: string;
  readonly mode: FieldMode;
  readonly rawFrom: number;
  readonly ids: IdColumn | null;
  readonly constant: number;
  /** Set for a sparse field: `ids` (or `constant`) are those of these entries only. */
  readonly positions: Uint16Array | null;
  readonly nameCount: number;
  name(id: number): string;
  /** Marks (1) the ids whose name contains `foldedNeedle` (ASCII-folded, no control character); null when none does. */
  containing(foldedNeedle: string): Uint8Array | null;
  /**
   * Marks (1) the ids whose name `accepts`; null when it accepts none. `key`
   * names the test (its values and rule): a sealed field remembers the marks
   * of the last few.
   */
  matching(accepts: (name: string) => boolean, key: string): Uint8Array | null;
}

/** What queries read of a chunk. */
export interface ChunkView {
  readonly start: number;
  readonly end: number;
  readonly count: number;
  readonly malformed: number;
  readonly truncated: number;
  readonly deep: number;
  readonly offsets: Uint32Array;
  readonly time: Float64Array;
  readonly success: Uint8Array;
  readonly hashes: Record<HashedField, Uint16Array | null>;
  readonly ip: Uint32Array | null;
  readonly ipLines: Uint16Array | null;
  /** Sealed chunks: see ChunkData.ipBlocks (null on a growing chunk). */
  readonly ipBlocks: Uint16Array | null;
  readonly ipBlockCounts: Uint32Array | null;
  readonly fields: readonly FieldView[];
  readonly rawBloom: Uint8Array | null;
  readonly rawBlocks: Uint8Array | null;
  /** Changes whenever ids or names change meaning (a growing chunk re-templating a field). */
  readonly version: number;
  field(path: string): FieldView | undefined;
}

/** Marks (1) the ids 1..count-1 whose name `accepts`; null when none. */
function markMatching(count: number, name: (id: number) => string, accepts: (name: string) => boolean): Uint8Array | null {
  let marks: Uint8Array | null = null;
  for (let id = 1; id < count; id++) {
    if (!accepts(name(id))) continue;
    marks ??= new Uint8Array(count);
    marks[id] = 1;
  }
  return marks;
}

/** A field column of a growing chunk. */
class FieldBuilder implements FieldView {
  ids: Uint32Array;
  readonly constant = 0;
  readonly positions = null;
  mode: FieldMode = VALUE_MODE;
  rawFrom = NEVER;
  private map = new Map<string, number>();
  /** Template mode: ids by the 53-bit hash of the template (computed without building it). */
  private templates = new Map<number, number>();
  /** The id the previous entry got. */
  private last = 0;
  /** Value mode: ids of numbers, so that a number is not turned into text again. */
  private numbers = new Map<number, number>();
  /** Value mode: recently seen ids by a cheap key of their text. */
  private readonly recent = new Uint32Array(RECENT_SLOTS);
  /** Value mode, addBytes(): ids by the FNV-1a hash of their bytes (open addressing, 0 empty), and each id's hash. */
  private byteTable: Int32Array = new Int32Array(64);
  private byteTableCount = 0;
  private readonly byteHashes: number[] = [];
  private names: string[] = [""];
  /** The names as bytes, for addBytes(). */
  private nameBytes = new NameBytes();
  private folded: string[] = [""];
  private bytes = 0;

  constructor(
    readonly path: string,
    private readonly exact: boolean,
    capacity: number,
    private readonly onRemap: () => void,
  ) {
    this.ids = new Uint32Array(capacity);
    this.nameBytes.push("");
  }

  get nameCount(): number {
    return this.names.length;
  }

  name(id: number): string {
    return this.names[id] ?? "";
  }

  /** Starts the field as templates (earlier chunks turned it so): its values are never kept one by one. */
  startAsTemplates(): void {
    this.mode = TEMPLATE_MODE;
  }

  /** Sets entry i's value when it is a number (JSON.parse's: finite). */
  addNumber(i: number, value: number): void {
    if (this.mode === TEMPLATE_MODE) {
      // An integer's text is digits (and a sign): its template is known without writing it.
      if (Number.isInteger(value) && Math.abs(value) < 1e21) {
        this.add(i, value < 0 ? "-0" : "0");
        return;
      }
    } else {
      const id = this.numbers.get(value);
      if (id !== undefined) {
        this.last = id;
        this.ids[i] = id;
        return;
      }
    }
    this.add(i, String(value));
    // Still exact values (the add did not turn the field into templates): remembered by number.
    if (this.mode === VALUE_MODE) this.numbers.set(value, this.ids[i]!);
  }

  /**
   * add() of the ASCII text in buffer[start, end) (not empty; `hash` its
   * FNV-1a): the values met again are found from the bytes; a new one is
   * made a string for add().
   */
  addBytes(i: number, buffer: Buffer, start: number, end: number, hash: number): void {
    let id: number;
    const last = this.last;
    const nameBytes = this.nameBytes;
    if (this.mode === TEMPLATE_MODE) {
      if (last > 0 && nameBytes.fits(last, buffer, start, end)) id = last;
      else {
        const known = this.templates.get(templateHashBytes(buffer, start, end));
        if (known === undefined || !nameBytes.fits(known, buffer, start, end)) {
          this.add(i, asciiText(buffer, start, end));
          return;
        }
        id = known;
      }
    } else if (last > 0 && nameBytes.equals(last, buffer, start, end)) id = last;
    else {
      // By the hash of the bytes, in a table of the values seen through here (add() keeps its own map).
      let table = this.byteTable;
      const mask = table.length - 1;
      let slot = hash & mask;
      for (let found = table[slot]!; found !== 0; found = table[slot]!) {
        if (nameBytes.equals(found, buffer, start, end)) {
          this.last = found;
          this.ids[i] = found;
          return;
        }
        slot = (slot + 1) & mask;
      }
      this.add(i, asciiText(buffer, start, end));
      if (this.mode !== VALUE_MODE) return;
      // Not in the table: it is now (add() found or made its id).
      if (++this.byteTableCount * 2 > table.length) {
        table = this.growByteTable();
        slot = hash & (table.length - 1);
        while (table[slot] !== 0) slot = (slot + 1) & (table.length - 1);
      }
      table[slot] = this.ids[i]!;
      this.byteHashes[this.ids[i]!] = hash;
      return;
    }
    this.last = id;
    this.ids[i] = id;
  }

  /** The table twice as large, its ids placed again by their hashes. */
  private growByteTable(): Int32Array {
    const old = this.byteTable;
    const table = new Int32Array(old.length * 2);
    const mask = table.length - 1;
    for (const id of old) {
      if (id === 0) continue;
      let slot = this.byteHashes[id]! & mask;
      while (table[slot] !== 0) slot = (slot + 1) & mask;
      table[slot] = id;
    }
    this.byteTable = table;
    return table;
  }

  /** Sets entry i's value; may turn the field into templates, or raw from the next entry. */
  add(i: number, text: string): void {
    let id: number | undefined;
    if (this.mode === TEMPLATE_MODE) {
      // Most values of a templated field share the last template (timestamps, references): one pass, no hashing.
      const last = this.last;
      if (last > 0 && fitsTemplate(text, this.names[last]!)) id = last;
      else {
        const hash = templateHash(text);
        id = this.templates.get(hash);
        if (id === undefined || !fitsTemplate(text, this.names[id]!)) {
          const template = maskDigits(text);
          id = this.map.get(template);
          if (id === undefined) {
            id = this.names.length;
            this.map.set(template, id);
            this.names.push(template);
            this.nameBytes.push(template);
            this.bytes += template.length;
          }
          this.templates.set(hash, id);
        }
      }
    } else if (text === this.names[this.last] && this.last > 0) id = this.last;
    else {
      // A small table by length and end characters answers most lookups with one comparison, no hashing.
      const slot = (text.length * 31 + text.charCodeAt(0) * 7 + text.charCodeAt(text.length - 1)) & (RECENT_SLOTS - 1);
      const recent = this.recent[slot]!;
      if (recent > 0 && this.names[recent] === text) id = recent;
      else {
        id = this.map.get(text);
        if (id === undefined) {
          id = this.names.length;
          this.map.set(text, id);
          this.names.push(text);
          this.nameBytes.push(text);
          this.bytes += text.length;
        }
        this.recent[slot] = id;
      }
    }
    this.last = id;
    this.ids[i] = id;
    if (this.exact) return;
    if (this.mode === VALUE_MODE && (this.names.length > VALUE_CAP || this.bytes > DICTIONARY_BYTES_CAP)) this.toTemplates(i + 1);
    if (this.mode === TEMPLATE_MODE && (this.names.length > TEMPLATE_CAP || this.bytes > DICTIONARY_BYTES_CAP)) this.rawFrom = i + 1;
  }

  private toTemplates(count: number): void {
    const map = new Map<string, number>();
    const names = [""];
    const remap = new Uint32Array(this.names.length);
    let bytes = 0;
    for (let id = 1; id < this.names.length; id++) {
      const template = maskDigits(this.names[id]!);
      let to = map.get(template);
      if (to === undefined) {
        to = names.length;
        map.set(template, to);
        names.push(template);
        bytes += template.length;
      }
      remap[id] = to;
    }
    for (let i = 0; i < count; i++) this.ids[i] = remap[this.ids[i]!]!;
    this.map = map;
    this.templates = new Map();
    this.numbers = new Map();
    this.recent.fill(0);
    this.last = 0;
    for (let id = 1; id < names.length; id++) this.templates.set(templateHash(names[id]!), id);
    this.names = names;
    this.nameBytes = new NameBytes();
    for (const name of names) this.nameBytes.push(name);
    this.folded = [""];
    this.bytes = bytes;
    this.mode = TEMPLATE_MODE;
    this.onRemap();
  }

  grow(capacity: number): void {
    const larger = new Uint32Array(capacity);
    larger.set(this.ids);
    this.ids = larger;
  }

  containing(foldedNeedle: string): Uint8Array | null {
    for (let id = this.folded.length; id < this.names.length; id++) this.folded.push(foldAscii(this.names[id]!));
    let marks: Uint8Array | null = null;
    for (let id = 1; id < this.folded.length; id++) {
      if (this.folded[id]!.includes(foldedNeedle)) {
        marks ??= new Uint8Array(this.names.length);
        marks[id] = 1;
      }
    }
    return marks;
  }

  matching(accepts: (name: string) => boolean): Uint8Array | null {
    return markMatching(this.names.length, (id) => this.names[id]!, accepts);
  }

  pack(count: number): FieldData {
    const n = Math.min(count, this.rawFrom);
    const source = this.ids.subarray(0, n);
    let present = 0;
    for (let i = 0; i < n; i++) if (source[i] !== 0) present++;
    // Few entries have it: their positions and ids only.
    let positions: Uint16Array | null = null;
    let values: Uint32Array = source;
    if (n >= 64 && present * 8 < n) {
      positions = new Uint16Array(present);
      values = new Uint32Array(present);
      for (let i = 0, k = 0; i < n; i++) {
        if (source[i] === 0) continue;
        positions[k] = i;
        values[k++] = source[i]!;
      }
    }
    let constant = values.length > 0 ? values[0]! : 0;
    for (let i = 1; i < values.length; i++) {
      if (values[i] !== constant) {
        constant = -1;
        break;
      }
    }
    let ids: IdColumn | null = null;
    if (constant < 0) {
      const max = this.names.length - 1;
      ids = max <= 0xff ? new Uint8Array(values.length) : max <= 0xffff ? new Uint16Array(values.length) : new Uint32Array(values.length);
      ids.set(values);
      constant = 0;
    }
    const names = this.names.map((name) => (name.includes("\u0000") ? name.replaceAll("\u0000", "\ufffd") : name)).join("\u0000");
    const folded = foldAscii(names);
    const starts = new Uint32Array(this.names.length + 1);
    let at = 0;
    for (let id = 0; id < this.names.length; id++) {
      starts[id] = at;
      at += this.names[id]!.length + 1;
    }
    starts[this.names.length] = at;
    return {
      path: this.path,
      mode: this.mode,
      names,
      folded: folded === names ? null : folded,
      starts,
      ids,
      constant,
      positions,
      rawFrom: this.rawFrom >= count ? NEVER : this.rawFrom,
    };
  }
}

/** ipv4Number of the ASCII text in buffer[start, end): digits and dots read from the bytes, other text made a string for it. */
function ipv4NumberOfBytes(buffer: Buffer, start: number, end: number): number {
  let value = 0;
  let octet = -1;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = buffer[i]!;
    if (c >= 48 && c <= 57) {
      if (++digits > 3) return -1;
      octet = Math.max(0, octet) * 10 + (c - 48);
    } else if (c === 46) {
      if (octet < 0 || octet > 255 || ++dots > 3) return -1;
      value = value * 256 + octet;
      octet = -1;
      digits = 0;
    } else return ipv4Number(asciiText(buffer, start, end));
  }
  if (dots !== 3 || octet < 0 || octet > 255) return -1;
  return value * 256 + octet;
}

/** What addLine() does with a top-level member besides its field: entry-wide columns. */
const NO_ROLE = 0;
const TIMESTAMP_ROLE = 1;
const SUCCESS_ROLE = 2;
const IP_ROLE = 3;
/** HASH_ROLE + k: HASHED_FIELDS[k]. */
const HASH_ROLE = 4;
const ROLES = new Map<string, number>([
  ["timestamp", TIMESTAMP_ROLE],
  ["success", SUCCESS_ROLE],
  ["ip", IP_ROLE],
  ...HASHED_FIELDS.map((name, k): [string, number] => [name, HASH_ROLE + k]),
]);
/** The scanner's line: one per thread, read right after each scan. */
const SCANNED = new ScannedLine();

/** The value of a scanned member that is not PLAIN, as JSON.parse gives it. */
function scalarOf(line: ScannedLine, m: number): unknown {
  switch (line.kind[m]) {
    case TEXT:
      return line.texts[m];
    case NUMBER:
      return line.numbers[m];
    case TRUE:
      return true;
    case FALSE:
      return false;
    default:
      return null;
  }
}

/**
 * Builds a chunk entry by entry (from a build job, or the live end of a
 * segment). It answers queries while it grows, like a sealed Chunk.
 */
export class ChunkBuilder implements ChunkView {
  count = 0;
  malformed = 0;
  truncated = 0;
  deep = 0;
  end: number;
  version = 0;
  offsets: Uint32Array;
  time: Float64Array;
  success: Uint8Array;
  hashes: Record<HashedField, Uint16Array>;
  ip: Uint32Array;
  readonly ipBlocks = null;
  readonly ipBlockCounts = null;
  private readonly ipKept: number[] = [];
  private ipLinesView: Uint16Array | null = null;
  readonly fields: FieldBuilder[] = [];
  rawBloom: Uint8Array | null = null;
  rawBlocks: Uint8Array | null = null;
  private readonly byPath = new Map<string, FieldBuilder | null>();
  private readonly nested = new Map<string, Map<string, FieldBuilder | null>>();
  private readonly lastKeys: string[] = [];
  private readonly lastFields: Array<FieldBuilder | null> = [];
  /** addLine(): the field of each nested key met, by its scanner slot's id (sparse). */
  private readonly nestedBySlot: Array<FieldBuilder | null | undefined> = [];
  private capacity = 1024;

  constructor(
    readonly start: number,
    private readonly hints: FieldHints = NO_HINTS,
  ) {
    this.end = start;
    this.offsets = new Uint32Array(this.capacity);
    this.time = new Float64Array(this.capacity);
    this.success = new Uint8Array(this.capacity);
    this.hashes = {
      entity_id: new Uint16Array(this.capacity),
      reference_no: new Uint16Array(this.capacity),
      request_id: new Uint16Array(this.capacity),
      id: new Uint16Array(this.capacity),
    };
    this.ip = new Uint32Array(this.capacity);
  }

  /** Entries whose address is read from the line (see ChunkData.ipLines). */
  get ipLines(): Uint16Array | null {
    if (this.ipKept.length === 0) return null;
    if (this.ipLinesView?.length !== this.ipKept.length) this.ipLinesView = Uint16Array.from(this.ipKept);
    return this.ipLinesView;
  }

  get full(): boolean {
    return this.count >= CHUNK_MAX_ENTRIES;
  }

  field(path: string): FieldView | undefined {
    return this.byPath.get(path) ?? undefined;
  }

  /** Adds the entry whose line starts at content offset `offset`. */
  add(offset: number, entry: TrailEntry): void {
    if (this.count === this.capacity) this.grow();
    const i = this.count++;
    this.offsets[i] = offset - this.start;
    const timestamp = entry.timestamp;
    this.time[i] = typeof timestamp === "string" ? timestampMillis(timestamp) : Number.NaN;
    this.success[i] = entry.success === true ? 1 : entry.success === false ? 0 : 2;
    const hashes = this.hashes;
    hashes.entity_id[i] = hashOf(entry.entity_id);
    hashes.reference_no[i] = hashOf(entry.reference_no);
    hashes.request_id[i] = hashOf(entry.request_id);
    hashes.id[i] = hashOf(entry.id);
    const ip = entry.ip;
    if (ip !== undefined && ip !== null) {
      const text = scalarText(ip);
      const v4 = text === undefined ? -1 : ipv4Number(text);
      if (v4 > 0) this.ip[i] = v4;
      else if (text !== undefined) this.ipKept.push(i);
    }
    // Lines of one writer have their keys in one order: the previous entry's fields, by position, save the lookups.
    const keys = this.lastKeys;
    const fieldsByPosition = this.lastFields;
    let k = 0;
    for (const key in entry) {
      const position = k++;
      const value = entry[key];
      if (value === null) continue;
      if (typeof value !== "object") {
        let field: FieldBuilder | null;
        if (keys[position] === key) field = fieldsByPosition[position]!;
        else {
          field = this.byPath.get(key) ?? this.newField(key);
          keys[position] = key;
          fieldsByPosition[position] = field;
        }
        if (typeof value === "number") this.addNumber(i, field, value);
        else {
          const text = scalarText(value);
          if (text !== undefined) this.addText(i, field, text);
        }
        continue;
      }
      if (Array.isArray(value)) {
        this.addRawDeep(i, value);
        continue;
      }
      // Nested fields by key then sub-key: no path string built per entry.
      let subs = this.nested.get(key);
      if (subs === undefined) {
        subs = new Map();
        this.nested.set(key, subs);
      }
      for (const sub in value) {
        const nested = (value as Record<string, unknown>)[sub];
        if (nested !== null && typeof nested === "object") {
          this.addRawDeep(i, nested);
          continue;
        }
        let field = subs.get(sub);
        if (field === undefined) {
          field = this.newField(`${key}.${sub}`);
          subs.set(sub, field);
        }
        if (typeof nested === "number") this.addNumber(i, field, nested);
        else {
          const text = scalarText(nested);
          if (text !== undefined) this.addText(i, field, text);
        }
      }
    }
  }

  /**
   * Adds the entry of the line buffer[start, end) (valid UTF-8), read by
   * the lean scanner, with the same result as add() of its JSON.parse;
   * false (nothing added) when the line is not of the shape it reads.
   */
  addLine(offset: number, buffer: Buffer, start: number, end: number): boolean {
    const line = SCANNED;
    if (!line.scan(buffer, start, end)) return false;
    if (this.count === this.capacity) this.grow();
    const i = this.count++;
    this.offsets[i] = offset - this.start;
    this.time[i] = Number.NaN;
    this.success[i] = 2;
    const hashes = this.hashes;
    hashes.entity_id[i] = 0;
    hashes.reference_no[i] = 0;
    hashes.request_id[i] = 0;
    hashes.id[i] = 0;
    const keys = this.lastKeys;
    const fieldsByPosition = this.lastFields;
    const count = line.count;
    for (let m = 0, position = 0; m < count; position++) {
      const kind = line.kind[m]!;
      const slot = line.keys[m]!;
      const key = slot.text;
      let role = slot.tag;
      if (role < 0) {
        role = ROLES.get(key) ?? NO_ROLE;
        slot.tag = role;
      }
      if (role !== NO_ROLE) this.addRole(i, role, buffer, line, m);
      if (kind === NULL) {
        m++;
        continue;
      }
      if (kind !== OBJECT) {
        let field: FieldBuilder | null;
        if (keys[position] === key) field = fieldsByPosition[position]!;
        else {
          field = this.byPath.get(key) ?? this.newField(key);
          keys[position] = key;
          fieldsByPosition[position] = field;
        }
        this.addScalar(i, field, buffer, line, m);
        m++;
        continue;
      }
      let subs = this.nested.get(key);
      if (subs === undefined) {
        subs = new Map();
        this.nested.set(key, subs);
      }
      const parent = m++;
      for (; m < count && line.parent[m] === parent; m++) {
        // What subs.get() gives for this key, remembered by its slot.
        const sub = line.keys[m]!;
        let field = this.nestedBySlot[sub.id];
        if (field === undefined) {
          field = subs.get(sub.text);
          if (field === undefined) {
            field = this.newField(`${key}.${sub.text}`);
            subs.set(sub.text, field);
          }
          this.nestedBySlot[sub.id] = field;
        }
        if (line.kind[m] !== NULL) this.addScalar(i, field, buffer, line, m);
      }
    }
    return true;
  }

  /** What the entry-wide columns (time, success, hashes, address) take of member m. */
  private addRole(i: number, role: number, buffer: Buffer, line: ScannedLine, m: number): void {
    const kind = line.kind[m]!;
    if (role === SUCCESS_ROLE) {
      this.success[i] = kind === TRUE ? 1 : kind === FALSE ? 0 : 2;
      return;
    }
    if (role === TIMESTAMP_ROLE) {
      if (kind === PLAIN) this.time[i] = timestampMillisOfBytes(buffer, line.valueStart[m]!, line.valueEnd[m]!);
      else if (kind === TEXT) this.time[i] = timestampMillis(line.texts[m]!);
      return;
    }
    if (role === IP_ROLE) {
      if (kind === NULL || kind === OBJECT) return;
      let v4: number;
      if (kind === PLAIN) {
        const start = line.valueStart[m]!;
        const end = line.valueEnd[m]!;
        if (start === end) return;
        v4 = ipv4NumberOfBytes(buffer, start, end);
      } else {
        const text = scalarText(scalarOf(line, m));
        if (text === undefined) return;
        v4 = ipv4Number(text);
      }
      if (v4 > 0) this.ip[i] = v4;
      else this.ipKept.push(i);
      return;
    }
    const column = this.hashes[HASHED_FIELDS[role - HASH_ROLE]!];
    if (kind === PLAIN) {
      const start = line.valueStart[m]!;
      const end = line.valueEnd[m]!;
      column[i] = start === end ? 0 : foldHash(line.valueHash[m]!);
    } else if (kind !== NULL && kind !== OBJECT) column[i] = hashOf(scalarOf(line, m));
  }

  /** A scalar member's value into its field (or the raw filter). */
  private addScalar(i: number, field: FieldBuilder | null, buffer: Buffer, line: ScannedLine, m: number): void {
    const kind = line.kind[m]!;
    if (kind === PLAIN) {
      const start = line.valueStart[m]!;
      const end = line.valueEnd[m]!;
      if (start === end) return;
      if (field === null || i >= field.rawFrom) this.addRawBytes(i, buffer, start, end);
      else field.addBytes(i, buffer, start, end, line.valueHash[m]!);
    } else if (kind === NUMBER) this.addNumber(i, field, line.numbers[m]!);
    else if (kind === TEXT) {
      const text = line.texts[m]!;
      if (text !== "") this.addText(i, field, text);
    } else if (kind === TRUE) this.addText(i, field, "true");
    else if (kind === FALSE) this.addText(i, field, "false");
  }

  /** A new field column, or null past MAX_FIELDS (its values are then raw). */
  private newField(path: string): FieldBuilder | null {
    if (this.fields.length >= MAX_FIELDS && !FILTER_FIELD_SET.has(path)) return null;
    const field = new FieldBuilder(path, FILTER_FIELD_SET.has(path), this.capacity, () => this.version++);
    if (!FILTER_FIELD_SET.has(path)) {
      if (this.hints.raw.has(path)) field.rawFrom = 0;
      else if (this.hints.template.has(path)) field.startAsTemplates();
    }
    this.fields.push(field);
    this.byPath.set(path, field);
    this.version++;
    return field;
  }

  private addText(i: number, field: FieldBuilder | null, text: string): void {
    if (field === null || i >= field.rawFrom) this.addRaw(i, text);
    else field.add(i, text);
  }

  private addNumber(i: number, field: FieldBuilder | null, value: number): void {
    if (field === null || i >= field.rawFrom) this.addRaw(i, String(value));
    else field.addNumber(i, value);
  }

  /** Every scalar inside `value`, as raw text. */
  private addRawDeep(i: number, value: unknown): void {
    someScalarText(value, (text) => {
      this.addRaw(i, text);
      return false;
    });
  }

  private addRaw(i: number, text: string): void {
    const block = i >> BLOCK_SHIFT;
    const blocks = (this.capacity + (1 << BLOCK_SHIFT) - 1) >> BLOCK_SHIFT;
    if (this.rawBloom === null || this.rawBlocks === null) {
      this.rawBloom = new Uint8Array(blocks * BLOOM_BYTES);
      this.rawBlocks = new Uint8Array(blocks);
    }
    this.rawBlocks[block] = 1;
    addTrigrams(this.rawBloom, block * BLOOM_BYTES, foldAscii(text));
  }

  /** addRaw() of the ASCII text in buffer[start, end). */
  private addRawBytes(i: number, buffer: Buffer, start: number, end: number): void {
    const block = i >> BLOCK_SHIFT;
    const blocks = (this.capacity + (1 << BLOCK_SHIFT) - 1) >> BLOCK_SHIFT;
    if (this.rawBloom === null || this.rawBlocks === null) {
      this.rawBloom = new Uint8Array(blocks * BLOOM_BYTES);
      this.rawBlocks = new Uint8Array(blocks);
    }
    this.rawBlocks[block] = 1;
    addTrigramBytes(this.rawBloom, block * BLOOM_BYTES, buffer, start, end);
  }

  private grow(): void {
    const capacity = Math.min(CHUNK_MAX_ENTRIES, this.capacity * 2);
    const widen = <T extends Uint32Array | Float64Array | Uint8Array | Uint16Array>(column: T): T => {
      const larger = new (column.constructor as new (length: number) => T)(capacity);
      larger.set(column);
      return larger;
    };
    this.offsets = widen(this.offsets);
    this.time = widen(this.time);
    this.success = widen(this.success);
    for (const name of HASHED_FIELDS) this.hashes[name] = widen(this.hashes[name]);
    this.ip = widen(this.ip);
    for (const field of this.fields) field.grow(capacity);
    if (this.rawBloom && this.rawBlocks) {
      const blocks = (capacity + (1 << BLOCK_SHIFT) - 1) >> BLOCK_SHIFT;
      const bloom = new Uint8Array(blocks * BLOOM_BYTES);
      bloom.set(this.rawBloom);
      const flags = new Uint8Array(blocks);
      flags.set(this.rawBlocks);
      this.rawBloom = bloom;
      this.rawBlocks = flags;
    }
    this.capacity = capacity;
  }

  /** The chunk packed: exact sizes, narrow ids, constant columns as one number. */
  seal(): ChunkData {
    const n = this.count;
    const hashes = {} as Record<HashedField, Uint16Array | null>;
    for (const name of HASHED_FIELDS) {
      const column = this.hashes[name].subarray(0, n);
      hashes[name] = column.some((hash) => hash !== 0) ? column.slice() : null;
    }
    const blocks = (n + (1 << BLOCK_SHIFT) - 1) >> BLOCK_SHIFT;
    const raw = this.rawBlocks?.subarray(0, blocks).some((flag) => flag === 1) === true;
    const ip = this.ip.subarray(0, n).some((address) => address !== 0) ? this.ip.slice(0, n) : null;
    const ipBlocks = ip ? countIpBlocks(ip) : null;
    return {
      start: this.start,
      end: this.end,
      count: n,
      malformed: this.malformed,
      truncated: this.truncated,
      deep: this.deep,
      offsets: this.offsets.slice(0, n),
      time: this.time.slice(0, n),
      success: this.success.slice(0, n),
      hashes,
      ip,
      ipLines: this.ipKept.length > 0 ? Uint16Array.from(this.ipKept) : null,
      ipBlocks: ipBlocks?.blocks ?? null,
      ipBlockCounts: ipBlocks?.counts ?? null,
      fields: this.fields.filter((field) => field.rawFrom > 0).map((field) => field.pack(n)),
      rawBloom: raw && this.rawBloom ? this.rawBloom.slice(0, blocks * BLOOM_BYTES) : null,
      rawBlocks: raw && this.rawBlocks ? this.rawBlocks.slice(0, blocks) : null,
      rawPaths: this.fields.filter((field) => field.rawFrom < n).map((field) => field.path),
      templatePaths: this.fields.filter((field) => field.mode === TEMPLATE_MODE).map((field) => field.path),
      stats: countChunk(this, 0),
    };
  }
}

/** A sealed field column: names in one string, looked up lazily. */
class SealedField implements FieldView {
  readonly path: string;
  readonly mode: FieldMode;
  readonly rawFrom: number;
  readonly ids: IdColumn | null;
  readonly constant: number;
  readonly positions: Uint16Array | null;
  private readonly names: string;
  private readonly starts: Uint32Array;
  private readonly foldedNames: string;
  private readonly marks = new Map<string, Uint8Array | null>();

  constructor(data: FieldData) {
    this.path = data.path;
    this.mode = data.mode;
    this.rawFrom = data.rawFrom;
    this.ids = data.ids;
    this.constant = data.constant;
    this.positions = data.positions ?? null;
    this.names = data.names;
    this.foldedNames = data.folded ?? data.names;
    this.starts = data.starts;
  }

  get nameCount(): number {
    return this.starts.length - 1;
  }

  name(id: number): string {
    const starts = this.starts;
    if (id < 0 || id >= starts.length - 1) return "";
    return this.names.slice(starts[id], starts[id + 1]! - 1);
  }

  containing(foldedNeedle: string): Uint8Array | null {
    const starts = this.starts;
    let marks: Uint8Array | null = null;
    let at = this.foldedNames.indexOf(foldedNeedle);
    while (at >= 0) {
      // The name holding `at`: the last start at or before it.
      let low = 0;
      let high = starts.length - 2;
      while (low < high) {
        const mid = (low + high + 1) >> 1;
        if (starts[mid]! <= at) low = mid;
        else high = mid - 1;
      }
      if (low > 0) {
        marks ??= new Uint8Array(starts.length - 1);
        marks[low] = 1;
      }
      at = this.foldedNames.indexOf(foldedNeedle, starts[low + 1]!);
    }
    return marks;
  }

  matching(accepts: (name: string) => boolean, key: string): Uint8Array | null {
    const cached = this.marks.get(key);
    if (cached !== undefined) return cached;
    const marks = markMatching(this.nameCount, (id) => this.name(id), accepts);
    this.marks.set(key, marks);
    if (this.marks.size > CACHED_MARKS) this.marks.delete(this.marks.keys().next().value!);
    return marks;
  }
}

/** A sealed chunk, read-only. */
export class Chunk implements ChunkView {
  readonly version = 0;
  readonly fields: SealedField[];
  private readonly byPath: Map<string, SealedField>;

  constructor(readonly data: ChunkData) {
    this.fields = data.fields.map((field) => new SealedField(field));
    this.byPath = new Map(this.fields.map((field) => [field.path, field]));
  }

  get start(): number {
    return this.data.start;
  }
  get end(): number {
    return this.data.end;
  }
  get count(): number {
    return this.data.count;
  }
  get malformed(): number {
    return this.data.malformed;
  }
  get truncated(): number {
    return this.data.truncated;
  }
  get deep(): number {
    return this.data.deep;
  }
  get offsets(): Uint32Array {
    return this.data.offsets;
  }
  get time(): Float64Array {
    return this.data.time;
  }
  get success(): Uint8Array {
    return this.data.success;
  }
  get hashes(): Record<HashedField, Uint16Array | null> {
    return this.data.hashes;
  }
  get ip(): Uint32Array | null {
    return this.data.ip;
  }
  get ipLines(): Uint16Array | null {
    return this.data.ipLines;
  }
  get ipBlocks(): Uint16Array | null {
    return this.data.ipBlocks;
  }
  get ipBlockCounts(): Uint32Array | null {
    return this.data.ipBlockCounts;
  }
  get rawBloom(): Uint8Array | null {
    return this.data.rawBloom;
  }
  get rawBlocks(): Uint8Array | null {
    return this.data.rawBlocks;
  }

  field(path: string): FieldView | undefined {
    return this.byPath.get(path);
  }

  /** Bytes of memory its columns take (for figures). */
  get byteSize(): number {
    const d = this.data;
    let size = d.offsets.byteLength + d.time.byteLength + d.success.byteLength;
    for (const name of HASHED_FIELDS) size += d.hashes[name]?.byteLength ?? 0;
    size += (d.ip?.byteLength ?? 0) + (d.ipLines?.byteLength ?? 0) + (d.ipBlocks?.byteLength ?? 0) + (d.ipBlockCounts?.byteLength ?? 0);
    for (const field of d.fields)
      size +=
        (field.ids?.byteLength ?? 0) +
        (field.positions?.byteLength ?? 0) +
        field.starts.byteLength +
        field.names.length +
        (field.folded?.length ?? 0);
    return size + (d.rawBloom?.byteLength ?? 0) + (d.rawBlocks?.byteLength ?? 0);
  }
}
