import type { IncomingMessage, Server } from "node:http";
import { resolve } from "node:path";
import type { Duplex } from "node:stream";
import { fileURLToPath } from "node:url";
import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { DEFAULT_TRAIL_FILES, trailFileName } from "../api/settings.js";
import { VERSION } from "../internal/version.js";
import { type AuditHub, defaultHub } from "../processors/AuditHub.js";
import { ApiKeyGuard } from "./ApiKeyGuard.js";
import { parseEntryFilter, parseEntryQuery, parseLimit, parseSource } from "./EntryQuery.js";
import { JsonlTrailSource } from "./JsonlTrailSource.js";
import { LiveFeed } from "./LiveFeed.js";
import { SseTransport, type StreamLimits } from "./SseTransport.js";
import { securityHeaders } from "./securityHeaders.js";
import { type ExportFormat, writeExport } from "./TrailExport.js";
import type { TrailSource } from "./TrailSource.js";
import { ViewerRequestError } from "./ViewerRequestError.js";
import { refuseUpgrade, WebSocketTransport } from "./WebSocketTransport.js";

/** Anything that can publish its entries to a hub (an AuditLogger). */
export interface HubConnectable {
  connectHub(hub: AuditHub): () => void;
}

export interface AuditViewerOptions {
  /** Folder holding audit.jsonl and security.jsonl (default "logs"); it may not exist yet. */
  logDir?: string;
  /** File name of the audit trail in logDir (default "audit.jsonl"), as the logger's `auditLogFile`. */
  auditLogFile?: string;
  /** File name of the security trail in logDir (default "security.jsonl"), as the logger's `securityLogFile`. */
  securityLogFile?: string;
  /** When set, every route, static files and streams included, requires it. */
  apiKey?: string;
  /** Live push over /api/stream and /api/ws (default true). */
  realtime?: boolean;
  /** A logger to connect to the hub, for instant push of what it writes. */
  logger?: HubConnectable;
  /** The hub for /api/recent and live push (default: the process-wide defaultHub). */
  hub?: AuditHub;
  /** Where the viewer is mounted ("" or "/audit"); sets the cookie path and the WebSocket path. */
  prefix?: string;
  /** Read entries from this source instead of the JSONL trail of logDir (its owner closes it). */
  source?: TrailSource;
  /** Entries indexed per trail before the oldest are forgotten (default 5,000,000). */
  maxEntries?: number;
  /** How often the files are polled for changes besides fs.watch (default 1000 ms). */
  pollIntervalMs?: number;
  /** Concurrent SSE clients, and WebSocket clients, each (default 100). */
  maxStreamClients?: number;
  /** Unsent bytes after which a slow live client is dropped (default 4 MiB). */
  maxClientBufferBytes?: number;
  /** Origins allowed to call the API from another site (CORS); none by default. */
  corsOrigins?: string[];
}

const PUBLIC_DIR = fileURLToPath(new URL("./public/", import.meta.url));

export function normalizePrefix(prefix: string | undefined): string {
  const trimmed = (prefix ?? "").trim().replace(/\/+$/, "");
  if (trimmed === "") return "";
  if (!/^\/[A-Za-z0-9._~\-/]*$/.test(trimmed)) throw new TypeError(`prefix: expected a path like "/audit", got ${JSON.stringify(prefix)}`);
  return trimmed;
}

/**
 * The viewer: an index per trail kept up to date by a tail of the files, the
 * live feed (hub + tail) with its SSE and WebSocket transports, and the
 * read-only Express router that serves the page and the REST API.
 */
export class AuditViewer {
  readonly logDir: string;
  readonly prefix: string;
  readonly realtime: boolean;
  readonly router: Router;
  /** Where the entries come from: the JSONL trail of logDir unless a source was given. */
  readonly source: TrailSource;
  /** Resolves once the source answers completely (the first index build is done). */
  readonly ready: Promise<void>;
  private readonly hub: AuditHub;
  private readonly guard: ApiKeyGuard;
  private readonly feed: LiveFeed;
  private readonly sse: SseTransport | null;
  private readonly ws: WebSocketTransport | null;
  private readonly ownsSource: boolean;
  private readonly disconnectLogger: (() => void) | null;
  private readonly corsOrigins: Set<string>;
  private readonly servers = new Set<Server>();
  private closed = false;

