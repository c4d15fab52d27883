// Live entries: a WebSocket first (both trails), Server-Sent Events of the
// shown trail when WebSockets fail, and, when both fail, offline with retries
// that back off. The server closes a WebSocket with 4401 when the key is
// wrong: then it stops trying.

import { apiUrl } from "./api.js";

const MAX_BACKOFF_MS = 30_000;

export class LiveConnection {
  /**
   * `handlers`: onEntry(source, entry), onState(kind, label), onGap() after a
   * dropped connection reopens, onUnauthorized(); `sseParams()` gives
   * { source, after } for a new SSE connection.
   */
  constructor(handlers, sseParams) {
    this.handlers = handlers;
    this.sseParams = sseParams;
    this.socket = null;
    this.events = null;
    this.attempt = 0;
    this.timer = null;
    this.gap = false;
    this.refused = false;
    this.cursor = null;
  }

  get offline() {
    return this.state === "offline";
  }

  setState(kind, label) {
    this.state = kind;
    this.handlers.onState(kind, label);
  }

  connect() {
    clearTimeout(this.timer);
    if (this.refused) return;
    this.setState("connecting", "connecting…");
    this.connectWebSocket();
  }

  /** The shown trail changed: an SSE connection follows the new one. */
  switchSource() {
    if (!this.events) return;
    this.events.close();
    this.events = null;
    this.cursor = null;
    this.connectEventSource();
  }

  connectWebSocket() {
    if (typeof WebSocket !== "function") return this.connectEventSource();
    const url = apiUrl("api/ws");
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    let opened = false;
    let socket;
    try {
      socket = new WebSocket(url);
    } catch {
      return this.connectEventSource();
    }
    this.socket = socket;
    socket.addEventListener("open", () => {
      opened = true;
      this.attempt = 0;
      this.resync();
      this.setState("ws", "live · WebSocket");
    });
    socket.addEventListener("message", (event) => {
      if (typeof event.data === "string") this.message(event.data);
    });
    socket.addEventListener("close", (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (event.code === 4401) {
        this.refused = true;
        this.setState("offline", "not authorised");
        this.handlers.onUnauthorized();
        return;
      }
      // A socket that worked and dropped: the server may be restarting, so try SSE at once.
      if (opened) this.gap = true;
      this.connectEventSource();
    });
  }

  connectEventSource() {
    if (typeof EventSource !== "function") return this.goOffline();
    const { source, after } = this.sseParams();
    let opened = false;
    const from = this.cursor ?? after;
    const events = new EventSource(
      apiUrl("api/stream", [
        ["source", source],
        ["after", String(from)],
      ]),
      { withCredentials: true },
    );
    this.events = events;
    events.addEventListener("open", () => {
      opened = true;
      this.attempt = 0;
      this.resync();
      this.setState("sse", "live · SSE");
    });
    events.addEventListener("message", (event) => this.message(event.data));
    events.addEventListener("error", () => {
      if (this.events !== events) return;
      // Take over from EventSource's own retry, to show the state and back off.
      events.close();
      this.events = null;
      if (opened) this.gap = true;
      this.goOffline();
    });
  }

  message(data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return; // not ours
    }
    if (message?.type !== "entry") return;
    if (typeof message.cursor === "number" && this.events) this.cursor = message.cursor;
    this.handlers.onEntry(message.source === "security" ? "security" : "audit", message.entry);
  }

  goOffline() {
    this.setState("offline", "offline");
    const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** this.attempt) * (0.75 + Math.random() * 0.5);
    this.attempt = Math.min(this.attempt + 1, 10);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  // Entries written while the connection was down are picked up by reloading the view.
  resync() {
    if (!this.gap) return;
    this.gap = false;
    this.handlers.onGap();
  }
}
