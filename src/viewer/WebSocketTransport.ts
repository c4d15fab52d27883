import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import type { Reader } from "./ApiKeyGuard.js";
import type { LiveFeed } from "./LiveFeed.js";
import { mayReceive, type StreamLimits } from "./SseTransport.js";

const HEARTBEAT_MS = 30_000;

/** Why an upgrade was refused: the status line and a JSON error. */
export interface UpgradeRefusal {
  status: number;
  error: string;
}

/**
 * /api/ws: a WebSocket per client with `{type:"connected", transport:"websocket"}`
 * then `{type:"entry", source, entry, transport}` messages, as auditX sends them. Clients that do not read (their
 * send buffer passes the limit) or stop answering pings are dropped. Messages
 * from clients are ignored: the viewer is read-only. Each client gets only
 * what its reader may see (its key's trails and tenants).
 */
export class WebSocketTransport {
  private readonly server = new WebSocketServer({ noServer: true, maxPayload: 4096, perMessageDeflate: false, clientTracking: false });
  private readonly clients = new Map<WebSocket, Reader>();
  private readonly alive = new WeakSet<WebSocket>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly unsubscribe: () => void;

  constructor(
    feed: LiveFeed,
    private readonly limits: StreamLimits,
  ) {
    this.unsubscribe = feed.subscribe((event) => {
      let message: string | undefined;
      for (const [client, reader] of this.clients) {
        if (!mayReceive(reader, event)) continue;
        message ??= JSON.stringify({ type: "entry", source: event.source, entry: event.entry, transport: event.transport });
        if (client.bufferedAmount > this.limits.maxBufferedBytes) client.terminate();
        else client.send(message);
      }
    });
    this.heartbeat = setInterval(() => {
      for (const client of this.clients.keys()) {
        if (!this.alive.has(client)) {
          client.terminate();
          continue;
        }
        this.alive.delete(client);
        client.ping();
      }
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Completes an upgrade the caller has authorised for `reader`, or refuses it. */
  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer, reader: Reader, refusal: UpgradeRefusal | null): void {
    if (!refusal && this.clients.size >= this.limits.maxClients) refusal = { status: 503, error: "too many live clients" };
    if (refusal) {
      refuseUpgrade(socket, refusal);
      return;
    }
    this.server.handleUpgrade(request, socket, head, (client) => {
      this.clients.set(client, reader);
      this.alive.add(client);
      client.on("pong", () => this.alive.add(client));
      client.on("close", () => this.clients.delete(client));
      client.on("error", () => client.terminate());
      client.on("message", () => {});
      client.send(JSON.stringify({ type: "connected", transport: "websocket" }));
    });
  }

  /**
   * Completes the handshake only to close at once with `code` (4401 for a
   * missing or wrong key, as auditX): a browser sees the close code, which a
   * refused handshake would hide from it.
   */
  closeWith(request: IncomingMessage, socket: Duplex, head: Buffer, code: number, reason: string): void {
    this.server.handleUpgrade(request, socket, head, (client) => {
      client.on("error", () => client.terminate());
      client.close(code, reason);
      // A client that never answers the close handshake is cut off.
      setTimeout(() => client.terminate(), 5000).unref();
    });
  }

  close(): void {
    this.unsubscribe();
    clearInterval(this.heartbeat);
    for (const client of this.clients.keys()) client.terminate();
    this.clients.clear();
    this.server.close();
  }
}

const REASONS: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  429: "Too Many Requests",
  503: "Service Unavailable",
};

export function refuseUpgrade(socket: Duplex, { status, error }: UpgradeRefusal): void {
  const body = JSON.stringify({ detail: error });
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status] ?? "Error"}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
