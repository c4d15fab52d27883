import type { EntryFilter } from "./EntryQuery.js";
import type { HistogramRequest, TimeHistogram } from "./TimeHistogram.js";
import { TrailIndex, type TrailIndexOptions } from "./TrailIndex.js";
import { inScope } from "./TrailScope.js";
import type {
  AppendedEntries,
  EntityRef,
  EntriesSince,
  EntryCount,
  EntryPage,
  PageRequest,
  StreamOptions,
  TrailEntry,
  TrailName,
  TrailScope,
  TrailSource,
  TrailStats,
} from "./TrailSource.js";
import { TrailTail } from "./TrailTail.js";

export interface JsonlTrailSourceOptions extends TrailIndexOptions {
  /** Folder holding audit.jsonl and security.jsonl; it may not exist yet. */
  logDir: string;
  /** The audit trail's file name in logDir (default "audit.jsonl"). */
  auditLogFile?: string;
  /** The security trail's file name in logDir (default "security.jsonl"). */
  securityLogFile?: string;
  /** How often the files are polled for changes besides fs.watch (default 1000 ms). */
  pollIntervalMs?: number;
}

/**
 * The JSONL trail of one log folder as a TrailSource: an index per trail,
 * kept up to date by a tail of the folder.
 */
export class JsonlTrailSource implements TrailSource {
  readonly logDir: string;
  private readonly indexes: Record<TrailName, TrailIndex>;
  private readonly built: Promise<void>;
  private tail: TrailTail | null = null;
  private closed = false;
  /** Wakes the live iterations waiting for entries (at close). */
  private readonly sleepers = new Set<() => void>();

  constructor(options: JsonlTrailSourceOptions) {
    this.logDir = options.logDir;
    const indexOptions = { maxEntries: options.maxEntries, maxLineBytes: options.maxLineBytes };
    this.indexes = {
      audit: new TrailIndex(this.logDir, options.auditLogFile ?? "audit.jsonl", indexOptions),
      security: new TrailIndex(this.logDir, options.securityLogFile ?? "security.jsonl", indexOptions),
    };
    const pollIntervalMs = Math.max(50, options.pollIntervalMs ?? 1000);
    this.built = this.build(pollIntervalMs);
  }

  private async build(pollIntervalMs: number): Promise<void> {
    await this.indexes.audit.refresh(false);
    await this.indexes.security.refresh(false);
    if (!this.closed) this.tail = new TrailTail(this.logDir, () => this.refresh(), pollIntervalMs);
  }

  ready(): Promise<void> {
    return this.built;
  }

  async refresh(): Promise<void> {
    await this.indexes.audit.refresh();
    await this.indexes.security.refresh();
  }

  async query(source: TrailName, filter: EntryFilter, page: PageRequest): Promise<EntryPage> {
    await this.built;
    const index = this.indexes[source];
    const { total, ordinals } = index.query(filter, page.offset, page.limit);
    return { items: index.readEntries(ordinals), total, partial: false };
  }

  async count(source: TrailName, filter: EntryFilter): Promise<EntryCount> {
    await this.built;
    return { total: this.indexes[source].query(filter, 0, 0).total, partial: false };
  }

  async stats(source: TrailName, scope?: TrailScope): Promise<TrailStats> {
    await this.built;
    return this.indexes[source].stats(scope);
  }

  async entry(source: TrailName, id: string, scope?: TrailScope): Promise<TrailEntry | null> {
    const page = await this.query(source, { id, scope }, { offset: 0, limit: 1 });
    const found = page.items[0] ?? this.indexes[source].findDerived(id);
    return found && inScope(found, scope) ? found : null;
  }

  async histogram(source: TrailName, filter: EntryFilter, request: HistogramRequest): Promise<TimeHistogram> {
    await this.built;
    return this.indexes[source].histogram(filter, request);
  }

  async since(source: TrailName, cursor: number, limit: number): Promise<EntriesSince> {
    await this.built;
    return this.indexes[source].since(cursor, limit);
  }

  history(source: TrailName, entity: EntityRef, page: PageRequest, scope?: TrailScope): Promise<EntryPage> {
    return this.query(source, { entityType: [entity.type], entityId: [entity.id], scope }, page);
  }

  async *export(source: TrailName, filter: EntryFilter, options: StreamOptions = {}): AsyncGenerator<TrailEntry[]> {
    await this.built;
    for (const batch of this.indexes[source].matchingBatches(filter)) {
      if (options.signal?.aborted) return;
      yield batch;
    }
  }

  async *live(options: StreamOptions = {}): AsyncGenerator<AppendedEntries> {
    const queue: AppendedEntries[] = [];
    let wake: (() => void) | null = null;
    const push = (batch: AppendedEntries) => {
      queue.push(batch);
      wake?.();
    };
    const detach = (["audit", "security"] as const).map((source) =>
      this.indexes[source].onAppend((entries, cursor) => push({ source, entries, cursor })),
    );
    const stop = () => wake?.();
    options.signal?.addEventListener("abort", stop);
    try {
      while (!this.closed && !options.signal?.aborted) {
        const batch = queue.shift();
        if (batch) {
          yield batch;
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          this.sleepers.add(resolve);
        });
        if (wake) this.sleepers.delete(wake);
        wake = null;
      }
    } finally {
      options.signal?.removeEventListener("abort", stop);
      for (const off of detach) off();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const wake of this.sleepers) wake();
    this.sleepers.clear();
    this.tail?.close();
    await this.built.catch(() => {});
    this.tail?.close();
    this.indexes.audit.close();
    this.indexes.security.close();
  }
}
