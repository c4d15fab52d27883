import type { IncomingMessage, ServerResponse } from "node:http";
import SseChannel from "sse-channel";
import type { Reader } from "./ApiKeyGuard.js";
import type { LiveEvent, LiveFeed } from "./LiveFeed.js";
import { inScope } from "./TrailScope.js";
import type { TrailEntry, TrailName, TrailSource } from "./TrailSource.js";
import { viewableEntry } from "./viewableEntry.js";

export interface StreamLimits {
  /** Concurrent clients; more are answered 503 (default 100). */
  maxClients: number;
  /** A client whose unsent data grows past this is dropped (default 4 MiB). */
  maxBufferedBytes: number;
  /** Events kept per trail for Last-Event-ID resumption (default 1000). */
  historySize: number;
}

/** Whether a reader may see a live event: a trail its key may read, an entry of its tenants. */
export function mayReceive(reader: Reader, event: LiveEvent): boolean {
  return reader.sources.has(event.source) && inScope(event.entry, reader.scope);
}

/** What one /api/stream client asked for. */
export interface StreamRequest {
  /** The trail it follows. */
  source: TrailName;
  /** Replay the entries after this trail cursor first (auditX's `after`); null: live entries only. */
  after: number | null;
}

/** Entries read per step of a replay. */
const REPLAY_BATCH = 500;
/** Ids of the latest replayed entries kept to skip their second reading (the entries after a late line move up). */
const REPLAYED_IDS = 5000;
/** Live events held for a client while its replay runs; past this it is dropped (it reconnects with a cursor). */
const MAX_HELD_EVENTS = 50_000;

/** The data of one SSE event: auditX's fields (`source`, `entry`, `transport`, `cursor`) plus `type`. */
function eventData(source: TrailName, entry: TrailEntry, transport: LiveEvent["transport"], cursor?: number): string {
  return JSON.stringify({ type: "entry", source, entry, transport, ...(cursor === undefined ? {} : { cursor }) });
}

const keyOf = (entry: TrailEntry): string => (typeof entry.id === "string" ? entry.id : JSON.stringify(entry));

/** One connected client: its own sse-channel (headers, pings, encoding) and, while it replays, the live events it waits for. */
class SseClient {
  readonly channel = new SseChannel({ historySize: 1, pingInterval: 15_000, jsonEncode: false });
  /** Live events held while the replay runs; null once live. */
  held: LiveEvent[] | null = [];
  /** The keys of the entries held. */
  readonly heldKeys = new Set<string>();
  closed = false;

  constructor(
    readonly response: ServerResponse,
    readonly source: TrailName,
    readonly reader: Reader,
  ) {
    this.channel.timer.unref?.();
  }

  send(data: string, id?: number): void {
    if (!this.closed) this.channel.send(id === undefined ? { data } : { id, data });
  }

  deliver(event: LiveEvent): void {
    if (event.source !== this.source || !mayReceive(this.reader, event)) return;
    if (this.held) {
      this.held.push(event);
      this.heldKeys.add(keyOf(event.entry));
      if (this.held.length > MAX_HELD_EVENTS) this.response.destroy();
      return;
    }
    this.send(eventData(event.source, event.entry, event.transport, event.cursor), event.id);
  }

  /** Resolves once the client has read what was sent (or is gone). */
  drained(limit: number): Promise<void> {
    if (this.closed || this.response.writableLength <= limit) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.response.off("drain", done);
        this.response.off("close", done);
        resolve();
      };
      this.response.on("drain", done);
      this.response.on("close", done);
    });
  }
}

/**
 * /api/stream: Server-Sent Events of one trail (`source`, default audit), as
 * auditX sends them: first the entries after the cursor `after` (oldest
 * first, each with its `cursor`), then the live ones, pushed by a logger of
 * this process or read from the files. A reconnecting EventSource that sends
 * Last-Event-ID gets the live events it missed instead.
 */
export class SseTransport {
  private readonly clients = new Set<SseClient>();
  private readonly history: Record<TrailName, LiveEvent[]> = { audit: [], security: [] };
  private readonly unsubscribe: () => void;

