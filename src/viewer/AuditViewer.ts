import { accessSync, closeSync, constants, existsSync, fstatSync, openSync, readSync } from "node:fs";
import type { IncomingMessage, Server } from "node:http";
import { dirname, join, resolve } from "node:path";
import type { Duplex } from "node:stream";
import { fileURLToPath } from "node:url";
import express, { type NextFunction, type Request, type Response, type Router } from "express";
import type { AuditLogger } from "../api/AuditLogger.js";
import { connectGlobalLoggerOf, createLogger } from "../api/configure.js";
import type { AuditLoggerOptions } from "../api/options.js";
import type { SelfEntryWriter } from "../api/selfEntries.js";
import { DEFAULT_TRAIL_FILES, trailFileName } from "../api/settings.js";
import type { ShipOptions } from "../api/shipping.js";
import { VERSION } from "../internal/version.js";
import { type AuditHub, hubFor } from "../processors/AuditHub.js";
import { ApiKeyGuard, type Reader } from "./ApiKeyGuard.js";
import { type EntryFilter, parseEntryFilter, parseEntryQuery, parseInteger, parseLimit, parseSource } from "./EntryQuery.js";
import { HostAllowList } from "./HostAllowList.js";
import { JsonlTrailSource } from "./jsonl/JsonlTrailSource.js";
import { LiveFeed } from "./LiveFeed.js";
import { PostgresTrailSource, type PostgresTrailSourceOptions } from "./PostgresTrailSource.js";
import { SseTransport, type StreamLimits } from "./SseTransport.js";
import { securityHeaders } from "./securityHeaders.js";
import { MAX_HISTOGRAM_BUCKETS } from "./TimeHistogram.js";
import { type ExportFormat, writeExport } from "./TrailExport.js";
import { inScope } from "./TrailScope.js";
import type { TrailEntry, TrailName, TrailSource } from "./TrailSource.js";
import { type KeyFailureLimit, type ReadRequest, ViewerAuditLog } from "./ViewerAuditLog.js";
import { defaultKey, type ResolvedKey, resolveKeys, type ViewerKey } from "./ViewerKeys.js";
import { ViewerRequestError } from "./ViewerRequestError.js";
import { viewableEntries, viewableEntry } from "./viewableEntry.js";
import { refuseUpgrade, WebSocketTransport } from "./WebSocketTransport.js";
// The viewer over the store ships its readers' records into it (the `ship` option of its own logger).
import "../store/register.js";

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
  /** When set, every route, static files and streams included, requires it (one unscoped key, id "default"). */
  apiKey?: string;
  /**
   * Several keys, each with an id (the trail's record of who read) and
   * optional scopes: tenants (`companies`: company_id values) and trails
   * (`sources`). A scoped key sees, counts, exports and streams only its
   * entries. With `apiKey` too, that one is added as "default".
   */
  apiKeys?: ViewerKey[];
  /**
   * Host names answered besides the localhost names, loopback addresses and
   * the address a connection came in on (default none: other Host headers are
   * answered 403, against DNS rebinding). ".example.com" allows a domain and
   * its subdomains; "*" any Host (only behind a proxy that checks it).
   */
  allowedHosts?: string[];
  /**
   * Write who read what into the trail (default true): list and search
   * requests (once per distinct query per reader and client per minute),
   * opened entries, entity histories, exports (filters, rows), refused keys.
   */
  auditReads?: boolean;
  /**
   * Where those entries go: this logger (default: \`logger\` when it writes
   * the viewed folder, else a logger of the viewer's own on \`auditLogDir\`).
   */
  auditLogger?: SelfEntryWriter;
  /** Folder of the viewer's own logger (default: logDir when writable, else \`<logDir>-viewer-audit\` beside it). */
  auditLogDir?: string;
  /**
   * Options of the viewer's own logger (rotation sizes, an integrity key).
   * Without them its lines are sealed (SHA-256 chain) when the trail's are.
   */
  auditLogOptions?: Omit<AuditLoggerOptions, "logDir">;
  /** Refused keys per client address before it is blocked for the window (default 10 in 5 minutes). */
  keyFailureLimit?: KeyFailureLimit;
  /** Longest trail line read whole; longer ones are shown from their first 64 KiB, marked (default 16 MiB). */
  maxLineBytes?: number;
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
  /**
   * Read entries from the PostgreSQL store many services ship into (see
   * `auditx ship`), instead of one log folder: `{ postgres: URL }`.
   */
  store?: PostgresTrailSourceOptions;
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
  /** What the page names as the trail: the log folder, or the store. */
  readonly trailName: string;
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
  private readonly hosts: HostAllowList;
  /** Who reads each request (set by the key check). */
  private readonly readers = new WeakMap<IncomingMessage, Reader>();
  /** The trail of who read what. */
  readonly readLog: ViewerAuditLog;
  /** The viewer's own logger for it, when it made one (closed with the viewer). */
  private readonly ownAuditLogger: AuditLogger | null;
  private readonly servers = new Set<Server>();
  private closed = false;

  constructor(options: AuditViewerOptions = {}) {
    this.logDir = resolve(options.logDir ?? "logs");
    this.prefix = normalizePrefix(options.prefix);
    this.realtime = options.realtime ?? true;
    this.hub = options.hub ?? hubFor(this.logDir);
    const keys = viewerKeys(options);
    this.guard = new ApiKeyGuard(keys, `${this.prefix}/`);
    this.hosts = new HostAllowList(options.allowedHosts);
    this.corsOrigins = new Set(options.corsOrigins ?? []);
    if (options.source && options.store) throw new TypeError("source and store: give one of them");
    this.ownsSource = options.source === undefined;
    if (options.store) {
      const store = new PostgresTrailSource(options.store);
      this.source = store;
      this.trailName = `${store.target} (schema ${store.names.schemaName})`;
    } else {
      this.source =
        options.source ??
        new JsonlTrailSource({
          logDir: this.logDir,
          auditLogFile: trailFileName("auditLogFile", options.auditLogFile, DEFAULT_TRAIL_FILES.audit),
          securityLogFile: trailFileName("securityLogFile", options.securityLogFile, DEFAULT_TRAIL_FILES.security),
          maxEntries: options.maxEntries,
          pollIntervalMs: options.pollIntervalMs,
          maxLineBytes: options.maxLineBytes,
          indexDir: options.indexDir,
          indexThreads: options.indexThreads,
        });
      this.trailName = this.logDir;
    }
    const writer = this.auditWriter(options);
    this.ownAuditLogger = writer.own;
    this.readLog = new ViewerAuditLog(writer.writer, options.keyFailureLimit);
    // Over the store, live entries come from the store's announcements: the global logger of a folder is not this trail.
    if (!this.realtime) this.disconnectLogger = null;
    else if (options.logger) this.disconnectLogger = options.logger.connectHub(this.hub);
    else if (options.store) this.disconnectLogger = null;
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
    this.readLog.started({
      logDir: this.logDir,
      prefix: this.prefix,
      keys: keys.length > 0 ? keySummaries(keys) : "none: every reader is anonymous",
      allowedHosts: options.allowedHosts ?? [],
      realtime: this.realtime,
      version: VERSION,
      pid: process.pid,
    });
  }

  /** Where the entries about readers go: a given logger, the in-process logger of this folder, or a logger of the viewer's own. */
  private auditWriter(options: AuditViewerOptions): { writer: SelfEntryWriter | null; own: AuditLogger | null } {
    if (options.auditReads === false) return { writer: null, own: null };
    if (options.auditLogger) return { writer: options.auditLogger, own: null };
    const inProcess = options.logger as (HubConnectable & Partial<SelfEntryWriter> & { logDir?: string }) | undefined;
    if (inProcess && typeof inProcess.log === "function" && inProcess.logDir === this.logDir && options.auditLogDir === undefined) {
      return { writer: inProcess as SelfEntryWriter, own: null };
    }
    const store = options.store;
    // Over the store there is no viewed folder: a folder of the viewer's own, shipped into the store it reads.
    const dir = resolve(options.auditLogDir ?? (!store && writableFolder(this.logDir) ? this.logDir : `${this.logDir}-viewer-audit`));
    // Its own lifecycle is the viewer's START and STOP; the trail's file names (in its own folder too, so that
    // one viewer reads both the same way); sealed when the trail is; rotation and redaction the defaults.
    const auditLogFile = trailFileName("auditLogFile", options.auditLogFile, DEFAULT_TRAIL_FILES.audit);
    const own = createLogger({
      auditLifecycle: false,
      console: false,
      auditLogFile,
      securityLogFile: trailFileName("securityLogFile", options.securityLogFile, DEFAULT_TRAIL_FILES.security),
      ...(trailIsSealed(join(dir, auditLogFile)) ? { integrity: true } : {}),
      // In the viewed folder it only adds lines: compressing or pruning segments is the trail's owner's business.
      ...(dir === this.logDir ? { compress: false } : {}),
      // In the store, among many services' entries, the viewer's are told apart by their service.
      ...(store
        ? { serviceName: "auditx-viewer", ship: { postgres: store.postgres as ShipOptions["postgres"], schema: store.schema } }
        : {}),
      ...options.auditLogOptions,
      logDir: dir,
    });
    return { writer: own, own };
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
    const client = clientAddress(request);
    const host = this.hosts.check(request);
    const wait = this.readLog.blocked(client);
    if (this.closed) refuseUpgrade(socket, { status: 503, error: "the viewer is closed" });
    else if (!host.ok) refuseUpgrade(socket, { status: 403, error: hostRefusal(host.hostname) });
    else if (wait > 0) refuseUpgrade(socket, { status: 429, error: `too many refused keys from ${client}: try again in ${wait} s` });
    else {
      const check = this.guard.check(request);
      if (!check.ok) {
        this.readLog.refused(client, path, check.presented);
        this.ws.closeWith(request, socket, head, 4401, "a valid API key is required");
      } else if (!this.sameOrigin(request)) refuseUpgrade(socket, { status: 403, error: "cross-origin WebSocket refused" });
      else this.ws.upgrade(request, socket, head, check.reader, null);
    }
    return true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.disconnectLogger?.();
    this.feed.close();
    this.sse.close();
    this.ws.close();
    this.readLog.stopped();
    if (this.ownsSource) await this.source.close();
    await this.ownAuditLogger?.shutdown();
  }

  /**
   * A browser page of this origin (same scheme, host and port), one of the
   * CORS origins, or a client that sends no Origin (not a browser).
   */
  private sameOrigin(request: IncomingMessage): boolean {
    const origin = request.headers.origin;
    if (!origin) return true;
    if (this.corsOrigins.has(origin)) return true;
    return HostAllowList.sameOrigin(request, origin);
  }

  /** The reader of a request that passed the key check. */
  private reader(request: IncomingMessage): Reader {
    const reader = this.readers.get(request);
    if (!reader) throw new ViewerRequestError("a valid API key is required", 401);
    return reader;
  }

  /** The trail a reader asked for, if its key may read it. */
  private readableSource(request: Request): TrailName {
    const source = parseSource(request.query);
    if (!this.reader(request).sources.has(source)) throw new ViewerRequestError(`this API key may not read the ${source} trail`, 403);
    return source;
  }

  private readRequest(request: Request): ReadRequest {
    return { reader: this.reader(request), client: clientAddress(request), path: `${this.prefix}${request.path}` };
  }

  private buildRouter(): Router {
    const router = express.Router({ strict: false, caseSensitive: true });
    router.use(securityHeaders);
    router.use((request, response, next) => this.checkHost(request, response, next));
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
    router.get("/api/config", (request, response) => {
      const reader = this.reader(request);
      response.json({
        realtime: this.realtime,
        version: VERSION,
        prefix: this.prefix,
        auth: this.guard.enabled,
        reader: { id: reader.id, sources: [...reader.sources], ...(reader.scope.companyIds ? { companies: reader.scope.companyIds } : {}) },
      });
    });
    router.get("/api/stats", async (request, response) => {
      const reader = this.reader(request);
      const stats: Record<string, unknown> = { log_dir: this.trailName };
      for (const source of ["audit", "security"] as const) {
        if (reader.sources.has(source)) stats[source] = await this.source.stats(source, reader.scope);
      }
      response.json(stats);
    });
    router.get("/api/entries", async (request, response) => {
      const query = parseEntryQuery(request.query);
      const reader = this.reader(request);
      if (!reader.sources.has(query.source)) throw new ViewerRequestError(`this API key may not read the ${query.source} trail`, 403);
      const filter: EntryFilter = { ...query.filter, scope: reader.scope };
      const page = await this.source.query(query.source, filter, { offset: query.offset, limit: query.limit });
      this.readLog.listed(this.readRequest(request), query.source, query.filter, page.total);
      response.json({
        items: viewableEntries(page.items),
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
      const source = this.readableSource(request);
      const entry = await this.source.entry(source, id, this.reader(request).scope);
      this.readLog.opened(this.readRequest(request), source, id, entry !== null);
      if (!entry) throw new ViewerRequestError("no entry has this id", 404);
      response.json({ entry: viewableEntry(entry), source });
    });
    router.get("/api/histogram", async (request, response) => {
      const source = this.readableSource(request);
      const filter: EntryFilter = { ...parseEntryFilter(request.query), scope: this.reader(request).scope };
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
      const source = this.readableSource(request);
      const limit = parseLimit(request.query, 50, 200);
      const reader = this.reader(request);
      // The hub's ring of recent entries is in memory: its entries are checked against the scope here.
      const items =
        reader.scope.companyIds === undefined
          ? this.hub.recent(source, limit)
          : this.hub
              .recent(source)
              .filter((entry) => inScope(entry as unknown as TrailEntry, reader.scope))
              .slice(0, limit);
      response.json({ items: viewableEntries(items.reverse() as unknown as TrailEntry[]), source });
    });
    router.get("/api/export", async (request, response) => {
      const format = request.query.format ?? "csv";
      if (format !== "csv" && format !== "jsonl") throw new ViewerRequestError('format: expected "csv" or "jsonl"');
      const source = this.readableSource(request);
      const asked = parseEntryFilter(request.query);
      const filter: EntryFilter = { ...asked, scope: this.reader(request).scope };
      if (request.method === "HEAD") return response.end();
      let rows = 0;
      let completed = false;
      try {
        await writeExport(
          response,
          (signal) => countRows(this.source.export(source, filter, { signal }), (count) => (rows += count)),
          format as ExportFormat,
          source,
        );
        completed = response.writableFinished || response.writableEnded;
      } finally {
        this.readLog.exported(this.readRequest(request), source, asked, format as string, rows, completed);
      }
    });
    router.get("/api/stream", (request, response) => {
      const source = this.readableSource(request);
      // As auditX: the entries after the first `after` of the trail come first; 0 (the default) replays it all.
      const after = parseInteger(request.query, "after", 0, 0, Number.MAX_SAFE_INTEGER);
      if (request.method === "HEAD") return response.type("text/event-stream").end();
      this.sse.handle(request, response, { source, after }, this.reader(request));
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

  /** Answers 403 to a Host that is not on the allow-list (DNS rebinding), before anything else. */
  private checkHost(request: Request, response: Response, next: NextFunction): void {
    const host = this.hosts.check(request);
    if (host.ok) {
      next();
      return;
    }
    response
      .status(403)
      .type("text/plain")
      .send(`${hostRefusal(host.hostname)}\n`);
  }

  private authorize(request: Request, response: Response, next: NextFunction): void {
    const client = clientAddress(request);
    const wait = this.readLog.blocked(client);
    if (wait > 0) {
      response.setHeader("Retry-After", String(wait));
      response.status(429).json({ detail: `too many refused keys from this address: try again in ${wait} s` });
      return;
    }
    const check = this.guard.check(request);
    if (check.ok) {
      this.readers.set(request, check.reader);
      if (check.setCookie) response.append("Set-Cookie", this.guard.cookie(check.reader, request.secure));
      next();
      return;
    }
    this.readLog.refused(client, `${this.prefix}${request.path}`, check.presented);
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

function hostRefusal(hostname: string): string {
  return `Host ${JSON.stringify(hostname)} is not allowed: add it to allowedHosts (auditx ui --allowed-hosts) if the viewer is meant to be reached by that name`;
}

/** The keys of the options: apiKeys, and apiKey as "default". */
function viewerKeys(options: AuditViewerOptions): ResolvedKey[] {
  if (options.apiKey !== undefined && (typeof options.apiKey !== "string" || options.apiKey === "")) {
    throw new TypeError("apiKey: expected a non-empty string");
  }
  if (options.apiKeys !== undefined && !Array.isArray(options.apiKeys)) throw new TypeError("apiKeys: expected a list of keys");
  return resolveKeys(options.apiKeys ?? [], "apiKeys", options.apiKey === undefined ? [] : [defaultKey(options.apiKey)]);
}

/** The keys as the viewer's start entry records them: ids and scopes, never a key. */
function keySummaries(keys: ResolvedKey[]): Record<string, unknown>[] {
  return keys.map((key) => ({
    id: key.id,
    ...(key.companies ? { companies: [...key.companies] } : {}),
    ...(key.sources.size < 2 ? { sources: [...key.sources] } : {}),
  }));
}

/** The client's address (Express's request.ip, which follows the app's trust proxy setting, when there is one). */
function clientAddress(request: IncomingMessage): string {
  const address = (request as Partial<Request>).ip ?? request.socket?.remoteAddress ?? "";
  return address.startsWith("::ffff:") ? address.slice(7) : address;
}

/** Whether the viewer can write its entries in a folder: it is writable, or can be made in a writable parent. */
function writableFolder(dir: string): boolean {
  try {
    accessSync(existsSync(dir) ? dir : dirname(dir), constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Whether the newest line of an audit trail file is sealed (integrity on): the viewer's own lines are then sealed too. */
function trailIsSealed(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return false;
  }
  try {
    const size = fstatSync(fd).size;
    const tail = Buffer.alloc(Math.min(size, 64 * 1024));
    readSync(fd, tail, 0, tail.length, size - tail.length);
    const lines = tail.toString("utf8").trimEnd().split("\n");
    return lines.at(-1)?.includes('"chain_id":') ?? false;
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

/** Passes the batches through, counting their entries; made viewable on the way. */
async function* countRows(batches: AsyncIterable<TrailEntry[]>, count: (rows: number) => void): AsyncGenerator<TrailEntry[]> {
  for await (const batch of batches) {
    count(batch.length);
    yield viewableEntries(batch);
  }
}

function splitUrl(url: string): [string, string] {
  const question = url.indexOf("?");
  return question < 0 ? [url, ""] : [url.slice(0, question), url.slice(question)];
}
