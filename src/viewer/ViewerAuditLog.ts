/**
 * The viewer's own trail of who read what (PCI DSS 10.2.1.3): list and search
 * requests (one entry per distinct query per reader and client per minute),
 * single entries, entity histories, every export with its filters and row
 * count, every refused key, with brute-force detection on the key. Entries
 * are auditx's own (src/api/selfEntries): SECURITY, entity "auditx"/"viewer",
 * the reader's key id as user, never the key. Writing them never fails a
 * request: a failure is counted.
 */
import { RateLimiter } from "../api/RateLimiter.js";
import { type SelfEntryWriter, writeSelfEntry } from "../api/selfEntries.js";
import { AuditAction, LogLevel } from "../entry/enums.js";
import type { Reader } from "./ApiKeyGuard.js";

/** Who a refused request was from, as the trail records it. */
const UNAUTHENTICATED: Reader = Object.freeze({ id: "unauthenticated", scope: {}, sources: new Set<TrailName>() });

import type { EntryFilter } from "./EntryQuery.js";
import type { TrailName } from "./TrailSource.js";

/** Refused keys allowed per client address in a window before it is blocked and a CRITICAL entry is written. */
export interface KeyFailureLimit {
  /** Default 10. */
  maxAttempts?: number;
  /** Default 300 000 (five minutes). */
  windowMs?: number;
}

/** How long one distinct query of one reader and client is written once. */
const COALESCE_MS = 60_000;
/** Distinct queries remembered for coalescing; the oldest are forgotten first. */
const COALESCE_LIMIT = 10_000;

/** Who asked, from where, by which route: the request side of every entry. */
export interface ReadRequest {
  reader: Reader;
  client: string;
  path: string;
}

/** A filter as written in an entry: its query parameter names, no scope (the key's id tells it). */
function filterText(filter: EntryFilter): Record<string, unknown> {
  const shown: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(filter)) {
    if (name === "scope" || value === undefined) continue;
    shown[name] = name === "from" || name === "to" ? new Date(value as number).toISOString() : value;
  }
  return shown;
}

export class ViewerAuditLog {
  /** Entries that could not be written. */
  errors = 0;
  private readonly recent = new Map<string, number>();
  private readonly alerted = new Set<string>();
  private readonly failures: RateLimiter;

  constructor(
    private readonly writer: SelfEntryWriter | null,
    limit: KeyFailureLimit = {},
  ) {
    this.failures = new RateLimiter({
      maxAttempts: Math.max(1, Math.floor(limit.maxAttempts ?? 10)),
      windowMs: Math.max(1000, Math.floor(limit.windowMs ?? 300_000)),
      maxKeys: 10_000,
    });
  }

  get enabled(): boolean {
    return this.writer !== null;
  }

  /** The viewer started: who may read (key ids and scopes, never keys), and on which hosts. */
  started(metadata: Record<string, unknown>): void {
    this.write({ action: "START", description: "auditx viewer started", metadata });
  }

  stopped(): void {
    this.write({ action: "STOP", description: "auditx viewer stopped" });
  }

  /** A page of entries (a list, a search or an entity's history), once per distinct query per minute. */
  listed(request: ReadRequest, source: TrailName, filter: EntryFilter, total: number): void {
    const shown = filterText(filter);
    if (!this.firstInMinute(JSON.stringify([request.reader.id, request.client, source, shown]))) return;
    const history = filter.entityType !== undefined && filter.entityId !== undefined;
    const what = history
      ? `the history of ${filter.entityType} ${filter.entityId}`
      : Object.keys(shown).length > 0
        ? `${source} entries matching ${Object.keys(shown).join(", ")}`
        : `${source} entries`;
    this.write({
      request,
      action: AuditAction.READ,
      description: `Viewer: ${request.reader.id} read ${what} (${total} found)`,
      metadata: { source, filter: shown, total, view: history ? "entity history" : "list" },
    });
  }

  /** One entry opened by its id. */
  opened(request: ReadRequest, source: TrailName, id: string, found: boolean): void {
    this.write({
      request,
      action: AuditAction.READ,
      description: `Viewer: ${request.reader.id} opened ${source} entry ${id}${found ? "" : " (not found)"}`,
      metadata: { source, id, found, view: "entry" },
    });
  }