  constructor(options: AuditViewerOptions = {}) {
    if (options.apiKey !== undefined && (typeof options.apiKey !== "string" || options.apiKey === "")) {
      throw new TypeError("apiKey: expected a non-empty string");
    }
    this.logDir = resolve(options.logDir ?? "logs");
    this.prefix = normalizePrefix(options.prefix);
    this.realtime = options.realtime ?? true;
    this.hub = options.hub ?? defaultHub;
    this.guard = new ApiKeyGuard(options.apiKey, `${this.prefix}/`);
    this.corsOrigins = new Set(options.corsOrigins ?? []);
    this.ownsSource = options.source === undefined;
    this.source =
      options.source ??
      new JsonlTrailSource({
        logDir: this.logDir,
        auditLogFile: trailFileName("auditLogFile", options.auditLogFile, DEFAULT_TRAIL_FILES.audit),
        securityLogFile: trailFileName("securityLogFile", options.securityLogFile, DEFAULT_TRAIL_FILES.security),
        maxEntries: options.maxEntries,
        pollIntervalMs: options.pollIntervalMs,
      });
    this.disconnectLogger = options.logger ? options.logger.connectHub(this.hub) : null;
    this.feed = new LiveFeed(this.realtime ? this.hub : null, this.source);
    const limits: StreamLimits = {
      maxClients: options.maxStreamClients ?? 100,
      maxBufferedBytes: options.maxClientBufferBytes ?? 4 * 1024 * 1024,
      historySize: 1000,
    };
    this.sse = this.realtime ? new SseTransport(this.feed, limits) : null;
    this.ws = this.realtime ? new WebSocketTransport(this.feed, limits) : null;
    this.ready = this.source.ready();
    this.router = this.buildRouter();
  }

  /** Reads what was appended to the trails now, instead of at the next poll. */
  refresh(): Promise<void> {
    return this.source.refresh();
  }

