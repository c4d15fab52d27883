import { type ColumnStore, hashText, textOf } from "./ColumnStore.js";
import type { Dictionary } from "./Dictionary.js";
import type { EntryFilter } from "./EntryQuery.js";
import { ipMatcher, type TextMatch, valueMatcher } from "./FieldMatch.js";
import { IpRange } from "./IpRange.js";
import type { TrailEntry } from "./TrailSource.js";

export interface ScanResult {
  total: number;
  /** Entry ordinals of the page, newest first. */
  ordinals: number[];
}

/** A dictionary column and the ids (marked 1) its filter accepts. */
interface MarkedColumn {
  column: Uint32Array;
  marks: Uint8Array;
}

/** An `ip` filter: IPv4 addresses compared as numbers in [low, high] bounds, other addresses checked on the line. */
interface IpTest {
  low: Float64Array;
  high: Float64Array;
  matches: (value: string) => boolean;
}

interface HashedValues {
  column: Int32Array;
  hashes: Int32Array;
  field: string;
  values: Set<string>;
}

/**
 * An EntryFilter prepared for one ColumnStore: for each filtered dictionary
 * column the ids whose value the filter accepts (found once per distinct
 * value, with the same matchers every source uses), hashes of identifiers,
 * time bounds; so that a scan compares integers in typed arrays and reads
 * lines only to confirm a hash.
 */
export class CompiledFilter {
  private constructor(
    private readonly store: ColumnStore,
    private readonly readEntry: (ordinal: number) => TrailEntry | null,
    private readonly marked: MarkedColumn[],
    private readonly success: number,
    private readonly from: number,
    private readonly to: number,
    private readonly hashed: HashedValues[],
    private readonly textBits: Uint8Array | null,
    private readonly ip: IpTest | null,
  ) {}

  /**
   * The filter compiled against `store`; null when no entry can match (no
   * value of a filtered column is accepted). `textBits` marks the entries
   * matching the free text.
   */
  static compile(
    store: ColumnStore,
    filter: EntryFilter,
    readEntry: (ordinal: number) => TrailEntry | null,
    textBits: (q: string) => Uint8Array,
  ): CompiledFilter | null {
    const exact = (values: string[], ignoreCase: boolean) => valueMatcher(values, "exact", ignoreCase);
    const chosen = (values: string[], mode: TextMatch | undefined, ignoreCase: boolean) =>
      valueMatcher(values, mode ?? "contains", ignoreCase);
    const lookups: Array<[Uint32Array, Dictionary, string[] | undefined, (values: string[]) => (value: string) => boolean]> = [
      [store.module, store.modules, filter.module, (v) => exact(v, true)],
      [store.level, store.levels, filter.level, (v) => exact(v, true)],
      [store.user, store.users, filter.user, (v) => chosen(v, filter.userMatch, true)],
      [store.action, store.actions, filter.action, (v) => exact(v, true)],
      [store.branch, store.branches, filter.branchId, (v) => chosen(v, filter.branchMatch, false)],
      [store.company, store.companies, filter.companyId, (v) => exact(v, false)],
      [store.entityType, store.entityTypes, filter.entityType, (v) => exact(v, false)],
      [store.service, store.services, filter.service, (v) => exact(v, false)],
      [store.hostname, store.hostnames, filter.hostname, (v) => exact(v, false)],
    ];
    const marked: MarkedColumn[] = [];
    for (const [column, dictionary, values, matcher] of lookups) {
      if (values === undefined || values.length === 0) continue;
      const marks = dictionary.matching(matcher(values));
      if (!marks) return null;
      marked.push({ column, marks });
    }
    const companyScope = scopeMarks(store.companies, filter.scope?.companyIds);
    if (companyScope !== null) {
      if (!companyScope.includes(1)) return null;
      marked.push({ column: store.company, marks: companyScope });
    }
    const hashed: HashedValues[] = [];
    const hash = (column: Int32Array, field: string, values: string[] | undefined) => {
      if (values !== undefined && values.length > 0)
        hashed.push({ column, hashes: Int32Array.from(values, hashText), field, values: new Set(values) });
    };
    hash(store.entityIdHash, "entity_id", filter.entityId);
    hash(store.referenceHash, "reference_no", filter.referenceNo);
    hash(store.requestIdHash, "request_id", filter.requestId);
    hash(store.idHash, "id", filter.id === undefined ? undefined : [filter.id]);
    let ip: IpTest | null = null;
    if (filter.ip !== undefined && filter.ip.length > 0) {
      const bounds = filter.ip.map((value) => IpRange.parse(value)?.v4Bounds() ?? null).filter((b) => b !== null);
      ip = {
        low: Float64Array.from(bounds, (b) => b[0]),
        high: Float64Array.from(bounds, (b) => b[1]),
        matches: ipMatcher(filter.ip),
      };
    }
    return new CompiledFilter(
      store,
      readEntry,
      marked,
      filter.success === undefined ? -1 : filter.success ? 1 : 0,
      filter.from ?? Number.NEGATIVE_INFINITY,
      filter.to ?? Number.POSITIVE_INFINITY,
      hashed,
      filter.q === undefined ? null : textBits(filter.q),
      ip,
    );
  }

