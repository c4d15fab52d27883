import type { EntryFilter } from "../EntryQuery.js";
import { ipMatcher, type TextMatch, valueMatcher } from "../FieldMatch.js";
import { IpRange } from "../IpRange.js";
import type { TrailEntry } from "../TrailSource.js";
import { type ChunkStats, type ChunkView, type FilterField, type HashedField, hashText, type IdColumn } from "./Chunk.js";
import { scalarText } from "./text.js";

/** A filter on a dictionary column: the names it accepts (FieldMatch's rules), and a key naming it. */
interface FieldTest {
  path: FilterField;
  accepts: (name: string) => boolean;
  key: string;
}

/** A filter on a hashed identifier: the hashes of its values (marked 1 of 65,536), and the values to confirm on the line. */
interface HashTest {
  field: HashedField;
  marks: Uint8Array;
  values: Set<string>;
}

/** An `ip` filter: IPv4 ranges as [low, high] numbers; addresses of other kinds are matched on the line. */
interface IpTest {
  low: Float64Array;
  high: Float64Array;
  matches: (value: string) => boolean;
}

/** Marks for a mask column (1: the entry matches). */
const MASK_MARKS = Uint8Array.of(0, 1);

/**
 * An EntryFilter prepared once per query: which names each filtered
 * dictionary column accepts (valueMatcher, the rules every source shares),
 * the hashes of the identifiers asked for, the IPv4 ranges, the result and
 * the time bounds. Each chunk compiles it into a PartFilter.
 */
export class EntryTests {
  readonly fields: FieldTest[] = [];
  readonly hashes: HashTest[] = [];
  readonly ip: IpTest | null = null;
  /** 1 or 0 for `success`, -1 when it does not filter. */
  readonly success: number;
  readonly from: number;
  readonly to: number;
  readonly q: string | undefined;

  constructor(filter: EntryFilter) {
    const field = (path: FilterField, values: string[] | undefined, mode: TextMatch, ignoreCase: boolean) => {
      if (values === undefined || values.length === 0) return;
      this.fields.push({
        path,
        accepts: valueMatcher(values, mode, ignoreCase),
        key: `${mode}${ignoreCase ? "i" : ""}\u0000${values.join("\u0000")}`,
      });
    };
    field("module", filter.module, "exact", true);
    field("level", filter.level, "exact", true);
    field("action", filter.action, "exact", true);
    field("user", filter.user, filter.userMatch ?? "contains", true);
    field("branch_id", filter.branchId, filter.branchMatch ?? "contains", false);
    field("company_id", filter.companyId, "exact", false);
    field("entity_type", filter.entityType, "exact", false);
    field("service", filter.service, "exact", false);
    field("hostname", filter.hostname, "exact", false);
    // A scoped reader (its key's tenants): only entries whose company_id is one of them, compared as written.
    const companies = filter.scope?.companyIds;
    if (companies !== undefined) {
      const allowed = new Set(companies);
      this.fields.push({ path: "company_id", accepts: (name) => allowed.has(name), key: `scope\u0000${[...allowed].join("\u0000")}` });
    }
    const hash = (name: HashedField, values: string[] | undefined) => {
      if (values === undefined || values.length === 0) return;
      const marks = new Uint8Array(65536);
      for (const value of values) marks[hashText(value)] = 1;
      this.hashes.push({ field: name, marks, values: new Set(values) });
    };
    hash("entity_id", filter.entityId);
    hash("reference_no", filter.referenceNo);
    hash("request_id", filter.requestId);
    hash("id", filter.id === undefined ? undefined : [filter.id]);
    if (filter.ip !== undefined && filter.ip.length > 0) {
      const bounds = filter.ip.map((value) => IpRange.parse(value)?.v4Bounds() ?? null).filter((b) => b !== null);
      this.ip = {
        low: Float64Array.from(bounds, (b) => b[0]),
        high: Float64Array.from(bounds, (b) => b[1]),
        matches: ipMatcher(filter.ip),
      };
    }
    this.success = filter.success === undefined ? -1 : filter.success ? 1 : 0;
    this.from = filter.from ?? Number.NEGATIVE_INFINITY;
    this.to = filter.to ?? Number.POSITIVE_INFINITY;
    this.q = filter.q;
  }