  /** Serves the WebSocket route on this server's upgrade requests (other paths are left to other listeners). */
  attach(server: Server): this {
    if (this.servers.has(server)) return this;
    this.servers.add(server);
    server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.handleUpgrade(request, socket, head);
    });
    return this;
  }

  /** Handles an upgrade request if it is for this viewer's /api/ws; returns whether it was. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const path = (request.url ?? "").split("?")[0];
    if (path !== `${this.prefix}/api/ws`) return false;
    socket.on("error", () => socket.destroy());
    let refusal = null;
    if (!this.guard.check(request).ok) refusal = { status: 401, error: "a valid API key is required" };
    else if (!this.sameOrigin(request)) refusal = { status: 403, error: "cross-origin WebSocket refused" };
    else if (!this.ws || this.closed) refusal = { status: 404, error: "realtime push is disabled" };
    if (refusal || !this.ws) refuseUpgrade(socket, refusal ?? { status: 404, error: "realtime push is disabled" });
    else this.ws.upgrade(request, socket, head, null);
    return true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.disconnectLogger?.();
    this.feed.close();
    this.sse?.close();
    this.ws?.close();
    if (this.ownsSource) await this.source.close();
  }

  /** A browser page of this origin, or a client that sends no Origin (not a browser, or same-origin in some). */
  private sameOrigin(request: IncomingMessage): boolean {
    const origin = request.headers.origin;
    if (!origin) return true;
    if (this.corsOrigins.has(origin)) return true;
    try {
      return new URL(origin).host === request.headers.host;
    } catch {
      return false;
    }
  }

  private buildRouter(): Router {
    const router = express.Router({ strict: false, caseSensitive: true });
    router.use(securityHeaders);
    router.use((request, response, next) => this.cors(request, response, next));
    router.use((request, response, next) => {
      if (request.method === "GET" || request.method === "HEAD") return next();
      response.setHeader("Allow", "GET, HEAD");
      response.status(405).json({ error: `${request.method} is not allowed: the viewer is read-only` });
    });
    router.use((request, response, next) => this.authorize(request, response, next));

    router.get("/", (request, response) => {
      // The page loads its assets relatively: under a prefix it must be at "/audit/", not "/audit".
      const [path, query] = splitUrl(request.originalUrl);
      if (this.prefix && !path.endsWith("/")) return response.redirect(301, `${path}/${query}`);
      response.sendFile("index.html", { root: PUBLIC_DIR, dotfiles: "deny", cacheControl: false });
    });
    router.get("/api/config", (_request, response) => {
      response.json({ realtime: this.realtime, version: VERSION, prefix: this.prefix, auth: this.guard.enabled });
    });
    router.get("/api/stats", async (_request, response) => {
      const [audit, security] = await Promise.all([this.source.stats("audit"), this.source.stats("security")]);
      response.json({ log_dir: this.logDir, audit, security });
    });
    router.get("/api/entries", async (request, response) => {
      const query = parseEntryQuery(request.query);
      const page = await this.source.query(query.source, query.filter, { offset: query.offset, limit: query.limit });
      response.json({
        items: page.items,
        total: page.total,
        limit: query.limit,
        offset: query.offset,
        source: query.source,
        ...(page.partial ? { partial: true } : {}),
      });
    });
    router.get("/api/recent", (request, response) => {
      const source = parseSource(request.query);
      const limit = parseLimit(request.query, 100);
      response.json({ items: this.hub.recent(source, limit), source });
    });
    router.get("/api/export", async (request, response) => {
      const format = request.query.format ?? "csv";
      if (format !== "csv" && format !== "jsonl") throw new ViewerRequestError('format: expected "csv" or "jsonl"');
      const source = parseSource(request.query);
      const filter = parseEntryFilter(request.query);
      if (request.method === "HEAD") return response.end();
      await writeExport(response, (signal) => this.source.export(source, filter, { signal }), format as ExportFormat, source);
    });
    router.get("/api/stream", (request, response) => {
      if (!this.sse) throw new ViewerRequestError("realtime push is disabled", 404);
      if (request.method === "HEAD") return response.type("text/event-stream").end();
      this.sse.handle(request, response);
    });
    router.get("/api/ws", () => {
      throw new ViewerRequestError("this route is a WebSocket: connect with an Upgrade request", 426);
    });
    router.use("/api", () => {
      throw new ViewerRequestError("no such API route", 404);
    });
    router.use(express.static(PUBLIC_DIR, { index: false, dotfiles: "ignore", redirect: false, cacheControl: false }));
    router.use((_request, response) => {
      response.status(404).type("text/plain").send("Not found");
    });
    router.use((error: unknown, _request: Request, response: Response, _next: NextFunction) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      if (error instanceof ViewerRequestError) {
        response.status(error.status).json({ error: error.message });
        return;
      }
      const status = (error as { status?: unknown }).status;
      if (typeof status === "number" && status >= 400 && status < 500) {
        response.status(status).json({ error: "bad request" });
        return;
      }
      response.status(500).json({ error: "internal error" });
    });
    return router;
  }

  private authorize(request: Request, response: Response, next: NextFunction): void {
    const check = this.guard.check(request);
    if (check.ok) {
      if (check.setCookie) response.append("Set-Cookie", this.guard.cookie(request.secure));
      next();
      return;
    }
    if (request.path === "/") {
      response
        .status(401)
        .type("text/plain")
        .send("auditx viewer: an API key is required. Open this page with ?api_key=<key>, or send the X-API-Key header.\n");
      return;
    }
    response.status(401).json({ error: "a valid API key is required (X-API-Key header or api_key query parameter)" });
  }

  private cors(request: Request, response: Response, next: NextFunction): void {
    const origin = request.headers.origin;
    if (typeof origin === "string" && this.corsOrigins.has(origin)) {
      response.setHeader("Access-Control-Allow-Origin", origin);
      response.setHeader("Vary", "Origin");
      if (request.method === "OPTIONS") {
        response.setHeader("Access-Control-Allow-Methods", "GET, HEAD");
        response.setHeader("Access-Control-Allow-Headers", "X-API-Key, Last-Event-ID");
        response.setHeader("Access-Control-Max-Age", "600");
        response.status(204).end();
        return;
      }
    }
    next();
  }
}

function splitUrl(url: string): [string, string] {
  const question = url.indexOf("?");
  return question < 0 ? [url, ""] : [url.slice(0, question), url.slice(question)];
}
