import { type ColumnStore, hashText, textOf } from "./ColumnStore.js";
import type { Dictionary } from "./Dictionary.js";
import type { EntryFilter } from "./EntryQuery.js";
import type { TrailEntry } from "./TrailSource.js";

export interface ScanResult {
  total: number;
  /** Entry ordinals of the page, newest first. */
  ordinals: number[];
}

interface HashedValue {
  column: Int32Array;
  hash: number;
  field: string;
  value: string;
}

/**
 * An EntryFilter prepared for one ColumnStore: dictionary ids (-1 = no
 * filter), hashes and bounds, so that a scan compares integers in typed
 * arrays and reads lines only to confirm a hash.
 */
export class CompiledFilter {
  private constructor(
    private readonly store: ColumnStore,
    private readonly readEntry: (ordinal: number) => TrailEntry | null,
    readonly module: number,
    readonly level: number,
    readonly user: number,
    readonly action: number,
    readonly branch: number,
    readonly company: number,
    readonly entityType: number,
    readonly success: number,
    readonly from: number,
    readonly to: number,
    readonly hashed: HashedValue[],
    readonly textBits: Uint8Array | null,
  ) {}

  /**
   * The filter compiled against `store`; null when no entry can match (a
   * value no entry has). `textBits` marks the entries matching the free text.
   */
  static compile(
    store: ColumnStore,
    filter: EntryFilter,
    readEntry: (ordinal: number) => TrailEntry | null,
    textBits: (q: string) => Uint8Array,
  ): CompiledFilter | null {
    const lookups: Array<[Dictionary, string | undefined]> = [
      [store.modules, filter.module],
      [store.levels, filter.level],
      [store.users, filter.user],
      [store.actions, filter.action],
      [store.branches, filter.branchId],
      [store.companies, filter.companyId],
      [store.entityTypes, filter.entityType],
    ];
    const ids = lookups.map(([dictionary, value]) => (value === undefined ? -1 : dictionary.find(value)));
    if (ids.some((id, i) => id < 0 && lookups[i]![1] !== undefined)) return null;
    const hashed: HashedValue[] = [];
    const hash = (column: Int32Array, field: string, value: string | undefined) => {
      if (value !== undefined) hashed.push({ column, hash: hashText(value), field, value });
    };
    hash(store.entityIdHash, "entity_id", filter.entityId);
    hash(store.referenceHash, "reference_no", filter.referenceNo);
    hash(store.requestIdHash, "request_id", filter.requestId);
    hash(store.idHash, "id", filter.id);
    const [module, level, user, action, branch, company, entityType] = ids as [number, number, number, number, number, number, number];
    return new CompiledFilter(
      store,
      readEntry,
      module,
      level,
      user,
      action,
      branch,
      company,
      entityType,
      filter.success === undefined ? -1 : filter.success ? 1 : 0,
      filter.from ?? Number.NEGATIVE_INFINITY,
      filter.to ?? Number.POSITIVE_INFINITY,
      hashed,
      filter.q === undefined ? null : textBits(filter.q),
    );
  }

  get unfiltered(): boolean {
    return (
      this.module < 0 &&
      this.level < 0 &&
      this.user < 0 &&
      this.action < 0 &&
      this.branch < 0 &&
      this.company < 0 &&
      this.entityType < 0 &&
      this.success < 0 &&
      this.from === Number.NEGATIVE_INFINITY &&
      this.to === Number.POSITIVE_INFINITY &&
      this.hashed.length === 0 &&
      this.textBits === null
    );
  }

  /**
   * Scans the entries newest first from `below` (exclusive): counts the matches
   * and collects the ordinals of those numbered [skip, skip + take). With
   * `stopWhenFull` it stops once the page is full (the count is then partial).
   * One loop over typed arrays, no call per entry: 1M entries in a few ms.
   */
  scan(below: number, skip: number, take: number, stopWhenFull: boolean): ScanResult {
    const { module, level, user, action, branch, company, entityType, success, from, to, hashed, textBits } = this;
    const store = this.store;
    const timed = from !== Number.NEGATIVE_INFINITY || to !== Number.POSITIVE_INFINITY;
    const modules = store.module;
    const levels = store.level;
    const users = store.user;
    const actions = store.action;
    const branches = store.branch;
    const companies = store.company;
    const entityTypes = store.entityType;
    const successes = store.success;
    const times = store.time;
    const ordinals: number[] = [];
    const end = skip + take;
    let total = 0;
    for (let i = Math.min(below, store.count) - 1; i >= 0; i--) {
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
      if (hashed.length > 0 && !this.matchesHashed(i)) continue;
      if (total >= skip && total < end) ordinals.push(i);
      total++;
      if (stopWhenFull && total >= end) break;
    }
    return { total, ordinals };
  }

  /** Hashes narrow the candidates; the line itself confirms (a hash may collide). */
  private matchesHashed(ordinal: number): boolean {
    for (const { column, hash } of this.hashed) if (column[ordinal] !== hash) return false;
    const entry = this.readEntry(ordinal);
    if (!entry) return false;
    for (const { field, value } of this.hashed) if (textOf(entry[field]) !== value) return false;
    return true;
  }
}
