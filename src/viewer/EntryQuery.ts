import type { HubSource } from "../processors/AuditHub.js";
import type { TextMatch } from "./FieldMatch.js";
import { IpRange } from "./IpRange.js";
import type { TrailScope } from "./TrailScope.js";
import { ViewerRequestError } from "./ViewerRequestError.js";

/**
 * What an entry must match: every field given, and within a field any of its
 * values. Absent fields do not filter. Plain data (strings, numbers,
 * booleans), so a source can hand it to another thread or turn it into SQL.
 */
export interface EntryFilter {
  /** Modules, levels, actions: the whole value, ignoring case. */
  module?: string[];
  level?: string[];
  action?: string[];
  /** Users, compared as `userMatch` says. */
  user?: string[];
  /** "contains" (default, as auditX: a case-insensitive substring) or "exact" (the whole value, ignoring case). */
  userMatch?: TextMatch;
  /** Branches, compared as `branchMatch` says. */
  branchId?: string[];
  /** "contains" (default, as auditX: a case-insensitive substring) or "exact" (the whole value, as written). */
  branchMatch?: TextMatch;
  /** Companies, entity types, entity ids, references, request ids: the whole value, as written. */
  companyId?: string[];
  entityType?: string[];
  entityId?: string[];
  referenceNo?: string[];
  requestId?: string[];
  /** The service that wrote the entry (`service`), and the host it ran on (`hostname`): the whole value, as written. */
  service?: string[];
  hostname?: string[];
  /** Client addresses (`ip`): each an address or a CIDR block, IPv4 or IPv6 (see IpRange). */
  ip?: string[];
  /** The entry's own `id` (not a query parameter: GET /api/entries/:id). */
  id?: string;
  success?: boolean;
  /** Inclusive bounds, epoch milliseconds. */
  from?: number;
  to?: number;
  /** Free text, matched case-insensitively (ASCII letters) anywhere in the entry's values (not its field names). */
  q?: string;
  /** The reader's scope (its API key's tenants): set by the viewer, never from a query parameter. */
  scope?: TrailScope;
}

export interface EntryQuery {
  source: HubSource;
  limit: number;
  offset: number;
  filter: EntryFilter;
}

/** Largest page of /api/entries, and its default (as auditX). */
export const MAX_PAGE_LIMIT = 5000;
export const DEFAULT_PAGE_LIMIT = 100;
const MAX_PARAMETER_LENGTH = 1000;
/** Values of one filter field (`module=sales,crm` gives two). */
const MAX_FILTER_VALUES = 100;
const MAX_OFFSET = 1_000_000_000;

/** Query parameter -> EntryFilter field, for the filters that take several values. */
const LIST_FILTERS = {
  module: "module",
  level: "level",
  user: "user",
  action: "action",
  branch_id: "branchId",
  company_id: "companyId",
  entity_type: "entityType",
  entity_id: "entityId",
  reference_no: "referenceNo",
  request_id: "requestId",
  ip: "ip",
  service: "service",
  hostname: "hostname",
} as const satisfies Record<string, keyof EntryFilter>;

type Query = Record<string, unknown>;

/** One string parameter; "" counts as absent (an empty form field). */
function text(query: Query, name: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new ViewerRequestError(`${name}: give the parameter once, as text`, 400, name, value);
  if (value.length > MAX_PARAMETER_LENGTH)
    throw new ViewerRequestError(`${name}: longer than ${MAX_PARAMETER_LENGTH} characters`, 400, name, value);
  return value.trim() === "" ? undefined : value;
}

/**
 * The values of a filter that takes several: comma-separated (`module=sales,crm`),
 * the parameter repeated, or both. Blank values are dropped; none left counts as absent.
 */
function list(query: Query, name: string): string[] | undefined {
  const raw = query[name];
  if (raw === undefined) return undefined;
  const parts = Array.isArray(raw) ? raw : [raw];
  const values = new Set<string>();
  for (const part of parts) {
    if (typeof part !== "string") throw new ViewerRequestError(`${name}: expected text`, 400, name, part);
    if (part.length > MAX_PARAMETER_LENGTH)
      throw new ViewerRequestError(`${name}: longer than ${MAX_PARAMETER_LENGTH} characters`, 400, name, part);
    for (const value of part.split(",")) if (value.trim() !== "") values.add(value.trim());
  }
  if (values.size > MAX_FILTER_VALUES) throw new ViewerRequestError(`${name}: at most ${MAX_FILTER_VALUES} values`, 400, name, raw);
  return values.size === 0 ? undefined : [...values];
}

