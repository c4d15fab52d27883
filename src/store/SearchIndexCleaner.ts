/**
 * Keeps the free-text index's pending list short, on a connection of its own.
 *
 * A GIN index takes a new row's trigrams into a pending list (cheap) and
 * merges that list into the index later (the costly half of indexing a row).
 * By default the connection that inserts does the merge whenever the list
 * passes 4 MB, inside its COPY: the batch waits. The shipper's storing
 * connections raise that limit, and this cleaner merges the months just
 * stored while the next batch is being stored, on the other core. Searches
 * read the pending list too, so it is never left long: one clean runs after
 * each batch, at most one at a time, and one more when batches came meanwhile.
 */
import type pg from "pg";
import { monthOf } from "./BatchWriter.js";
import { sqlState } from "./connect.js";
import type { StoreNames } from "./schema.js";

/** The storing connections' pending-list limit while a cleaner runs: about 4 s of rows at 5,000 a second. */
export const PENDING_LIST_LIMIT = "64MB";
/**
 * The pause after a clean before the next: merging a longer list costs less
 * per row (each trigram's place in the index is found once for more rows),
 * and searches scan about this much more of the list.
 */
const CLEAN_INTERVAL_MS = 500;

/** A failure of the connection itself (not of the statement): the cleaner cannot go on over it. */
function isConnectionFailure(error: unknown): boolean {
  const state = sqlState(error);
  return state === undefined || state.startsWith("08") || state.startsWith("57P");
}

export class SearchIndexCleaner {
  private running: Promise<void> | null = null;
  private lastEnd = Number.NEGATIVE_INFINITY;
  /** Months to clean next: a time in each. */
  private readonly waiting = new Map<number, number>();
  /** The connection failed: the shipper connects again. */
  lostConnection: Error | null = null;
  cleans = 0;

  constructor(
    readonly client: pg.Client,
    private readonly names: StoreNames,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Asks for the months of these entry times to be cleaned: at once, or right after the clean that is running. */
  request(times: readonly number[]): void {
    if (this.lostConnection) return;
    for (const time of times) {
      const month = monthOf(time);
      if (!this.waiting.has(month)) this.waiting.set(month, time);
    }
    if (this.waiting.size > 0 && !this.running) this.running = this.run();
  }

  /** Resolves once no clean is running or waiting. */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  private async run(): Promise<void> {
    try {
      while (this.waiting.size > 0 && !this.lostConnection) {
        const wait = this.lastEnd + CLEAN_INTERVAL_MS - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait).unref());
        const times = [...this.waiting.values()].map((time) => new Date(time).toISOString());
        this.waiting.clear();
        try {
          await this.client.query(`SELECT ${this.names.of("clean_search_pending")}($1::timestamptz[])`, [times]);
          this.cleans++;
        } catch (error) {
          if (isConnectionFailure(error)) this.lostConnection = error as Error;
          this.onError(error);
        } finally {
          this.lastEnd = performance.now();
        }
      }
    } finally {
      this.running = null;
    }
  }
}
