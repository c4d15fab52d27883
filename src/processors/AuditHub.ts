import { resolve } from "node:path";
import type { AuditEntryDict } from "../entry/fields.js";

export type HubSource = "audit" | "security";

/** What the hub delivers to subscribers: one entry of one stream. */
export interface HubEvent {
  source: HubSource;
  entry: AuditEntryDict;
}

export type HubListener = (event: HubEvent) => void;

export interface AuditHubOptions {
  /** Entries kept per source for `recent()` (default 500). */
  capacity?: number;
}

/**
 * In-memory fan-out of the entries loggers write, for live views: a bounded
 * ring of recent entries per source and a set of listeners. A listener that
 * throws is removed from nothing and breaks nothing: its error is counted.
 */
export class AuditHub {
  readonly capacity: number;
  private readonly rings: Record<HubSource, AuditEntryDict[]> = { audit: [], security: [] };
  private readonly heads: Record<HubSource, number> = { audit: 0, security: 0 };
  private readonly listeners = new Set<HubListener>();
  /** Listener errors contained since start. */
  listenerErrors = 0;
  /** Entries published since start, per source. */
  readonly published: Record<HubSource, number> = { audit: 0, security: 0 };

  constructor(options: AuditHubOptions = {}) {
    this.capacity = Math.max(1, Math.floor(options.capacity ?? 500));
  }

  publish(source: HubSource, entry: AuditEntryDict): void {
    const ring = this.rings[source];
    if (ring.length < this.capacity) ring.push(entry);
    else {
      ring[this.heads[source]] = entry;
      this.heads[source] = (this.heads[source] + 1) % this.capacity;
    }
    this.published[source]++;
    for (const listener of this.listeners) {
      try {
        listener({ source, entry });
      } catch {
        this.listenerErrors++;
      }
    }
  }

  /** The most recent entries of a source, newest first. */
  recent(source: HubSource = "audit", limit = this.capacity): AuditEntryDict[] {
    const ring = this.rings[source];
    const head = this.heads[source];
    const ordered = ring.length < this.capacity ? ring.slice() : [...ring.slice(head), ...ring.slice(0, head)];
    return ordered.reverse().slice(0, Math.max(0, limit));
  }

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: HubListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Forgets the recent entries (listeners stay). */
  clear(): void {
    this.rings.audit = [];
    this.rings.security = [];
    this.heads.audit = 0;
    this.heads.security = 0;
  }
}

/** A process-wide hub not tied to a folder, for loggers and viewers given no other. */
export const defaultHub = new AuditHub();

const folderHubs = new Map<string, AuditHub>();

/**
 * The hub of one log folder: what loggers writing that folder publish to and
 * what a viewer of that folder listens to by default (`enableRealtime()`,
 * `connectLogger(logger)`). One per folder, so a viewer never shows live
 * entries written to another folder (another tenant).
 */
export function hubFor(logDir: string): AuditHub {
  const key = resolve(logDir);
  let hub = folderHubs.get(key);
  if (!hub) {
    hub = new AuditHub();
    folderHubs.set(key, hub);
  }
  return hub;
}
