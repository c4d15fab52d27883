import type { IncomingMessage, Server } from "node:http";
import { resolve } from "node:path";
import type { Duplex } from "node:stream";
import { fileURLToPath } from "node:url";
import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { connectGlobalLoggerOf } from "../api/configure.js";
import { DEFAULT_TRAIL_FILES, trailFileName } from "../api/settings.js";
import { VERSION } from "../internal/version.js";
import { type AuditHub, hubFor } from "../processors/AuditHub.js";
import { ApiKeyGuard } from "./ApiKeyGuard.js";
import { parseEntryFilter, parseEntryQuery, parseInteger, parseLimit, parseSource } from "./EntryQuery.js";
import { JsonlTrailSource } from "./jsonl/JsonlTrailSource.js";
import { LiveFeed } from "./LiveFeed.js";
import { SseTransport, type StreamLimits } from "./SseTransport.js";
import { securityHeaders } from "./securityHeaders.js";
import { MAX_HISTOGRAM_BUCKETS } from "./TimeHistogram.js";
import { type ExportFormat, writeExport } from "./TrailExport.js";
import type { TrailSource } from "./TrailSource.js";
import { ViewerRequestError } from "./ViewerRequestError.js";
import { refuseUpgrade, WebSocketTransport } from "./WebSocketTransport.js";

/** Anything that can publish its entries to a hub (an AuditLogger). */
export interface HubConnectable {
  connectHub(hub: AuditHub): () => void;
  /** The folder it writes, when it writes one: its entries go to that folder's hub (hubFor). */
  readonly logDir?: string;
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
  /**
   * In-process push (default true): entries loggers of this process write
   * reach /api/stream and /api/ws at once through the hub. Off, the streams
   * still carry what the file tail reads (entries of every process).
   */
  realtime?: boolean;
  /**
   * A logger to connect to the hub, for instant push of what it writes. When
   * none is given, the global `audit` logger is connected if it writes this
   * viewer's folder (as auditX's create_app does).
   */
  logger?: HubConnectable;
  /** The hub for /api/recent and live push (default: the folder's, hubFor(logDir)). */
  hub?: AuditHub;
  /** Where the viewer is mounted ("" or "/audit"); sets the cookie path and the WebSocket path. */
  prefix?: string;
  /** Read entries from this source instead of the JSONL trail of logDir (its owner closes it). */
  source?: TrailSource;
  /** Entries indexed per trail before the oldest are forgotten (default 20,000,000). */
  maxEntries?: number;
  /** How often the files are polled for changes besides fs.watch (default 1000 ms). */
  pollIntervalMs?: number;
  /** Where the index of logDir is kept between runs (default: a folder under ~/.cache/auditx/viewer); false: rebuilt at each start. */
  indexDir?: string | false;
  /** Worker threads that build the index and check searches (default: up to 2); 0 does it on the event loop, in slices. */
  indexThreads?: number;
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
  private readonly sse: SseTransport;
  private readonly ws: WebSocketTransport;
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
    this.hub = options.hub ?? hubFor(this.logDir);
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
        indexDir: options.indexDir,
        indexThreads: options.indexThreads,
      });
    if (!this.realtime) this.disconnectLogger = null;
    else if (options.logger) this.disconnectLogger = options.logger.connectHub(this.hub);
    else this.disconnectLogger = connectGlobalLoggerOf(this.logDir, this.hub);
    this.feed = new LiveFeed(this.realtime ? this.hub : null, this.source);
    const limits: StreamLimits = {
      maxClients: options.maxStreamClients ?? 100,
      maxBufferedBytes: options.maxClientBufferBytes ?? 4 * 1024 * 1024,
      historySize: 1000,
    };
    this.sse = new SseTransport(this.feed, this.source, limits);
    this.ws = new WebSocketTransport(this.feed, limits);
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
    if (this.closed) refuseUpgrade(socket, { status: 503, error: "the viewer is closed" });
    else if (!this.sameOrigin(request)) refuseUpgrade(socket, { status: 403, error: "cross-origin WebSocket refused" });
    else if (!this.guard.check(request).ok) this.ws.closeWith(request, socket, head, 4401, "a valid API key is required");
    else this.ws.upgrade(request, socket, head, null);
    return true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.disconnectLogger?.();
    this.feed.close();
    this.sse.close();
    this.ws.close();
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
      response.status(405).json({ detail: `${request.method} is not allowed: the viewer is read-only` });
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
    router.get("/api/entries/:id", async (request, response) => {
      const id = String(request.params.id ?? "");
      if (id === "" || id.length > 200) throw new ViewerRequestError("id: expected an entry id", 400, "id", id);
      const source = parseSource(request.query);
      const entry = await this.source.entry(source, id);
      if (!entry) throw new ViewerRequestError("no entry has this id", 404);
      response.json({ entry, source });
    });
    router.get("/api/histogram", async (request, response) => {
      const source = parseSource(request.query);
      const filter = parseEntryFilter(request.query);
      const buckets = parseInteger(request.query, "buckets", 60, 1, MAX_HISTOGRAM_BUCKETS);
      const offsetMinutes = parseSignedMinutes(request.query.tz_offset);
      const histogram = await this.source.histogram(source, filter, { buckets, offsetMinutes });
      response.json({
        source,
        start: histogram.start,
        bucket_ms: histogram.bucketMs,
        counts: histogram.counts,
        failures: histogram.failures,
        total: histogram.total,
        ...(histogram.partial ? { partial: true } : {}),
      });
    });
    router.get("/api/recent", (request, response) => {
      // As auditX: the newest `limit` of the hub's entries (default 50, at most 200), oldest first.
      const source = parseSource(request.query);
      const limit = parseLimit(request.query, 50, 200);
      response.json({ items: this.hub.recent(source, limit).reverse(), source });
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
      const source = parseSource(request.query);
      // As auditX: the entries after the first `after` of the trail come first; 0 (the default) replays it all.
      const after = parseInteger(request.query, "after", 0, 0, Number.MAX_SAFE_INTEGER);
      if (request.method === "HEAD") return response.type("text/event-stream").end();
      this.sse.handle(request, response, { source, after });
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
        response.status(error.status).json(error.body);
        return;
      }
      const status = (error as { status?: unknown }).status;
      if (typeof status === "number" && status >= 400 && status < 500) {
        response.status(status).json({ detail: "bad request" });
        return;
      }
      response.status(500).json({ detail: "internal error" });
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
    response.status(401).json({ detail: "a valid API key is required (X-API-Key header or api_key query parameter)" });
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

/** tz_offset: minutes east of UTC, -840 (UTC-14) to 840 (UTC+14). */
function parseSignedMinutes(value: unknown): number {
  if (value === undefined || value === "") return 0;
  if (typeof value !== "string" || !/^[+-]?\d{1,3}$/.test(value.trim()) || Math.abs(Number(value)) > 840) {
    throw new ViewerRequestError("tz_offset: expected minutes east of UTC, from -840 to 840", 400, "tz_offset", value);
  }
  return Number(value);
}

function splitUrl(url: string): [string, string] {
  const question = url.indexOf("?");
  return question < 0 ? [url, ""] : [url.slice(0, question), url.slice(question)];
}
