import type { AuditHub, HubSource } from "../processors/AuditHub.js";
import type { TrailEntry, TrailSource } from "./TrailSource.js";
import { viewableEntry } from "./viewableEntry.js";

/** One entry for live views; ids increase, also across restarts (they start from the clock). */
export interface LiveEvent {
  id: number;
  source: HubSource;
  entry: TrailEntry;
  /** "realtime": pushed by a logger of this process through the hub; "file": read from the trail files. */
  transport: "realtime" | "file";
  /** The entry's trail cursor (see TrailSource.since), for entries read from the files. */
  cursor?: number;
}

export type LiveListener = (event: LiveEvent) => void;

/** Identities of hub entries remembered to skip their line when the tail reads it. */
const REMEMBERED_IDENTITIES = 20_000;

const field = (entry: TrailEntry, name: string): string => {
  const value = entry[name];
  return typeof value === "string" || typeof value === "number" || typeof value === "boolean" ? String(value) : "";
};

function identityOf(source: HubSource, entry: TrailEntry): string {
  return [
    source,
    field(entry, "timestamp"),
    field(entry, "level"),
    field(entry, "description"),
    field(entry, "request_id"),
    field(entry, "user"),
    field(entry, "reference_no"),
    field(entry, "entity_id"),
  ].join("\u0000");
}

/**
 * The live stream of new entries: pushed at once by the in-process hub, and
 * read by the tail from the files (entries other processes wrote). An entry
 * the hub already delivered is the same line the tail finds a moment later:
 * the hub's identities are counted (a multiset, so twin entries both pass) and
 * the tail skips what was counted.
 */
export class LiveFeed {
  private readonly listeners = new Set<LiveListener>();
  private readonly pushed = new Map<string, number>();
  private nextId = Date.now() * 1000;
  private readonly detach: Array<() => void> = [];
  private readonly stopFollowing = new AbortController();

  constructor(hub: AuditHub | null, source: TrailSource) {
    if (hub) {
      this.detach.push(
        hub.subscribe(({ source, entry }) => {
          const identity = identityOf(source, entry as unknown as TrailEntry);
          const count = this.pushed.get(identity) ?? 0;
          this.pushed.delete(identity); // re-inserted last: the eviction order is by latest push
          this.pushed.set(identity, count + 1);
          if (this.pushed.size > REMEMBERED_IDENTITIES) this.pushed.delete(this.pushed.keys().next().value!);
          this.emit(source, entry as unknown as TrailEntry, "realtime");
        }),
      );
    }
    this.follow(source).catch(() => {});
  }

  /** Entries the source finds appended: emitted unless the hub already delivered them. */
  private async follow(trail: TrailSource): Promise<void> {
    for await (const { source, entries, cursor } of trail.live({ signal: this.stopFollowing.signal })) {
      for (const [i, entry] of entries.entries()) {
        const identity = identityOf(source, entry);
        const count = this.pushed.get(identity);
        if (count === undefined) this.emit(source, entry, "file", cursor === undefined ? undefined : cursor - (entries.length - 1 - i));
        else if (count <= 1) this.pushed.delete(identity);
        else this.pushed.set(identity, count - 1);
      }
    }
  }

  subscribe(listener: LiveListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  close(): void {
    this.stopFollowing.abort();
    for (const detach of this.detach) detach();
    this.listeners.clear();
  }

  private emit(source: HubSource, entry: TrailEntry, transport: LiveEvent["transport"], cursor?: number): void {
    // Made viewable once here, so that no transport fails on an entry nested too deep to serialise.
    const event: LiveEvent = {
      id: ++this.nextId,
      source,
      entry: viewableEntry(entry),
      transport,
      ...(cursor === undefined ? {} : { cursor }),
    };
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // One broken transport must not starve the others.
      }
    }
  }
}
