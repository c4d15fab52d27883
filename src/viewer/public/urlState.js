// What the page shows lives in its address: every filter, the trail, the page,
// the open entry, the view and the time zone. Links can be shared, and back and
// forward step through what was looked at. Filter parameters have the REST
// API's names, so an address's query also works against /api/entries.

export const LIST_FILTERS = ["user", "module", "level", "action", "branch_id", "ip", "service", "hostname"];
export const TEXT_FILTERS = ["q", "user_match", "branch_id_match", "success", "from", "to"];
export const DEFAULT_LIMIT = 50;

export function emptyFilters() {
  const filters = {};
  for (const name of LIST_FILTERS) filters[name] = [];
  for (const name of TEXT_FILTERS) filters[name] = "";
  return filters;
}

/** The values of a list parameter: comma-separated, repeated, or both. */
function listOf(params, name) {
  return [
    ...new Set(
      params
        .getAll(name)
        .flatMap((value) => value.split(","))
        .map((value) => value.trim())
        .filter(Boolean),
    ),
  ];
}

/** The view an address describes. */
export function readAddress(search) {
  const params = new URLSearchParams(search);
  const filters = emptyFilters();
  for (const name of LIST_FILTERS) filters[name] = listOf(params, name);
  for (const name of TEXT_FILTERS) filters[name] = (params.get(name) ?? "").trim();
  const type = params.get("entity_type");
  const id = params.get("entity_id");
  const limit = Number(params.get("limit"));
  const offset = Number(params.get("offset"));
  return {
    source: params.get("source") === "security" ? "security" : "audit",
    filters,
    entity: type !== null && id !== null ? { type, id } : null,
    view: params.get("view") === "timeline" ? "timeline" : "table",
    limit: Number.isInteger(limit) && limit > 0 && limit <= 5000 ? limit : DEFAULT_LIMIT,
    offset: Number.isInteger(offset) && offset > 0 ? offset : 0,
    entry: params.get("entry") || null,
    tz: params.get("tz") || null,
  };
}

/** The filter parameters of a view (for the API and the address). */
export function filterParams(view) {
  const params = [["source", view.source]];
  for (const name of LIST_FILTERS) if (view.filters[name].length > 0) params.push([name, view.filters[name].join(",")]);
  for (const name of TEXT_FILTERS) if (view.filters[name]) params.push([name, view.filters[name]]);
  if (view.entity) params.push(["entity_type", view.entity.type], ["entity_id", view.entity.id]);
  return params;
}

/** The address of a view: only what differs from the defaults. */
export function writeAddress(view) {
  const params = new URLSearchParams(filterParams(view).filter(([name, value]) => !(name === "source" && value === "audit")));
  if (view.view === "timeline") params.set("view", "timeline");
  if (view.limit !== DEFAULT_LIMIT) params.set("limit", String(view.limit));
  if (view.offset > 0) params.set("offset", String(view.offset));
  if (view.entry) params.set("entry", view.entry);
  if (view.tz && view.tz !== "written") params.set("tz", view.tz);
  const query = params.toString().replaceAll("%2C", ",");
  return query ? `?${query}` : location.pathname;
}