  /** An export, when it ended: its filters, format and the rows sent. */
  exported(request: ReadRequest, source: TrailName, filter: EntryFilter, format: string, rows: number, completed: boolean): void {
    this.write({
      request,
      action: AuditAction.EXPORT,
      description: `Viewer: ${request.reader.id} exported ${rows} ${source} entries as ${format}${completed ? "" : " (cut short by the client)"}`,
      metadata: { source, filter: filterText(filter), format, rows, completed },
    });
  }

  /** Whether a client has been refused so often that it is blocked for now; when so, the seconds until it may try again. */
  blocked(client: string): number {
    const now = Date.now();
    if (this.failures.peek(client, now) < this.failures.maxAttempts) return 0;
    return Math.max(1, Math.ceil((this.failures.windowEnd(client, now) - now) / 1000));
  }

  /**
   * A refused request: a wrong key (counted per client: past the limit the
   * client is blocked and a CRITICAL entry says so), or none where one is
   * required (written once per client per minute: not a guess at the key).
   */
  refused(client: string, path: string, presented: boolean): void {
    const request: ReadRequest = { reader: UNAUTHENTICATED, client, path };
    if (!presented) {
      if (!this.firstInMinute(JSON.stringify(["no key", client]))) return;
      this.write({
        request,
        action: AuditAction.LOGIN,
        success: false,
        description: `Viewer refused a request from ${client} without an API key`,
        metadata: { reason: "no API key" },
      });
      return;
    }
    const attempts = this.failures.hit(client);
    const reason = "a wrong API key";
    if (attempts.count < this.failures.maxAttempts) {
      this.write({
        request,
        action: AuditAction.LOGIN,
        success: false,
        description: `Viewer refused a request from ${client} with ${reason}`,
        metadata: { reason, failed_attempts: attempts.count, window_seconds: this.failures.windowMs / 1000 },
      });
      return;
    }
    // One CRITICAL entry per window: the window's start tells them apart.
    const alert = `${client}\u0000${attempts.windowStart}`;
    if (this.alerted.has(alert)) return;
    this.alerted.add(alert);
    if (this.alerted.size > COALESCE_LIMIT) this.alerted.delete(this.alerted.values().next().value!);
    this.write({
      request,
      action: AuditAction.LOGIN,
      success: false,
      level: LogLevel.CRITICAL,
      description: `Brute-force suspected against the viewer's API key: ${attempts.count} refused requests from ${client}; blocked for the rest of the window`,
      metadata: { reason, failed_attempts: attempts.count, window_seconds: this.failures.windowMs / 1000, brute_force: true },
    });
  }

  /** True for the first of equal events within a minute (bounded memory: the oldest are forgotten first). */
  private firstInMinute(key: string): boolean {
    const now = Date.now();
    const until = this.recent.get(key);
    if (until !== undefined && until > now) return false;
    this.recent.delete(key);
    this.recent.set(key, now + COALESCE_MS);
    while (this.recent.size > COALESCE_LIMIT) this.recent.delete(this.recent.keys().next().value!);
    return true;
  }

  private write(entry: {
    request?: ReadRequest;
    action: string;
    description: string;
    metadata?: Record<string, unknown>;
    level?: LogLevel;
    success?: boolean;
  }): void {
    if (!this.writer) return;
    try {
      writeSelfEntry(this.writer, {
        action: entry.action,
        component: "viewer",
        description: entry.description,
        metadata: entry.request
          ? { ...entry.metadata, client: entry.request.client, scope: scopeOf(entry.request.reader) }
          : entry.metadata,
        level: entry.level,
        success: entry.success,
        user: entry.request?.reader.id,
        ip: entry.request?.client,
        method: entry.request ? "GET" : undefined,
        endpoint: entry.request?.path,
      });
    } catch {
      this.errors++;
    }
  }
}

function scopeOf(reader: Reader): Record<string, unknown> | undefined {
  if (!reader.scope) return undefined;
  const scope: Record<string, unknown> = {};
  if (reader.scope.companyIds) scope.companies = [...reader.scope.companyIds];
  if (reader.sources && reader.sources.size < 2) scope.sources = [...reader.sources];
  return Object.keys(scope).length > 0 ? scope : undefined;
}
