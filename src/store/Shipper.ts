/**
 * Ships the journal (the JSONL trail of one or more log folders) into the
 * PostgreSQL store: batches of lines as COPY, one transaction each, the
 * per-segment cursor advanced in the folder only after COMMIT. Every line
 * lands exactly once: lines after the cursor may have been committed before
 * a crash, and sending them again is harmless, because the row's primary key
 * is the entry's id (a replayed batch is retried through ON CONFLICT DO
 * NOTHING). PostgreSQL being away only grows the backlog on disk; a log call
 * never waits for it (the shipper reads the files, never the logger).
 */
import { realpathSync } from "node:fs";
import { hostname as osHostname } from "node:os";
import { resolve } from "node:path";
import type pg from "pg";
import { MAX_SHIP_CONNECTIONS, type ShipBacklog, type ShipLag, type ShipState, type ShipStats } from "../api/shipping.js";
import { BatchWriter, type WrittenBatch, walPosition } from "./BatchWriter.js";
import { connectPostgres, describeTarget, holdProcess, type PostgresTarget, sqlState } from "./connect.js";
import type { RowDefaults } from "./copyRow.js";
import { Journal, type JournalBatch } from "./Journal.js";
import { PENDING_LIST_LIMIT, SearchIndexCleaner } from "./SearchIndexCleaner.js";
import { findCursorStores, ShipCursor } from "./ShipCursor.js";
import { initStore, readStoreInfo, SCHEMA_VERSION, StoreNames } from "./schema.js";

export interface ShipFolder {
  logDir: string;
  /** The `service` of lines that carry none. */
  service?: string;
}

export interface ShipperOptions {
  /** The store: a URL or node-postgres settings. */
  postgres: PostgresTarget;
  /** Log folders to ship (a sidecar ships several hosts' or services' folders into one store). */
  folders: Array<string | ShipFolder>;
  /** Schema of the store (default "auditx"). */
  schema?: string;
  /** Trail file shipped from each folder (default audit.jsonl). */
  trail?: string;
  /** Create the store on first use when it is missing and the role may (default true). */
  initSchema?: boolean;
  /** Most lines per batch (one COPY, one transaction; default 10,000). */
  batchRows?: number;
  /** About the most bytes of lines per batch (default 16 MiB). */
  batchBytes?: number;
  /**
   * Connections that store a batch at once, each its share of the rows in a
   * transaction of its own (default 2): PostgreSQL indexes a row on one core
   * per connection, and the cursor moves only once every share is committed.
   */
  connections?: number;
  /**
   * Merge the free-text index's pending entries on a connection of its own
   * while the next batch is stored, so that the storing connections only
   * append to it (default true; one more connection).
   */
  cleanSearchIndex?: boolean;
  /**
   * Each batch's COMMIT waits for the server to write it to disk (and to its
   * synchronous standbys), as the server's own synchronous_commit says.
   * Default false: batches commit without that wait, so a slow disk write
   * holds no batch back, and the cursor moves past a batch only once the
   * server's WAL has been written to disk past its commits, so a server
   * crash still loses nothing (the lines since are sent again). Set it
   * where the store fails over to a synchronous standby.
   */
  synchronousCommit?: boolean;
  /** How often the folders are looked at when there is nothing to ship (default 200 ms). */
  pollIntervalMs?: number;
  /** Longest wait between reconnect attempts while PostgreSQL is away (default 10 s). */
  maxRetryDelayMs?: number;
  /** A rotated segment unchanged this long is finished (default 5 s). */
  settleMs?: number;
  /** Longest line read; longer ones are skipped and counted (default 16 MiB). */
  maxLineBytes?: number;
  /** Announce stored entries to the viewer's LISTEN (default true). */
  notify?: boolean;
  /** Only one shipper per folder (across processes of this host) ships at a time; the others stand by (default true). */
  exclusive?: boolean;
  /** Keep the process alive while shipping (a sidecar); false lets the host application exit (default true). */
  holdProcess?: boolean;
  /** How often the status is written to the store's shippers table (default 10 s). */
  reportIntervalMs?: number;
  /** This shipper's host name in its status (default os.hostname()). */
  hostname?: string;
  /** The connection's application_name, as pg_stat_activity shows it (default "auditx-ship"). */
  applicationName?: string;
  /** Hears failures and notices; they never throw out of the shipper. */
  onEvent?: (event: ShipEvent) => void;
}