  get unfiltered(): boolean {
    return (
      this.marked.length === 0 &&
      this.success < 0 &&
      this.from === Number.NEGATIVE_INFINITY &&
      this.to === Number.POSITIVE_INFINITY &&
      this.hashed.length === 0 &&
      this.textBits === null &&
      this.ip === null
    );
  }

  /**
   * Scans the entries newest first from `below` (exclusive): counts the matches
   * and collects the ordinals of those numbered [skip, skip + take). With
   * `stopWhenFull` it stops once the page is full (the count is then partial).
   * One loop over typed arrays, no call per entry: 1M entries in a few ms.
   */
  scan(below: number, skip: number, take: number, stopWhenFull: boolean): ScanResult {
    const ordinals: number[] = [];
    const end = skip + take;
    let total = 0;
    this.visit(below, (i) => {
      if (total >= skip && total < end) ordinals.push(i);
      total++;
      return !(stopWhenFull && total >= end);
    });
    return { total, ordinals };
  }

  /**
   * Calls `match` with each matching ordinal below `below`, newest first,
   * until it returns false. The first two column tests are kept in locals:
   * most filters have no more.
   */
  visit(below: number, match: (ordinal: number) => boolean): void {
    const { marked, success, from, to, hashed, textBits, ip } = this;
    const store = this.store;
    const timed = from !== Number.NEGATIVE_INFINITY || to !== Number.POSITIVE_INFINITY;
    const successes = store.success;
    const times = store.time;
    const column0 = marked[0]?.column;
    const marks0 = marked[0]?.marks;
    const column1 = marked[1]?.column;
    const marks1 = marked[1]?.marks;
    outer: for (let i = Math.min(below, store.count) - 1; i >= 0; i--) {
      if (column0 !== undefined && marks0![column0[i]!] !== 1) continue;
      if (column1 !== undefined && marks1![column1[i]!] !== 1) continue;
      for (let k = 2; k < marked.length; k++) if (marked[k]!.marks[marked[k]!.column[i]!] !== 1) continue outer;
      if (success >= 0 && successes[i] !== success) continue;
      if (timed) {
        const t = times[i]!;
        if (!(t >= from && t <= to)) continue;
      }
      if (textBits !== null && textBits[i] !== 1) continue;
      if (ip !== null && !this.matchesIp(ip, i)) continue;
      if (hashed.length > 0 && !this.matchesHashed(i)) continue;
      if (!match(i)) return;
    }
  }

  private matchesIp(ip: IpTest, ordinal: number): boolean {
    const kind = this.store.ipKind[ordinal];
    if (kind === 1) {
      const address = this.store.ipv4[ordinal]!;
      for (let k = 0; k < ip.low.length; k++) if (address >= ip.low[k]! && address <= ip.high[k]!) return true;
      return false;
    }
    if (kind !== 2) return false;
    // IPv6 (or a value that is no address): the line tells.
    const value = textOf(this.readEntry(ordinal)?.ip);
    return value !== undefined && ip.matches(value);
  }

  /** Hashes narrow the candidates; the line itself confirms (a hash may collide). */
  private matchesHashed(ordinal: number): boolean {
    for (const { column, hashes } of this.hashed) if (!hashes.includes(column[ordinal]!)) return false;
    const entry = this.readEntry(ordinal);
    if (!entry) return false;
    for (const { field, values } of this.hashed) {
      const text = textOf(entry[field]);
      if (text === undefined || !values.has(text)) return false;
    }
    return true;
  }
}

/** Marks (1) on the dictionary ids of the companies in scope; null when the reader is not scoped. */
export function scopeMarks(companies: Dictionary, companyIds: readonly string[] | undefined): Uint8Array | null {
  if (companyIds === undefined) return null;
  const marks = new Uint8Array(companies.size);
  for (const company of companyIds) {
    const id = companies.find(company);
    if (id > 0) marks[id] = 1;
  }
  return marks;
}