  /** Nothing filters but the free text (if any). */
  get onlyText(): boolean {
    return (
      this.fields.length === 0 &&
      this.hashes.length === 0 &&
      this.ip === null &&
      this.success < 0 &&
      this.from === Number.NEGATIVE_INFINITY &&
      this.to === Number.POSITIVE_INFINITY
    );
  }

  /** Nothing filters: every entry matches. */
  get none(): boolean {
    return this.onlyText && this.q === undefined;
  }

  /** What the columns cannot decide, checked on the entry's line: the identifiers' values (a hash may collide) and the address. */
  confirm(entry: TrailEntry): boolean {
    for (const { field, values } of this.hashes) {
      const text = scalarText(entry[field]);
      if (text === undefined || !values.has(text)) return false;
    }
    if (this.ip !== null) {
      const address = scalarText(entry.ip);
      if (address === undefined || !this.ip.matches(address)) return false;
    }
    return true;
  }
}

interface DictionaryTest {
  ids: IdColumn;
  marks: Uint8Array;
}

/**
 * EntryTests compiled for one chunk: the dictionary ids each filtered field
 * may have (looked up in this chunk's dictionaries), so that a scan compares
 * integers in typed arrays. Entries the columns cannot decide alone (a hash
 * match, an address that is not an IPv4 number) are confirmed on the line
 * by the caller (needsLine). Free text comes as a ready bitmap of the chunk's
 * entries.
 */
export class PartFilter {
  /** No entry of the chunk can match. */
  readonly none: boolean;
  private readonly tests: DictionaryTest[] = [];
  private readonly hashColumns: Array<{ column: Uint16Array; marks: Uint8Array }> = [];
  /** Entries whose address is matched on the line (1). */
  private readonly ipOnLine: Uint8Array | null = null;
  private readonly ipColumn: Uint32Array | null = null;
  /** How many entries of the whole chunk match, when its /16 blocks tell (an address filter alone, of whole blocks). */
  private readonly ipCount: number | null = null;

  constructor(
    private readonly view: ChunkView,
    private readonly entryTests: EntryTests,
    private readonly text: Uint8Array | null,
    /** The chunk's time range, when known: a time filter outside it skips the chunk. */
    times: ChunkStats | null = null,
  ) {
    let none = false;
    const { from, to } = entryTests;
    if (times && (from !== Number.NEGATIVE_INFINITY || to !== Number.POSITIVE_INFINITY)) {
      const max = times.maxTime ?? null;
      const min = times.minTime ?? null;
      if (min !== null && max !== null) none = max < from || min > to;
    }
    for (const { path, accepts, key } of entryTests.fields) {
      if (none) break;
      const field = view.field(path);
      const marks = field?.matching(accepts, key) ?? null;
      if (!field || !marks) {
        none = true;
        break;
      }
      if (field.positions) {
        // A sparse field: a mask of the entries that have a matching value.
        const mask = new Uint8Array(view.count);
        const positions = field.positions;
        for (let k = 0; k < positions.length; k++) if (marks[field.ids ? field.ids[k]! : field.constant] === 1) mask[positions[k]!] = 1;
        this.tests.push({ ids: mask, marks: MASK_MARKS });
      } else if (field.ids) this.tests.push({ ids: field.ids, marks });
      else if (marks[field.constant] !== 1) none = true;
    }
    for (const { field, marks } of entryTests.hashes) {
      if (none) break;
      const column = view.hashes[field];
      if (!column) none = true;
      else this.hashColumns.push({ column, marks });
    }
    if (entryTests.ip !== null && !none) {
      this.ipColumn = view.ip;
      const lines = view.ipLines;
      if (lines) {
        this.ipOnLine = new Uint8Array(view.count);
        for (let k = 0; k < lines.length; k++) this.ipOnLine[lines[k]!] = 1;
      }
      if (this.ipColumn === null && this.ipOnLine === null) none = true;
      else if (this.ipOnLine === null && view.ipBlocks !== null && view.ipBlockCounts !== null) {
        const blocks = blockMatches(view.ipBlocks, view.ipBlockCounts, entryTests.ip);
        if (blocks.count === 0 && blocks.exact) none = true;
        const onlyIp = this.tests.length === 0 && this.hashColumns.length === 0 && text === null && entryTests.success < 0;
        const timed = entryTests.from !== Number.NEGATIVE_INFINITY || entryTests.to !== Number.POSITIVE_INFINITY;
        if (blocks.exact && onlyIp && !timed) this.ipCount = blocks.count;
      }
    }
    this.none = none;
  }