export interface ShipEvent {
  level: "error" | "warning" | "info";
  message: string;
  error?: unknown;
}

interface Folder {
  logDir: string;
  defaults: RowDefaults;
  /** The advisory lock's key: one active shipper per folder of this host. */
  lockKey: string;
  journal: Journal | null;
  active: boolean;
  /** A batch read but not stored yet: retried as it is after a failure. */
  pending: JournalBatch | null;
  /** Batches committed, in trail order, that the server's WAL flush has not reached yet: the cursor waits for them. */
  unflushed: Array<{ batch: JournalBatch; flushNeeded: bigint }>;
  shipped: number;
  skipped: number;
  /** Lines waiting, and the entry time of the oldest (the lag in seconds is reckoned from it when asked). */
  waiting: number;
  oldestWaiting: number | null;
  backlog: ShipBacklog;
}

/** How long stopping waits for the server's WAL writer to put committed batches on disk; later ones are sent again. */
const FLUSH_WAIT_MS = 1000;
const STANDBY_RETRY_MS = 2000;
/** Batches one folder ships before the next folder gets its turn. */
const BATCHES_PER_TURN = 8;
/** A batch is shared between connections only in shares of at least this many rows (a transaction has a cost of its own). */
const MIN_ROWS_PER_SHARE = 200;

export class Shipper {
  readonly names: StoreNames;
  private readonly options: Required<Omit<ShipperOptions, "onEvent" | "folders" | "schema" | "hostname" | "applicationName">> & {
    onEvent?: (event: ShipEvent) => void;
  };
  private readonly host: string;
  private readonly applicationName: string;
  private readonly folders: Folder[];
  private client: pg.Client | null = null;
  private storeId: string | null = null;
  private state: ShipState = "starting";
  private closed = false;
  private wake: (() => void) | null = null;
  private readonly loopDone: Promise<void>;
  private retryDelay = 0;
  private lastReport = 0;
  /** Write batches, one per connection (the first over `client`). */
  private writers: BatchWriter[] = [];
  /** Connections beside `client` that only store batches. */
  private extraClients: pg.Client[] = [];
  /** Merges the free-text index's pending entries while batches are stored (null: not in this store, or off). */
  private cleaner: SearchIndexCleaner | null = null;
  private cleanerTold = false;
  /** Months whose partition exists, shared by this connection's writers. */
  private knownMonths = new Set<number>();
  private helpersOpened = false;
  private readonly counters = { shipped: 0, skipped: 0, replayed: 0, batches: 0 };
  private lastBatchLagSeconds: number | null = null;
  private lastShippedAt: string | null = null;
  private lastError: string | null = null;
  private readonly idleWaiters = new Set<() => void>();
  private passesStarted = 0;
  /** The latest pass that found nothing to ship. */
  private lastIdlePass = 0;

