/**
 * Shipping the trail into a PostgreSQL store, as the logger sees it: the
 * resolved settings, the status `logger.stats().ship` reports, and the slot
 * through which the store (a floor above) provides the shipper. The logger
 * never waits for it: the shipper reads the trail files in the background.
 */
import { AuditConfigError } from "../entry/errors.js";

/** node-postgres client settings (host, port, user, password, database, ssl, ...); unset ones come from the PG* variables. */
export interface PostgresClientSettings {
  connectionString?: string;
  host?: string;
  port?: number;
  user?: string;
  password?: string | (() => string | Promise<string>);
  database?: string;
  ssl?: boolean | Record<string, unknown>;
  [setting: string]: unknown;
}

export interface ShipOptions {
  /** The store: a postgresql:// URL, or node-postgres settings. */
  postgres: string | PostgresClientSettings;
  /** Schema of the store (default "auditx"). */
  schema?: string;
  /** Create the store on first use when it is missing and the role may (default true). */
  initSchema?: boolean;
  /** Most lines per COPY (default 10,000). */
  batchRows?: number;
  /** How often the trail is looked at for new lines (default 200 ms). */
  pollIntervalMs?: number;
  /** Connections that store each batch at once, a share of its rows each (default 2; at most 16). */
  connections?: number;
  /** Merge the free-text index's new entries on a connection of its own while the next batch is stored (default true). */
  cleanSearchIndex?: boolean;
  /**
   * Each batch's COMMIT waits for the server's disk (and synchronous
   * standbys) as its synchronous_commit says (default false: the batch's
   * commit does not wait, and the shipping cursor moves past it only once the
   * server's WAL is on disk past it, so a server crash loses nothing). Set it
   * where the store fails over to a synchronous standby.
   */
  synchronousCommit?: boolean;
  /** How long shutdown() keeps shipping what is left before it lets go (default 2000 ms); the rest waits in the trail. */
  drainMs?: number;
}

export interface ShipSettings {
  postgres: string | PostgresClientSettings;
  schema: string | undefined;
  initSchema: boolean;
  batchRows: number | undefined;
  pollIntervalMs: number | undefined;
  connections: number | undefined;
  cleanSearchIndex: boolean;
  synchronousCommit: boolean;
  drainMs: number;
}

export type ShipState = "starting" | "connecting" | "shipping" | "idle" | "standby" | "retrying" | "closed";

export interface ShipLag {
  /** Lines in the trail not yet in the store. */
  records: number;
  /** Age of the oldest of them (0 when there is none). */
  seconds: number;
}

export interface ShipBacklog {
  /** Bytes of the trail not yet shipped, and the segments they are in. */
  bytes: number;
  segments: number;
}

export interface ShipFolderStats {
  logDir: string;
  /** Whether this shipper ships the folder, or stands by while another process's shipper does. */
  active: boolean;
  shipped: number;
  skipped: number;
  lag: ShipLag;
  backlog: ShipBacklog;
}

/** What a shipper reports: `logger.stats().ship`, and `auditx ship`'s status lines. */
export interface ShipStats {
  state: ShipState;
  /** Where the store is (password hidden). */
  target: string;
  storeId: string | null;
  /** Rows stored by this shipper since it started. */
  shipped: number;
  /** Lines skipped since start: malformed, torn, too long, or refused by PostgreSQL as data. */
  skipped: number;
  /** Rows sent again after a crash or restart and ignored because the store had them. */
  replayed: number;
  batches: number;
  lag: ShipLag;
  backlog: ShipBacklog;
  /** Seconds from the oldest entry of the last batch to its COMMIT. */
  lastBatchLagSeconds: number | null;
  lastShippedAt: string | null;
  lastError: string | null;
  folders: ShipFolderStats[];
}

/** A running shipper, as the pipeline holds it. */
export interface TrailShipper {
  stats(): ShipStats;
  /** Ships what is left for at most `drainMs` (when the store answers), then stops. */
  close(drainMs: number): Promise<void>;
}

export interface TrailShipperContext {
  logDir: string;
  /** File name of the trail to ship (audit.jsonl). */
  trail: string;
  hostname: string;
  /** Failures and notices, for app.log. */
  report(level: "error" | "warning" | "info", message: string): void;
}

export type TrailShipperFactory = (settings: ShipSettings, context: TrailShipperContext) => TrailShipper;

let factory: TrailShipperFactory | null = null;

/** Called by the store module when it loads (importing "auditx" loads it). */
export function provideTrailShipper(create: TrailShipperFactory): void {
  factory = create;
}

export function startTrailShipper(settings: ShipSettings, context: TrailShipperContext): TrailShipper {
  if (!factory) throw new AuditConfigError('ship: the PostgreSQL shipper is not loaded; import the logger from "auditx"');
  return factory(settings, context);
}

function positive(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new AuditConfigError(`ship.${name} must be a number > 0, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** The most connections a shipper stores a batch over (each is a PostgreSQL backend). */
export const MAX_SHIP_CONNECTIONS = 16;

function connectionCount(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > MAX_SHIP_CONNECTIONS) {
    throw new AuditConfigError(`ship.connections must be a whole number from 1 to ${MAX_SHIP_CONNECTIONS}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function flag(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new AuditConfigError(`ship.${name} must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

/** Validates `ship` and applies its defaults; null when shipping is off. */
export function resolveShipSettings(options: ShipOptions | undefined): ShipSettings | null {
  if (options === undefined) return null;
  if (options === null || typeof options !== "object") throw new AuditConfigError("ship must be an object: { postgres: URL }");
  const { postgres } = options;
  const validTarget = (typeof postgres === "string" && postgres.trim() !== "") || (postgres !== null && typeof postgres === "object");
  if (!validTarget) throw new AuditConfigError("ship.postgres must be a postgresql:// URL or node-postgres settings");
  if (options.schema !== undefined && (typeof options.schema !== "string" || !/^[a-z_][a-z0-9_]{0,40}$/.test(options.schema))) {
    throw new AuditConfigError(`ship.schema must be a lowercase SQL name, got ${JSON.stringify(options.schema)}`);
  }
  const drainMs = options.drainMs === undefined ? 2000 : options.drainMs;
  if (typeof drainMs !== "number" || !Number.isFinite(drainMs) || drainMs < 0) {
    throw new AuditConfigError(`ship.drainMs must be a number >= 0, got ${JSON.stringify(options.drainMs)}`);
  }
  return Object.freeze({
    postgres,
    schema: options.schema,
    initSchema: options.initSchema ?? true,
    batchRows: positive("batchRows", options.batchRows),
    pollIntervalMs: positive("pollIntervalMs", options.pollIntervalMs),
    connections: connectionCount(options.connections),
    cleanSearchIndex: flag("cleanSearchIndex", options.cleanSearchIndex, true),
    synchronousCommit: flag("synchronousCommit", options.synchronousCommit, false),
    drainMs,
  });
}
