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
import type { ShipBacklog, ShipLag, ShipState, ShipStats } from "../api/shipping.js";
import { BatchWriter } from "./BatchWriter.js";
import { connectPostgres, describeTarget, holdProcess, type PostgresTarget, sqlState } from "./connect.js";
import type { RowDefaults } from "./copyRow.js";
import { Journal, type JournalBatch } from "./Journal.js";
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
  shipped: number;
  skipped: number;
  /** Lines waiting, and the entry time of the oldest (the lag in seconds is reckoned from it when asked). */
  waiting: number;
  oldestWaiting: number | null;
  backlog: ShipBacklog;
}

const STANDBY_RETRY_MS = 2000;
/** Batches one folder ships before the next folder gets its turn. */
const BATCHES_PER_TURN = 8;

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
  /** Writes batches over the current connection. */
  private writer: BatchWriter | null = null;
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
      if (this.lastIdlePass > after && this.folders.every((folder) => folder.waiting === 0 && folder.pending === null)) return true;
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

  private async connect(): Promise<void> {
    this.state = "connecting";
    const client = await connectPostgres(
      this.options.postgres,
      { applicationName: this.applicationName, statementTimeoutMillis: 5 * 60_000 },
      (error) => {
        if (this.client === client) this.lastError = error.message;
      },
    );
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
      this.writer = new BatchWriter(client, this.names, this.options.notify);
      if (this.lastError !== null) this.event("info", `connected to ${describeTarget(this.options.postgres)}`);
      this.lastError = null;
      // This month and the next exist before any batch needs them (making a partition locks the table a moment).
      await this.writer.ensurePartitions([Date.now(), Date.now() + 31 * 24 * 3600 * 1000]);
    } catch (error) {
      this.client = null;
      this.writer = null;
      await client.end().catch(() => undefined);
      throw error;
    }
  }

  private async disconnect(graceful: boolean): Promise<void> {
    const client = this.client;
    this.client = null;
    this.writer = null;
    for (const folder of this.folders) folder.active = false;
    if (!client) return;
    if (graceful) await this.report(client).catch(() => undefined);
    await client.end().catch(() => undefined);
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
      const cursor = new ShipCursor(folder.logDir, this.options.trail, storeId);
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
    const read = () => journal.next(this.options.batchRows, this.options.batchBytes);
    folder.pending ??= await read();
    for (let turn = 0; turn < BATCHES_PER_TURN && folder.pending && !this.closed; turn++) {
      const batch: JournalBatch = folder.pending;
      this.state = "shipping";
      // While PostgreSQL stores this batch, the next is read and parsed: the two cores work at once.
      const more = batch.rows.length === this.options.batchRows || batch.done;
      const next = more && turn + 1 < BATCHES_PER_TURN ? read() : null;
      try {
        // Rows PostgreSQL refused are skipped like malformed lines: counted, reported, never retried forever.
        batch.skipped += await this.store(batch);
      } catch (error) {
        // The batch stays pending; what was read after it is read again after it is stored.
        await next?.catch(() => null);
        await journal.rewind();
        throw error;
      }
      journal.commit(batch);
      folder.shipped += batch.rows.length;
      folder.skipped += batch.skipped;
      this.counters.skipped += batch.skipped;
      moved = true;
      folder.pending = next ? await next : null;
    }
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

  // ---- storing a batch -------------------------------------------------------

  /** Stores a batch; returns the rows PostgreSQL refused (skipped). */
  private async store(batch: JournalBatch): Promise<number> {
    if (batch.rows.length === 0) return 0;
    const client = this.client as pg.Client;
    holdProcess(client, true);
    try {
      const written = await (this.writer as BatchWriter).write(batch.rows);
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
      return written.refused.length;
    } finally {
      if (this.client === client) holdProcess(client, this.options.holdProcess);
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