  /** Whether entry i, once scan() found it, must be confirmed on its line (EntryTests.confirm). */
  needsLine(i: number): boolean {
    return this.hashColumns.length > 0 || (this.ipOnLine !== null && this.ipOnLine[i] === 1);
  }

  /** Whether some entry of the chunk may have to be confirmed on its line (needsLine). */
  get readsLines(): boolean {
    return this.hashColumns.length > 0 || this.ipOnLine !== null;
  }

  /**
   * Entries of [low, high) that match, newest first: calls `hit(i)` for each
   * until it returns false. Returns the index scanning stopped at (low when
   * it ran to the end).
   */
  scan(low: number, high: number, hit: (i: number) => boolean): number {
    // In batches: a caller that stops early (a page, an export's batch) has not scanned the rest.
    for (let top = high; top > low; ) {
      const found = this.collect(low, top, SCAN_BATCH);
      try {
        for (let k = 0; k < found.length; k++) if (!hit(found[k]!)) return found[k]!;
        if (found.length < SCAN_BATCH) return low;
        top = found[found.length - 1]!;
      } finally {
        release(found);
      }
    }
    return low;
  }

  /** How many entries of [low, high) match (for a filter that never reads lines: see readsLines). */
  count(low: number, high: number): number {
    if (this.none) return 0;
    if (this.ipCount !== null && low === 0 && high === this.view.count) return this.ipCount;
    const found = this.collect(low, high);
    release(found);
    return found.length;
  }

  /**
   * Adds the matching entries of [low, high) to the buckets of a histogram
   * (`failures` counts those whose success is false); `keep(i)` decides the
   * entries that needsLine. Returns how many matched, in the buckets or not.
   */
  countBuckets(
    low: number,
    high: number,
    layout: { start: number; bucketMs: number; buckets: number },
    counts: number[],
    failures: number[],
    keep: (i: number) => boolean,
  ): number {
    const found = this.collect(low, high);
    const times = this.view.time;
    const successes = this.view.success;
    const { start, bucketMs, buckets } = layout;
    const lines = this.readsLines;
    let total = 0;
    for (let k = 0; k < found.length; k++) {
      const i = found[k]!;
      if (lines && this.needsLine(i) && !keep(i)) continue;
      total++;
      const bucket = Math.floor((times[i]! - start) / bucketMs);
      if (!(bucket >= 0 && bucket < buckets)) continue;
      counts[bucket]!++;
      if (successes[i] === 0) failures[bucket]!++;
    }
    release(found);
    return total;
  }