  constructor(
    feed: LiveFeed,
    private readonly trail: TrailSource,
    private readonly limits: StreamLimits,
  ) {
    this.unsubscribe = feed.subscribe((event) => {
      const history = this.history[event.source];
      history.push(event);
      if (history.length > this.limits.historySize) history.splice(0, history.length - this.limits.historySize);
      for (const client of this.clients) {
        if (client.response.writableLength > this.limits.maxBufferedBytes) {
          client.response.destroy();
          continue;
        }
        client.deliver(event);
      }
    });
  }

  get clientCount(): number {
    return this.clients.size;
  }

  handle(request: IncomingMessage, response: ServerResponse, stream: StreamRequest, reader: Reader): void {
    if (this.clients.size >= this.limits.maxClients) {
      response.statusCode = 503;
      response.setHeader("Content-Type", "application/json; charset=utf-8");
      response.end(JSON.stringify({ detail: "too many live clients" }));
      return;
    }
    // Replays are this transport's: take the header away from sse-channel's own.
    const lastEventId = Number(request.headers["last-event-id"]);
    delete request.headers["last-event-id"];
    response.setHeader("X-Accel-Buffering", "no");
    const client = new SseClient(response, stream.source, reader);
    client.channel.addClient(request, response);
    // A comment, not an event: a client that reads every `data:` as an entry (as auditX's do) skips it.
    response.write(": connected\n\n");
    this.clients.add(client);
    const gone = () => {
      client.closed = true;
      this.clients.delete(client);
      client.channel.close();
    };
    response.on("close", gone);

    if (Number.isSafeInteger(lastEventId) && lastEventId > 0) {
      for (const event of this.history[stream.source]) {
        if (event.id > lastEventId && mayReceive(reader, event))
          client.send(eventData(event.source, event.entry, event.transport, event.cursor), event.id);
      }
      this.goLive(client, new Set());
      return;
    }
    if (stream.after === null) {
      this.goLive(client, new Set());
      return;
    }
    this.replay(client, stream.after).catch(() => response.destroy());
  }

  close(): void {
    this.unsubscribe();
    for (const client of this.clients) {
      client.closed = true;
      client.channel.close();
    }
    this.clients.clear();
  }

  /**
   * Sends the trail's entries after `after`, then the live events that came
   * meanwhile (not twice). Entries are matched by key, not by cursor: another
   * writer's late lines in an older segment take cursors the replay has
   * passed (it never reads them; they are sent from the live events), and
   * move the entries after them up by as many (read again by the next batch).
   */
  private async replay(client: SseClient, after: number): Promise<void> {
    let cursor = after;
    const recentIds: string[] = [];
    const recent = new Set<string>();
    // Replayed entries also held as live events (an entry is told live as it is indexed, so never replayed before).
    const heldAndReplayed = new Set<string>();
    for (;;) {
      const batch = await this.trail.since(client.source, cursor, REPLAY_BATCH);
      if (client.closed) return;
      if (batch.entries.length === 0) break;
      let next = batch.cursor - batch.entries.length;
      // The entries a late line moved up start the batch: the previous batch sent them.
      let movedUp = true;
      for (const entry of batch.entries) {
        next++;
        const key = keyOf(entry);
        movedUp &&= recent.has(key);
        if (movedUp) continue;
        // Only what the reader may see; made viewable as live entries are (too deep to serialise, too long).
        if (inScope(entry, client.reader.scope)) client.send(eventData(client.source, viewableEntry(entry), "file", next));
        if (client.heldKeys.has(key)) heldAndReplayed.add(key);
        recent.add(key);
        recentIds.push(key);
        if (recentIds.length > REPLAYED_IDS) recent.delete(recentIds.shift()!);
      }
      cursor = batch.cursor;
      await client.drained(this.limits.maxBufferedBytes / 4);
      if (client.closed) return;
    }
    this.goLive(client, heldAndReplayed);
  }

  /** Sends the held live events (skipping those the replay sent), then lets live events through. */
  private goLive(client: SseClient, replayed: Set<string>): void {
    const held = client.held ?? [];
    client.held = null;
    client.heldKeys.clear();
    for (const event of held) {
      if (replayed.has(keyOf(event.entry))) continue;
      client.deliver(event);
    }
  }
}
