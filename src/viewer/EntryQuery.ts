import type { HubSource } from "../processors/AuditHub.js";
import { ViewerRequestError } from "./ViewerRequestError.js";

/** What an entry must match; absent fields do not filter. Text values are as given (matching rules live in the source). */
export interface EntryFilter {
  module?: string;
  level?: string;
  user?: string;
  action?: string;
  branchId?: string;
  companyId?: string;
  entityType?: string;
  entityId?: string;
  referenceNo?: string;
  requestId?: string;
  /** The entry's own `id` (not a query parameter: GET /api/entries/:id). */
  id?: string;
  success?: boolean;
  /** Inclusive bounds, epoch milliseconds. */
  from?: number;
  to?: number;
  /** Free text, matched case-insensitively (ASCII letters) anywhere in the entry's line. */
  q?: string;
}

export interface EntryQuery {
  source: HubSource;
  limit: number;
  offset: number;
  filter: EntryFilter;
}

export const MAX_PAGE_LIMIT = 500;
const MAX_PARAMETER_LENGTH = 1000;
const MAX_OFFSET = 1_000_000_000;

/** Query parameter -> EntryFilter field, for the exact-match text filters. */
const TEXT_FILTERS = {
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
} as const satisfies Record<string, keyof EntryFilter>;

type Query = Record<string, unknown>;

/** One string parameter; "" counts as absent (an empty form field). */
function text(query: Query, name: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new ViewerRequestError(`${name}: give the parameter once, as text`);
  if (value.length > MAX_PARAMETER_LENGTH) throw new ViewerRequestError(`${name}: longer than ${MAX_PARAMETER_LENGTH} characters`);
  return value.trim() === "" ? undefined : value;
}

function integer(query: Query, name: string, fallback: number, min: number, max: number): number {
  const value = text(query, name);
  if (value === undefined) return fallback;
  if (!/^\d{1,10}$/.test(value.trim())) throw new ViewerRequestError(`${name}: expected a whole number from ${min} to ${max}`);
  const number = Number(value.trim());
  if (number < min || number > max) throw new ViewerRequestError(`${name}: expected a whole number from ${min} to ${max}`);
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
    throw new ViewerRequestError(`${name}: expected an ISO 8601 date or date-time, e.g. 2026-06-28 or 2026-06-28T16:10:59+06:30`);
  return millis;
}

export function parseSource(query: Query): HubSource {
  const source = text(query, "source") ?? "audit";
  if (source !== "audit" && source !== "security") throw new ViewerRequestError('source: expected "audit" or "security"');
  return source;
}

export function parseLimit(query: Query, fallback = 50): number {
  return integer(query, "limit", fallback, 1, MAX_PAGE_LIMIT);
}

/** The filter parameters of /api/entries and /api/export. */
export function parseEntryFilter(query: Query): EntryFilter {
  const filter: EntryFilter = {};
  for (const [parameter, field] of Object.entries(TEXT_FILTERS)) {
    const value = text(query, parameter);
    if (value !== undefined) filter[field] = value;
  }
  const success = text(query, "success")?.trim().toLowerCase();
  if (success !== undefined) {
    if (success !== "true" && success !== "false") throw new ViewerRequestError('success: expected "true" or "false"');
    filter.success = success === "true";
  }
  const from = timeBound(query, "from");
  const to = timeBound(query, "to");
  if (from !== undefined) filter.from = from;
  if (to !== undefined) filter.to = to;
  if (from !== undefined && to !== undefined && from > to) throw new ViewerRequestError("from: must not be after to");
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