  /**
   * The matching entries of [low, high), newest first, in a scratch array
   * (handed back with release()). One loop over typed arrays, with shorter
   * loops for the most common filters: one dictionary field, one address block.
   */
  private collect(low: number, high: number, most = high - low): Uint32Array {
    const out = take(Math.min(most, high - low));
    if (this.none || high <= low) return out.subarray(0, 0);
    const { tests, hashColumns, text, ipColumn, ipOnLine } = this;
    const { success, from, to, ip } = this.entryTests;
    const timed = from !== Number.NEGATIVE_INFINITY || to !== Number.POSITIVE_INFINITY;
    let n = 0;
    const plain = hashColumns.length === 0 && success < 0 && !timed && text === null;
    if (plain && tests.length === 1 && ip === null) {
      const { ids, marks } = tests[0]!;
      for (let i = high - 1; i >= low && n < most; i--) if (marks[ids[i]!] === 1) out[n++] = i;
      return out.subarray(0, n);
    }
    if (plain && tests.length === 0 && ip !== null && ip.low.length === 1 && ipOnLine === null && ipColumn !== null) {
      // 0 is no address: never in a block.
      const lowest = Math.max(1, ip.low[0]!);
      const highest = ip.high[0]!;
      for (let i = high - 1; i >= low && n < most; i--) {
        const address = ipColumn[i]!;
        if (address >= lowest && address <= highest) out[n++] = i;
      }
      return out.subarray(0, n);
    }
    const successes = this.view.success;
    const times = this.view.time;
    // The first two dictionary tests and the first hash in locals: most filters have no more.
    const ids0 = tests[0]?.ids;
    const marks0 = tests[0]?.marks;
    const ids1 = tests[1]?.ids;
    const marks1 = tests[1]?.marks;
    const hashColumn = hashColumns[0]?.column;
    const hashMarks = hashColumns[0]?.marks;
    outer: for (let i = high - 1; i >= low && n < most; i--) {
      if (ids0 !== undefined && marks0![ids0[i]!] !== 1) continue;
      if (ids1 !== undefined && marks1![ids1[i]!] !== 1) continue;
      if (hashColumn !== undefined && hashMarks![hashColumn[i]!] !== 1) continue;
      for (let k = 2; k < tests.length; k++) if (tests[k]!.marks[tests[k]!.ids[i]!] !== 1) continue outer;
      if (success >= 0 && successes[i] !== success) continue;
      if (timed) {
        const t = times[i]!;
        if (!(t >= from && t <= to)) continue;
      }
      if (text !== null && text[i] !== 1) continue;
      for (let k = 1; k < hashColumns.length; k++) if (hashColumns[k]!.marks[hashColumns[k]!.column[i]!] !== 1) continue outer;
      if (ip !== null) {
        const address = ipColumn === null ? 0 : ipColumn[i]!;
        if (address !== 0) {
          let inside = false;
          for (let k = 0; k < ip.low.length && !inside; k++) inside = address >= ip.low[k]! && address <= ip.high[k]!;
          if (!inside) continue;
        } else if (ipOnLine === null || ipOnLine[i] !== 1) continue;
      }
      out[n++] = i;
    }
    return out.subarray(0, n);
  }
}

/**
 * The entries of a chunk's /16 blocks inside the ranges: `exact` when each
 * block is wholly inside a range or wholly outside all (else some entries
 * must be compared one by one).
 */
function blockMatches(blocks: Uint16Array, counts: Uint32Array, ip: IpTest): { count: number; exact: boolean } {
  let count = 0;
  let exact = true;
  for (let k = 0; k < blocks.length; k++) {
    const first = blocks[k]! * 65_536;
    const last = first + 65_535;
    let inside = false;
    let overlaps = false;
    for (let r = 0; r < ip.low.length; r++) {
      if (first >= ip.low[r]! && last <= ip.high[r]!) inside = true;
      else if (first <= ip.high[r]! && last >= ip.low[r]!) overlaps = true;
    }
    if (inside) count += counts[k]!;
    else if (overlaps) exact = false;
  }
  return { count, exact };
}

/** Entries scan() collects at a time. */
const SCAN_BATCH = 1024;

/** One scratch array of entry indexes, reused by every collect() on this thread (a nested one gets its own). */
let scratch: Uint32Array | null = new Uint32Array(65_536);

function take(length: number): Uint32Array {
  const free = scratch;
  if (free !== null && free.length >= length) {
    scratch = null;
    return free;
  }
  return new Uint32Array(Math.max(length, 65_536));
}

function release(found: Uint32Array): void {
  if (scratch === null || found.buffer.byteLength > scratch.byteLength) scratch = new Uint32Array(found.buffer as ArrayBuffer);
}
