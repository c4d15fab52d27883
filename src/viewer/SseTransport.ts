import type { IncomingMessage, ServerResponse } from "node:http";
import SseChannel from "sse-channel";
import type { LiveFeed } from "./LiveFeed.js";

export interface StreamLimits {
  /** Concurrent clients; more are answered 503 (default 100). */
  maxClients: number;
  /** A client whose unsent data grows past this is dropped (default 4 MiB). */
  maxBufferedBytes: number;
  /** Events kept for Last-Event-ID resumption (default 1000). */
  historySize: number;
}

/**
 * /api/stream: Server-Sent Events with sse-channel. Each client first gets a
 * `connected` event, then the events it missed (Last-Event-ID), then live ones.
 */
export class SseTransport {
  private readonly channel: SseChannel;
  private readonly unsubscribe: () => void;

  constructor(
    feed: LiveFeed,
    private readonly limits: StreamLimits,
  ) {
    this.channel = new SseChannel({ historySize: limits.historySize, pingInterval: 15_000, jsonEncode: false });
    this.channel.timer.unref?.();
    this.unsubscribe = feed.subscribe((event) => {
      this.dropSlowClients();
      this.channel.send({ id: event.id, data: JSON.stringify({ type: "entry", source: event.source, entry: event.entry }) });
    });
  }

  get clientCount(): number {
    return this.channel.getConnectionCount();
  }

  handle(request: IncomingMessage, response: ServerResponse): void {
    if (this.channel.getConnectionCount() >= this.limits.maxClients) {
      response.statusCode = 503;
      response.setHeader("Content-Type", "application/json; charset=utf-8");
      response.end(JSON.stringify({ error: "too many live clients" }));
      return;
    }
    // Replay after the connected event: take the header away from sse-channel's own replay.
    const lastEventId = Number(request.headers["last-event-id"]);
    delete request.headers["last-event-id"];
    response.setHeader("X-Accel-Buffering", "no");
    this.channel.addClient(request, response);
    this.channel.send({ data: JSON.stringify({ type: "connected" }) }, [response]);
    if (Number.isSafeInteger(lastEventId) && lastEventId > 0) this.channel.sendEventsSinceId(response, lastEventId);
  }

  close(): void {
    this.unsubscribe();
    this.channel.close();
  }

  private dropSlowClients(): void {
    for (const response of [...this.channel.connections]) {
      if (response.writableLength > this.limits.maxBufferedBytes) {
        this.channel.removeClient(response);
        response.destroy();
      }
    }
  }
}
