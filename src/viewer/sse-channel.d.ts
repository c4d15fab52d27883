// Types for the parts of sse-channel 4 the viewer uses (the package ships none).
declare module "sse-channel" {
  import type { IncomingMessage, ServerResponse } from "node:http";

  interface SseMessage {
    data?: string;
    id?: number;
    event?: string;
    retry?: number;
  }

  interface SseChannelOptions {
    historySize?: number;
    history?: SseMessage[];
    retryTimeout?: number;
    pingInterval?: number;
    jsonEncode?: boolean;
  }

  class SseChannel {
    constructor(options?: SseChannelOptions);
    connections: ServerResponse[];
    timer: NodeJS.Timeout;
    addClient(request: IncomingMessage, response: ServerResponse, callback?: () => void): void;
    removeClient(response: ServerResponse): void;
    getConnectionCount(): number;
    send(message: SseMessage | string, clients?: ServerResponse[]): void;
    sendEventsSinceId(response: ServerResponse, sinceId: number): void;
    close(): void;
    on(event: "connect" | "disconnect" | "message", listener: (...args: unknown[]) => void): this;
  }

  export = SseChannel;
}
