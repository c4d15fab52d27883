/**
 * What a reader may see: the tenants of a scoped API key. A source applies
 * it inside its query (an index filter, a SQL condition), so that pages,
 * totals, counts, stats, single entries and exports hold only entries in
 * scope. Trail cursors stay positions in the whole trail (what SSE's `after`
 * counts), so their gaps tell how many entries were written in all, not which.
 */
export interface TrailScope {
  /** Only entries whose `company_id` is one of these; an entry without company_id is out of scope. */
  readonly companyIds?: readonly string[];
}

/** Whether an entry is in scope (for what is pushed rather than queried: live streams, the hub's recent entries). */
export function inScope(entry: Record<string, unknown>, scope: TrailScope | undefined): boolean {
  const companies = scope?.companyIds;
  if (companies === undefined) return true;
  const company = entry.company_id;
  return typeof company === "string" && companies.includes(company);
}