function matchMode(query: Query, name: string): TextMatch | undefined {
  const value = text(query, name)?.trim().toLowerCase();
  if (value === undefined) return undefined;
  if (value !== "exact" && value !== "contains") throw new ViewerRequestError(`${name}: expected "exact" or "contains"`, 400, name, value);
  return value;
}

function integer(query: Query, name: string, fallback: number, min: number, max: number): number {
  const value = text(query, name);
  if (value === undefined) return fallback;
  const number = /^\d{1,10}$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!(number >= min && number <= max))
    throw new ViewerRequestError(`${name}: expected a whole number from ${min} to ${max}`, 400, name, value);
  return number;
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * An ISO 8601 bound. A date alone means that local day: its start for `from`,
 * its end for `to`. A date-time without offset is local time.
 */
function timeBound(query: Query, name: "from" | "to"): number | undefined {
  const value = text(query, name)?.trim();
  if (value === undefined) return undefined;
  const date = ISO_DATE.exec(value);
  let millis = Number.NaN;
  if (date) {
    const [year, month, day] = [Number(date[1]), Number(date[2]) - 1, Number(date[3])];
    const start = new Date(year, month, day);
    if (start.getMonth() === month && start.getDate() === day) {
      millis = name === "from" ? start.getTime() : new Date(year, month, day + 1).getTime() - 1;
    }
  } else if (ISO_DATE_TIME.test(value)) {
    let normalized = value.replace(" ", "T");
    if (/[+-]\d{4}$/.test(normalized)) normalized = `${normalized.slice(0, -2)}:${normalized.slice(-2)}`;
    // Keep at most milliseconds: Date.parse's handling of longer fractions is engine-specific.
    normalized = normalized.replace(/(\.\d{3})\d+/, "$1");
    millis = Date.parse(normalized);
  }
  if (!Number.isFinite(millis))
    throw new ViewerRequestError(
      `${name}: expected an ISO 8601 date or date-time, e.g. 2026-06-28 or 2026-06-28T16:10:59+06:30`,
      400,
      name,
      value,
    );
  return millis;
}

export function parseSource(query: Query): HubSource {
  const source = text(query, "source") ?? "audit";
  if (source !== "audit" && source !== "security")
    throw new ViewerRequestError('source: expected "audit" or "security"', 400, "source", source);
  return source;
}

export function parseLimit(query: Query, fallback = DEFAULT_PAGE_LIMIT, max = MAX_PAGE_LIMIT): number {
  return integer(query, "limit", fallback, 1, max);
}

/** A whole-number parameter within bounds. */
export function parseInteger(query: Query, name: string, fallback: number, min: number, max: number): number {
  return integer(query, name, fallback, min, max);
}

/** The filter parameters of /api/entries and /api/export. */
export function parseEntryFilter(query: Query): EntryFilter {
  const filter: EntryFilter = {};
  for (const [parameter, field] of Object.entries(LIST_FILTERS)) {
    const values = list(query, parameter);
    if (values !== undefined) filter[field] = values;
  }
  for (const value of filter.ip ?? []) {
    if (!IpRange.parse(value))
      throw new ViewerRequestError(`ip: expected an IP address or a CIDR block such as 10.1.0.0/16, got "${value}"`, 400, "ip", value);
  }
  const userMatch = matchMode(query, "user_match");
  const branchMatch = matchMode(query, "branch_id_match");
  if (userMatch !== undefined) filter.userMatch = userMatch;
  if (branchMatch !== undefined) filter.branchMatch = branchMatch;
  const success = text(query, "success")?.trim().toLowerCase();
  if (success !== undefined) {
    if (success !== "true" && success !== "false")
      throw new ViewerRequestError('success: expected "true" or "false"', 400, "success", success);
    filter.success = success === "true";
  }
  const from = timeBound(query, "from");
  const to = timeBound(query, "to");
  if (from !== undefined) filter.from = from;
  if (to !== undefined) filter.to = to;
  if (from !== undefined && to !== undefined && from > to)
    throw new ViewerRequestError("from: must not be after to", 400, "from", query.from);
  const q = text(query, "q")?.trim();
  if (q !== undefined) filter.q = q;
  return filter;
}

/** /api/entries: source, page and filter. */
export function parseEntryQuery(query: Query): EntryQuery {
  return {
    source: parseSource(query),
    limit: parseLimit(query),
    offset: integer(query, "offset", 0, 0, MAX_OFFSET),
    filter: parseEntryFilter(query),
  };
}
