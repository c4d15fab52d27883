/** Shared helpers of the viewer's API tests: temp trails, a real viewer on 127.0.0.1, SSE and WebSocket readers. */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WebSocket } from "ws";
import { type RunningViewer, type StartViewerOptions, startViewer } from "../../src/viewer/index.js";
import { eventually } from "./eventually.js";

export function viewerTempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "auditx-viewer-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export type Line = Record<string, unknown>;

/** A JSONL entry shaped like the logger's, with a deterministic timestamp. */
export function entryLine(index: number, fields: Line = {}): Line {
  const time = new Date(Date.UTC(2026, 5, 28, 9, 0, 0) + index * 60_000);
  return {
    timestamp: time.toISOString().replace("Z", "+00:00"),
    level: "AUDIT",
    module: "sales",
    action: "POST",
    description: `Entry number ${index}`,
    user: "admin",
    branch_id: "BR-YGN",
    request_id: `req-${index}`,
    status: 200,
    success: true,
    ...fields,
  };
}

export function writeTrail(path: string, lines: Array<Line | string>): void {
  writeFileSync(
    path,
    lines.map((line) => (typeof line === "string" ? line : JSON.stringify(line))).join("\n") + (lines.length ? "\n" : ""),
  );
}

export function appendTrail(path: string, lines: Array<Line | string>): void {
  appendFileSync(path, lines.map((line) => (typeof line === "string" ? line : JSON.stringify(line))).join("\n") + "\n");
}

export async function startTestViewer(options: StartViewerOptions): Promise<RunningViewer> {
  // Reads are not recorded unless a test asks (auditReads: true): the viewer's own entries would change the totals under test.
  const running = await startViewer({ host: "127.0.0.1", port: 0, pollIntervalMs: 100, auditReads: false, ...options });
  await running.viewer.ready;
  return running;
}

// biome-ignore lint/suspicious/noExplicitAny: the JSON answers of the API under test, read field by field
export async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(url, { headers });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body, headers: response.headers };
}

export interface SseEvent {
  id?: string;
  // biome-ignore lint/suspicious/noExplicitAny: parsed event data, read field by field
  data: any;
}

/** An SSE client over fetch streaming: collects the events as they come. */
export class SseReader {
  readonly events: SseEvent[] = [];
  /** Comment lines (": connected"), without the colon. */
  readonly comments: string[] = [];
  status = 0;
  headers: Headers | null = null;
  private readonly abort = new AbortController();
  readonly done: Promise<void>;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.done = this.run(url, headers).catch(() => {});
  }

  private async run(url: string, headers: Record<string, string>): Promise<void> {
    const response = await fetch(url, { headers, signal: this.abort.signal });
    this.status = response.status;
    this.headers = response.headers;
    if (!response.body || response.status !== 200) return;
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let end = buffer.indexOf("\n\n");
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event: SseEvent = { data: undefined };
        const data: string[] = [];
        for (const line of block.split("\n")) {
          if (line.startsWith(":") && line.length > 1) this.comments.push(line.slice(1).trim());
          if (line.startsWith("id:")) event.id = line.slice(3).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        }
        if (data.length) {
          event.data = JSON.parse(data.join("\n"));
          this.events.push(event);
        }
        end = buffer.indexOf("\n\n");
      }
    }
  }

  entries(): SseEvent[] {
    return this.events.filter((event) => event.data?.type === "entry");
  }

  /** Whether the server has registered this client (its ": connected" comment came). */
  get connected(): boolean {
    return this.comments.includes("connected");
  }

  close(): void {
    this.abort.abort();
  }
}

/** A WebSocket client that collects the messages. */
// biome-ignore lint/suspicious/noExplicitAny: parsed messages, read field by field
export async function openWebSocket(url: string, headers: Record<string, string> = {}): Promise<{ socket: WebSocket; messages: any[] }> {
  const socket = new WebSocket(url, { headers });
  // biome-ignore lint/suspicious/noExplicitAny: parsed messages, read field by field
  const messages: any[] = [];
  socket.on("message", (data) => messages.push(JSON.parse(String(data))));
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
    socket.once("unexpected-response", (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
  });
  return { socket, messages };
}

/** The close code (and reason) of a WebSocket the server closes at once, as for a bad key (4401). */
export function webSocketCloseCode(url: string, headers: Record<string, string> = {}): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    const messages: unknown[] = [];
    socket.on("message", (data) => messages.push(String(data)));
    socket.once("close", (code, reason) => {
      if (messages.length > 0) reject(new Error(`the server sent ${messages.length} messages before closing`));
      else resolve({ code, reason: String(reason) });
    });
    socket.once("unexpected-response", (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
    socket.once("error", () => {});
  });
}

/** The status code a refused WebSocket upgrade answered with. */
export function webSocketRefusal(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once("open", () => {
      socket.close();
      reject(new Error("the WebSocket was accepted"));
    });
    socket.once("unexpected-response", (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.once("error", () => {});
  });
}

const SETTLE_PREFIX = "settle-";
let settleCount = 0;

/**
 * Appends a marker entry to the live audit.jsonl and waits until `sse`
 * delivers it. The viewer streams the trail in order, so every event it sends
 * for the lines before the marker has then arrived: what did not arrive will
 * not (no need to wait a while to see that nothing more comes).
 */
export async function streamSettled(dir: string, sse: SseReader): Promise<void> {
  const marker = `${SETTLE_PREFIX}${++settleCount}`;
  appendTrail(join(dir, "audit.jsonl"), [entryLine(0, { request_id: marker, description: "stream marker" })]);
  await eventually(() => sse.entries().some((event) => event.data.entry?.request_id === marker), 10_000, "the stream marker");
}

/** The entry events of a stream without the markers streamSettled wrote. */
export function entryEvents(sse: SseReader): SseEvent[] {
  return sse.entries().filter((event) => !String(event.data.entry?.request_id ?? "").startsWith(SETTLE_PREFIX));
}