  constructor(options: ShipperOptions) {
    if (!options.folders || options.folders.length === 0) throw new TypeError("folders: give at least one log folder to ship");
    this.names = new StoreNames(options.schema);
    this.host = options.hostname ?? osHostname();
    this.applicationName = options.applicationName ?? "auditx-ship";
    this.options = {
      postgres: options.postgres,
      trail: options.trail ?? "audit.jsonl",
      initSchema: options.initSchema ?? true,
      batchRows: Math.max(1, Math.floor(options.batchRows ?? 10_000)),
      batchBytes: Math.max(64 * 1024, Math.floor(options.batchBytes ?? 16 * 1024 * 1024)),
      connections: Math.min(MAX_SHIP_CONNECTIONS, Math.max(1, Math.floor(options.connections ?? 2))),
      cleanSearchIndex: options.cleanSearchIndex ?? true,
      synchronousCommit: options.synchronousCommit ?? false,
      pollIntervalMs: Math.max(10, options.pollIntervalMs ?? 200),
      maxRetryDelayMs: Math.max(100, options.maxRetryDelayMs ?? 10_000),
      settleMs: Math.max(0, options.settleMs ?? 5000),
      maxLineBytes: Math.max(1024, options.maxLineBytes ?? 16 * 1024 * 1024),
      notify: options.notify ?? true,
      exclusive: options.exclusive ?? true,
      holdProcess: options.holdProcess ?? true,
      reportIntervalMs: Math.max(100, options.reportIntervalMs ?? 10_000),
      onEvent: options.onEvent,
    };
    this.folders = options.folders.map((entry) => {
      const folder = typeof entry === "string" ? { logDir: entry } : entry;
      const logDir = resolve(folder.logDir);
      let real = logDir;
      try {
        real = realpathSync(logDir);
      } catch {
        // Not there yet: the logger creates it on its first line.
      }
      return {
        logDir,
        defaults: folder.service ? { service: folder.service } : {},
        lockKey: `${this.host}|${real}|${this.options.trail}`,
        journal: null,
        active: false,
        pending: null,
        unflushed: [],
        shipped: 0,
        skipped: 0,
        waiting: 0,
        oldestWaiting: null,
        backlog: { bytes: 0, segments: 0 },
      };
    });
    this.loopDone = this.loop();
  }

  private event(level: ShipEvent["level"], message: string, error?: unknown): void {
    try {
      this.options.onEvent?.({ level, message, error });
    } catch {
      // A listener's failure is its own.
    }
  }

  private lagOf(folder: Folder, now: number): ShipLag {
    const seconds = folder.waiting > 0 && folder.oldestWaiting !== null ? Math.max(0, (now - folder.oldestWaiting) / 1000) : 0;
    return { records: folder.waiting, seconds };
  }

  stats(): ShipStats {
    const now = Date.now();
    const lag = { records: 0, seconds: 0 };
    const backlog = { bytes: 0, segments: 0 };
    for (const folder of this.folders) {
      const folderLag = this.lagOf(folder, now);
      lag.records += folderLag.records;
      lag.seconds = Math.max(lag.seconds, folderLag.seconds);
      backlog.bytes += folder.backlog.bytes;
      backlog.segments += folder.backlog.segments;
    }
    return {
      state: this.state,
      target: describeTarget(this.options.postgres),
      storeId: this.storeId,
      ...this.counters,
      lag,
      backlog,
      lastBatchLagSeconds: this.lastBatchLagSeconds,
      lastShippedAt: this.lastShippedAt,
      lastError: this.lastError,
      folders: this.folders.map((folder) => ({
        logDir: folder.logDir,
        active: folder.active,
        shipped: folder.shipped,
        skipped: folder.skipped,
        lag: this.lagOf(folder, now),
        backlog: { ...folder.backlog },
      })),
    };
  }

  /** Looks at the folders now instead of at the next poll. */
  poke(): void {
    this.wake?.();
  }

  /**
   * Resolves true once everything in the folders' journals when called is
   * stored (or false after `timeoutMs`).
   */
  async drained(timeoutMs = 30_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    // A pass that starts after this call and finds nothing to ship has seen everything written before it.
    const after = this.passesStarted;
    this.poke();
    while (!this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        this.idleWaiters.add(resolve);
        const timer = setTimeout(resolve, Math.min(500, Math.max(1, deadline - Date.now())));
        timer.unref();
      });
      if (this.lastIdlePass > after && this.folders.every((folder) => folder.waiting === 0 && folder.pending === null)) {
        // Stored, and the cursors that say so written.
        await Promise.all(this.folders.map((folder) => folder.journal?.cursor.saved()));
        return true;
      }
    }
    return false;
  }

  /** Stops shipping: first ships what is there for at most `drainMs` (when connected), then lets go of the store. */
  async close(drainMs = 0): Promise<void> {
    if (this.closed) return;
    // Standing by, another shipper ships the folder; otherwise ship what is there (connecting first if need be).
    if (drainMs > 0 && this.state !== "standby") await this.drained(drainMs);
    this.closed = true;
    this.wake?.();
    await this.loopDone;
    this.state = "closed";
  }

  // ---- the loop --------------------------------------------------------------

  private async loop(): Promise<void> {
    while (!this.closed) {
      let worked = false;
      const pass = ++this.passesStarted;
      try {
        if (!this.client) await this.connect();
        if (this.options.exclusive) await this.claimFolders();
        else for (const folder of this.folders) folder.active = true;
        const anyActive = this.folders.some((folder) => folder.active);
        if (anyActive) await this.openHelpers();
        if (!anyActive) this.state = "standby";
        else if (this.state !== "idle") this.state = "shipping";
        for (const folder of this.folders) {
          if (this.closed) break;
          if (folder.active) worked = (await this.shipFolder(folder)) || worked;
          else await this.refreshBacklog(folder);
        }
        this.retryDelay = 0;
        if (!worked && anyActive) {
          this.state = "idle";
          this.lastIdlePass = pass;
        }
        await this.reportMaybe();
      } catch (error) {
        await this.failed(error);
        continue;
      }
      if (this.state === "idle") for (const resolve of this.idleWaiters) resolve();
      this.idleWaiters.clear();
      if (!worked && !this.closed) await this.pause(this.state === "standby" ? STANDBY_RETRY_MS : this.options.pollIntervalMs);
    }
    await this.disconnect(true);
    for (const folder of this.folders) await folder.journal?.close();
  }

  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      if (!this.options.holdProcess) timer.unref();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }

  /** A failure of PostgreSQL or of the connection: the batch stays pending, the backlog grows on disk, retry later. */
  private async failed(error: unknown): Promise<void> {
    const message = `${error instanceof Error ? error.message : String(error)}${sqlState(error) ? ` (${sqlState(error)})` : ""}`;
    if (message !== this.lastError) this.event("error", `shipping to ${describeTarget(this.options.postgres)} failed: ${message}`, error);
    this.lastError = message;
    await this.disconnect(false);
    if (this.closed) return;
    this.state = "retrying";
    this.retryDelay = Math.min(this.options.maxRetryDelayMs, this.retryDelay === 0 ? 250 : this.retryDelay * 2);
    for (const folder of this.folders) await this.refreshBacklog(folder).catch(() => undefined);
    await this.pause(this.retryDelay);
  }

  private openConnection(): Promise<pg.Client> {
    const client: Promise<pg.Client> = connectPostgres(
      this.options.postgres,
      { applicationName: this.applicationName, statementTimeoutMillis: 5 * 60_000 },
      (error) => {
        void client.then((connected) => {
          if (this.client === connected || this.extraClients.includes(connected) || this.cleaner?.client === connected) {
            this.lastError = error.message;
          }
        });
      },
    );
    return client;
  }

  private async connect(): Promise<void> {
    this.state = "connecting";
    const client = await this.openConnection();
    try {
      let info = await readStoreInfo(client, this.names);
      if (!info) {
        if (!this.options.initSchema) {
          throw new Error(`no auditx store in schema ${this.names.schemaName}: create it with \`auditx pg init\``);
        }
        try {
          info = await initStore(client, { schema: this.names.schemaName });
          this.event("info", `created the auditx store in schema ${this.names.schemaName}`);
        } catch (error) {
          throw new Error(
            `no auditx store in schema ${this.names.schemaName}, and this role cannot create it (${(error as Error).message}): create it with \`auditx pg init\``,
          );
        }
      }
      if (info.schemaVersion > SCHEMA_VERSION) {
        throw new Error(
          `the store's schema is version ${info.schemaVersion}, newer than this auditx knows (${SCHEMA_VERSION}): upgrade auditx`,
        );
      }
      if (this.storeId !== info.storeId) {
        // Another store (or the first): cursors are per store.
        for (const folder of this.folders) {
          await folder.journal?.close();
          folder.journal = null;
          folder.pending = null;
        }
        this.storeId = info.storeId;
      }
      holdProcess(client, this.options.holdProcess);
      this.client = client;
      this.knownMonths = new Set<number>();
      this.writers = [new BatchWriter(client, this.names, this.options.notify, this.knownMonths, !this.options.synchronousCommit)];
      this.helpersOpened = false;
      if (this.lastError !== null) this.event("info", `connected to ${describeTarget(this.options.postgres)}`);
      this.lastError = null;
      // This month and the next exist before any batch needs them (making a partition locks the table a moment).
      await this.writers[0]?.ensurePartitions([Date.now(), Date.now() + 31 * 24 * 3600 * 1000]);
    } catch (error) {
      // The other connections open later (openHelpers): this one is all there is to end.
      this.client = null;
      this.writers = [];
      await client.end().catch(() => undefined);
      throw error;
    }
  }

  /**
   * The free-text index cleaner's connection, when the store has the
   * function and this role may run it; the storing connections then leave
   * the merging of the index's pending list to it.
   */
  private async openCleaner(client: pg.Client): Promise<void> {
    const cleanFunction = `${this.names.of("clean_search_pending")}(timestamptz[])`;
    const { rows } = await client.query(
      "SELECT to_regprocedure($1) IS NOT NULL AND has_function_privilege(to_regprocedure($1), 'EXECUTE') AS usable",
      [cleanFunction],
    );
    if (rows[0]?.usable !== true) {
      if (!this.cleanerTold) {
        this.event(
          "info",
          `the store has no ${cleanFunction} this role may run: each batch merges its free-text index entries itself (slower); \`auditx pg init --writer ROLE\` as the store's owner adds it`,
        );
      }
      this.cleanerTold = true;
      return;
    }
    const cleanerClient = await this.openHelperConnection(
      "no connection for the free-text index cleaner (each batch merges its entries itself)",
    );
    if (!cleanerClient) return;
    holdProcess(cleanerClient, false);
    this.cleaner = new SearchIndexCleaner(cleanerClient, this.names, (error) => {
      const message = `merging the free-text index's new entries failed: ${(error as Error).message}`;
      if (message !== this.lastError) this.event("warning", message, error);
    });
    for (const connection of [client, ...this.extraClients]) await connection.query(`SET gin_pending_list_limit = '${PENDING_LIST_LIMIT}'`);
  }

  /** The storing and cleaning connections beside the first, once this shipper ships a folder (one standing by holds only the first). */
  private async openHelpers(): Promise<void> {
    if (this.helpersOpened || !this.client) return;
    this.helpersOpened = true;
    await this.openExtraConnections();
    if (this.options.cleanSearchIndex) await this.openCleaner(this.client);
  }

  /** A connection beside the first, or null (told as a warning) when the server refuses it: shipping goes on without. */
  private async openHelperConnection(without: string): Promise<pg.Client | null> {
    try {
      return await this.openConnection();
    } catch (error) {
      this.event("warning", `${without}: ${(error as Error).message}`, error);
      return null;
    }
  }

  /** The storing connections beside the first; when the server refuses one (too many connections), batches go over fewer. */
  private async openExtraConnections(): Promise<void> {
    for (let i = 1; i < this.options.connections; i++) {
      const extra = await this.openHelperConnection(
        `storing over ${this.writers.length} connection(s) instead of ${this.options.connections}`,
      );
      if (!extra) return;
      holdProcess(extra, this.options.holdProcess);
      this.extraClients.push(extra);
      this.writers.push(new BatchWriter(extra, this.names, this.options.notify, this.knownMonths, !this.options.synchronousCommit));
    }
  }

  private async disconnect(graceful: boolean): Promise<void> {
    const client = this.client;
    const extras = this.extraClients;
    const cleaner = this.cleaner;
    this.client = null;
    this.writers = [];
    this.extraClients = [];
    this.cleaner = null;
    for (const folder of this.folders) {
      if (graceful && client && folder.unflushed.length > 0) await this.commitOnFlush(client, folder).catch(() => undefined);
      // Committed, but perhaps not on disk when the server stopped: sent again from the cursor (the store keeps each once).
      if (folder.unflushed.length > 0) await this.forgetUnflushed(folder);
    }
    // Stopping, the last batch's entries are merged into the free-text index before the connection goes.
    if (cleaner && graceful) await cleaner.settled();
    await Promise.all([...extras, ...(cleaner ? [cleaner.client] : [])].map((extra) => extra.end().catch(() => undefined)));
    if (client && graceful) {
      await this.report(client).catch(() => undefined);
      // The cursors written before the folders' locks go with the connection: a shipper standing by starts from them.
      await Promise.all(this.folders.map((folder) => folder.journal?.cursor.saved()));
    }
    for (const folder of this.folders) folder.active = false;
    await client?.end().catch(() => undefined);
  }

  /** Takes the folders' advisory locks that are free; a folder whose lock another shipper holds stands by. */
  private async claimFolders(): Promise<void> {
    const client = this.client as pg.Client;
    for (const folder of this.folders) {
      if (folder.active) continue;
      const { rows } = await client.query("SELECT pg_try_advisory_lock(hashtext('auditx.ship'), hashtext($1)) AS locked", [
        `${this.names.schemaName}|${folder.lockKey}`,
      ]);
      folder.active = rows[0].locked === true;
      if (folder.active) {
        // Another shipper may have shipped the folder while this one stood by: start from the cursor it left.
        await folder.journal?.close();
        folder.journal = null;
        folder.pending = null;
      }
    }
  }

  private journalOf(folder: Folder): Journal {
    if (!folder.journal) {
      // Before the first connection the store is not known: the backlog is reckoned from the one cursor in the folder, if any.
      const storeId = this.storeId ?? findCursorStores(folder.logDir, this.options.trail)[0] ?? "unknown";
      const cursor = new ShipCursor(folder.logDir, this.options.trail, storeId, (error) =>
        this.event(
          "error",
          `${folder.logDir}: the shipping cursor could not be written (${error.message}); shipping goes on, and a restart before it is written sends the lines since its last write again (the store keeps each once)`,
          error,
        ),
      );
      if (cursor.unreadable) {
        this.event(
          "warning",
          `${cursor.path}: unreadable (${cursor.unreadable}); shipping ${folder.logDir} from its start (the store keeps each entry once)`,
        );
      }
      folder.journal = new Journal(
        {
          logDir: folder.logDir,
          trail: this.options.trail,
          settleMs: this.options.settleMs,
          maxLineBytes: this.options.maxLineBytes,
          defaults: folder.defaults,
        },
        cursor,
      );
    }
    return folder.journal;
  }

  private async refreshBacklog(folder: Folder): Promise<void> {
    // Not a shipping pass (standing by, or PostgreSQL away): the backlog only, vanished segments are told by the pass.
    await this.journalOf(folder).scan();
    await this.updateLag(folder);
  }

  /** Looks at the folder's segments (what was appended since, what vanished unshipped). */
  private async scanFolder(folder: Folder): Promise<Journal> {
    const journal = this.journalOf(folder);
    const lost = await journal.scan();
    for (const segment of lost) {
      this.event(
        "error",
        `${folder.logDir}/${segment.name} was removed before it was shipped past byte ${segment.offset}: its later lines are not in the store`,
      );
    }
    return journal;
  }

  private async updateLag(folder: Folder): Promise<void> {
    const backlog = await this.journalOf(folder).backlog();
    folder.backlog = { bytes: backlog.bytes, segments: backlog.segments };
    // The backlog counts from the cursor, so it includes a batch read but not yet stored.
    folder.waiting = backlog.records;
    folder.oldestWaiting = backlog.oldestMillis;
  }

  /** Ships what the folder's journal holds, a few batches at a time; returns whether anything moved. */
  private async shipFolder(folder: Folder): Promise<boolean> {
    const journal = await this.scanFolder(folder);
    let moved = false;
    // Batches committed on an earlier pass whose WAL has reached the disk since.
    if (folder.unflushed.length > 0 && this.client) moved = await this.commitFlushed(this.client, folder, journal);
    const read = () => journal.next(this.options.batchRows, this.options.batchBytes);
    folder.pending ??= await read();
    for (let turn = 0; turn < BATCHES_PER_TURN && folder.pending && !this.closed; turn++) {
      const batch: JournalBatch = folder.pending;
      this.state = "shipping";
      // While PostgreSQL stores this batch, what follows it in the trail is read and parsed (a full batch, or the lines
      // written since this one was read): the cores work at once, and a steady stream is not parsed and stored in turn.
      const next = turn + 1 < BATCHES_PER_TURN ? read() : null;
      let flushNeeded: bigint | null;
      try {
        // Rows PostgreSQL refused are skipped like malformed lines: counted, reported, never retried forever.
        const stored = await this.store(batch);
        batch.skipped += stored.refused;
        flushNeeded = stored.flushNeeded;
      } catch (error) {
        // The batch stays pending; what was read after it is read again after it is stored.
        await next?.catch(() => null);
        if (folder.unflushed.length > 0) await this.forgetUnflushed(folder);
        else await journal.rewind();
        throw error;
      }
      moved = true;
      if (flushNeeded === null && folder.unflushed.length === 0) this.commitBatch(folder, journal, batch);
      else folder.unflushed.push({ batch, flushNeeded: flushNeeded ?? 0n });
      folder.pending = next ? await next : null;
    }
    if (folder.unflushed.length > 0 && this.client) moved = (await this.commitFlushed(this.client, folder, journal)) || moved;
    if (folder.pending && this.closed) {
      // Read ahead but not stored: read again from the cursor next time.
      folder.pending = null;
      await journal.rewind();
    }
    // What was appended while this pass shipped is waiting too: without a look now, the lag would read as
    // none until the next pass had shipped it as well.
    if (moved && !this.closed) await this.scanFolder(folder);
    await this.updateLag(folder);
    return moved;
  }

  /** Moves the folder's cursor past a stored batch (durable: its commits are on the server's disk). */
  private commitBatch(folder: Folder, journal: Journal, batch: JournalBatch): void {
    journal.commit(batch);
    folder.shipped += batch.rows.length;
    folder.skipped += batch.skipped;
    this.counters.skipped += batch.skipped;
  }

  /** Commits, in trail order, the folder's batches the server's WAL flush has passed; returns whether any. */
  private async commitFlushed(client: pg.Client, folder: Folder, journal: Journal): Promise<boolean> {
    const { rows } = await client.query("SELECT pg_current_wal_flush_lsn()::text AS lsn");
    const flushed = walPosition(rows[0].lsn as string);
    let committed = 0;
    for (const { batch, flushNeeded } of folder.unflushed) {
      if (flushNeeded > flushed) break;
      this.commitBatch(folder, journal, batch);
      committed++;
    }
    folder.unflushed.splice(0, committed);
    return committed > 0;
  }

  /** Stopping: the batches commit as the server's WAL writer puts them on disk (within a few hundred ms), for up to FLUSH_WAIT_MS. */
  private async commitOnFlush(client: pg.Client, folder: Folder): Promise<void> {
    const deadline = Date.now() + FLUSH_WAIT_MS;
    while (folder.journal && folder.unflushed.length > 0) {
      await this.commitFlushed(client, folder, folder.journal);
      if (folder.unflushed.length === 0 || Date.now() >= deadline) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** The batches not known to be on the server's disk are read and sent again, from the cursor. */
  private async forgetUnflushed(folder: Folder): Promise<void> {
    folder.unflushed = [];
    folder.pending = null;
    await folder.journal?.rewind();
  }

  // ---- storing a batch -------------------------------------------------------

  /**
   * Stores a batch, shared between the connections in contiguous shares,
   * each one transaction; returns the rows PostgreSQL refused (skipped). When
   * a share fails, the others may have committed: the batch is sent again
   * whole, and the rows the store has are replayed harmlessly.
   */
  private async store(batch: JournalBatch): Promise<{ refused: number; flushNeeded: bigint | null }> {
    if (batch.rows.length === 0) return { refused: 0, flushNeeded: null };
    const client = this.client as pg.Client;
    const writers = this.writers;
    const connections = [client, ...this.extraClients];
    const cleaner = this.cleaner;
    // Its connection lost, the cleaner cannot keep the pending list short: connect again, all of it.
    if (cleaner?.lostConnection) throw cleaner.lostConnection;
    for (const connection of connections) holdProcess(connection, true);
    try {
      const times = batch.rows.map((row) => row.ts);
      // Partitions first, on one connection: two shares never race to make the same month.
      await (writers[0] as BatchWriter).ensurePartitions(times);
      const shares = Math.max(1, Math.min(writers.length, Math.floor(batch.rows.length / MIN_ROWS_PER_SHARE)));
      const size = Math.ceil(batch.rows.length / shares);
      const outcomes = await Promise.allSettled(
        Array.from({ length: shares }, (_, i) => (writers[i] as BatchWriter).write(batch.rows.slice(i * size, (i + 1) * size))),
      );
      const written = { inserted: 0, replayed: 0, refused: [] as WrittenBatch["refused"], flushNeeded: null as bigint | null };
      let failure: unknown = null;
      for (const outcome of outcomes) {
        if (outcome.status === "rejected") {
          failure ??= outcome.reason;
          continue;
        }
        written.inserted += outcome.value.inserted;
        written.replayed += outcome.value.replayed;
        written.refused.push(...outcome.value.refused);
        const needed = outcome.value.flushNeeded;
        if (needed !== null && (written.flushNeeded === null || needed > written.flushNeeded)) written.flushNeeded = needed;
      }
      if (failure !== null) {
        // The shares that committed are stored: counted now, replayed (and not counted again) when the batch is sent again.
        this.counters.shipped += written.inserted;
        throw failure;
      }
      cleaner?.request(times);
      for (const { row, error } of written.refused) {
        this.event("error", `entry ${row.id} was refused by PostgreSQL and skipped: ${error.message}`, error);
      }
      this.counters.shipped += written.inserted;
      this.counters.replayed += written.replayed;
      this.counters.batches++;
      this.lastShippedAt = new Date().toISOString();
      let oldest = Number.POSITIVE_INFINITY;
      for (const row of batch.rows) if (row.ts < oldest) oldest = row.ts;
      this.lastBatchLagSeconds = Math.max(0, (Date.now() - oldest) / 1000);
      return { refused: written.refused.length, flushNeeded: written.flushNeeded };
    } finally {
      for (const connection of connections)
        if (connection === this.client || this.extraClients.includes(connection)) holdProcess(connection, this.options.holdProcess);
    }
  }

  // ---- status ----------------------------------------------------------------

  private async reportMaybe(): Promise<void> {
    if (!this.client || Date.now() - this.lastReport < this.options.reportIntervalMs) return;
    this.lastReport = Date.now();
    await this.report(this.client).catch((error) => {
      this.event("warning", `could not write the shipper status to ${this.names.shippers}: ${(error as Error).message}`);
    });
  }

  private async report(client: pg.Client): Promise<void> {
    for (const folder of this.folders) {
      if (!folder.active || !folder.journal) continue;
      const cursor = folder.journal.cursor.data;
      await client.query(`SELECT ${this.names.of("report_shipper")}($1, $2, $3, $4, $5, $6, $7, $8)`, [
        folder.lockKey,
        this.host,
        folder.logDir,
        cursor.shipped,
        cursor.skipped,
        folder.waiting,
        this.lagOf(folder, Date.now()).seconds,
        folder.backlog.bytes,
      ]);
    }
  }
}
