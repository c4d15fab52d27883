// auditx viewer: one page, no framework, no build step. What it shows lives in
// its address (urlState.js); entries arrive live (live.js); every time is shown
// in the chosen zone (zone.js); log content is only ever set as text (dom.js).

import { apiKey, apiUrl, detailMessage, getJson, HttpError } from "./api.js";
import { hideDetail, renderDetail } from "./detail.js";
import { $, clear, debounce, el } from "./dom.js";
import { formatCount } from "./format.js";
import { Histogram } from "./histogram.js";
import { ipRange } from "./ip.js";
import { LiveConnection } from "./live.js";
import { matchesView } from "./match.js";
import { MultiSelect } from "./multiSelect.js";
import { buildChangesRow, buildRow, buildTimelineItem } from "./rows.js";
import { DEFAULT_LIMIT, emptyFilters, filterParams, readAddress, writeAddress } from "./urlState.js";
import { versionChanges } from "./versions.js";
import {
  dayOf,
  formatMillis,
  formatTimestamp,
  getZone,
  inputMillis,
  inputValue,
  learnWrittenOffset,
  offsetAt,
  setZone,
  ZONES,
  zoneLabel,
  zoneShortLabel,
} from "./zone.js";

const LEVELS = ["DEBUG", "INFO", "NORMAL", "AUDIT", "WARNING", "ERROR", "SECURITY", "CRITICAL"];
const MODULES = ["auth", "sales", "purchase", "inventory", "accounting", "service", "crm", "hr", "reporting", "system"];
const ACTIONS = [
  "CREATE",
  "READ",
  "UPDATE",
  "DELETE",
  "APPROVE",
  "REJECT",
  "VOID",
  "POST",
  "PAYMENT",
  "REFUND",
  "TRANSFER",
  "ADJUST",
  "LOGIN",
  "LOGOUT",
  "EXPORT",
  "IMPORT",
];
const HIGHLIGHT_MS = 4000;
const LIVE_BATCH_MS = 100;
/** How often the page reads the trail again by itself while no live connection works. */
const OFFLINE_REFRESH_MS = 10_000;
/** Extra entries read in an entity's history, so the oldest row of a page has versions before it to compare with. */
const HISTORY_CONTEXT = 50;
const ZONE_STORAGE = "auditx.viewer.tz";

const state = {
  ...readAddress(location.search),
  total: 0,
  partial: false,
  items: [],
  changes: null, // entity history: entry -> changes from the previous version
  stats: null,
  selected: null, // the entry shown in the detail panel
  entryFromLink: false, // the open entry came with the address: shown even when the list does not hold it
  pendingNew: 0, // live entries not drawn (not on the first page, an entry open, a history or timeline view)
  seen: new Set(), // signatures of rows on screen, so a live entry is never shown twice
  realtime: true,
  refreshedAt: 0,
};
state.entryFromLink = state.entry !== null;

// ---------- errors ----------

function showBanner(message, kind = "error") {
  const banner = $("banner");
  banner.textContent = message;
  banner.dataset.kind = kind;
  banner.hidden = false;
}

function hideBanner() {
  $("banner").hidden = true;
}

function reportError(error) {
  if (error instanceof HttpError && error.status === 401) {
    showBanner("Not authorised: open the viewer with ?api_key=YOUR_KEY in the address, or send the X-API-Key header.");
  } else if (error instanceof HttpError && error.status === 400) {
    showBanner(`Filter not accepted: ${error.message}`, "warn");
  } else {
    showBanner(`Could not load: ${error instanceof Error ? error.message : String(error)}`);
  }
}

// ---------- the address ----------

const view = () => ({
  source: state.source,
  filters: state.filters,
  entity: state.entity,
  view: state.view,
  limit: state.limit,
  offset: state.offset,
  entry: state.entry,
  tz: getZone(),
});

let lastTyped = null;
/**
 * Writes the view into the address: a new history entry (back returns to the
 * previous view), or, while one text field is being typed in, the same one.
 */
function commitAddress(typedField = null) {
  const next = writeAddress(view());
  if (next === (location.search || location.pathname)) return;
  if (typedField !== null && typedField === lastTyped) history.replaceState(null, "", next);
  else history.pushState(null, "", next);
  lastTyped = typedField;
}

function applyAddress() {
  Object.assign(state, readAddress(location.search));
  state.entryFromLink = state.entry !== null;
  if (state.tz) setZone(state.tz);
  lastTyped = null;
  renderAll();
  void loadView();
}

// ---------- loading ----------

function entryParams() {
  const params = filterParams(view());
  const limit = state.entity ? Math.min(5000, state.limit + HISTORY_CONTEXT) : state.limit;
  params.push(["limit", String(limit)], ["offset", String(state.offset)]);
  return params;
}

let loadSequence = 0;
async function loadEntries() {
  const sequence = ++loadSequence;
  document.body.classList.add("is-loading");
  try {
    const page = await getJson("api/entries", entryParams());
    if (sequence !== loadSequence) return; // a newer request superseded this one
    hideBanner();
    const items = Array.isArray(page.items) ? page.items : [];
    state.items = items.slice(0, state.limit);
    state.changes = state.entity ? versionChanges(items) : null;
    state.total = typeof page.total === "number" ? page.total : state.items.length;
    state.partial = page.partial === true;
    state.pendingNew = 0;
    if (state.items.length > 0) learnWrittenOffset(state.items[0].timestamp, true);
    renderZone();
    renderNewBar();
    renderEntries();
    renderMatching();
    await syncDetail();
  } catch (error) {
    if (sequence === loadSequence) reportError(error);
  } finally {
    if (sequence === loadSequence) document.body.classList.remove("is-loading");
  }
}

let histogramSequence = 0;
async function loadHistogram() {
  const sequence = ++histogramSequence;
  const width = $("histogram-bars").clientWidth || 600;
  const buckets = Math.max(12, Math.min(96, Math.floor(width / 14)));
  const params = filterParams(view());
  params.push(["buckets", String(buckets)], ["tz_offset", String(offsetAt(Date.now()))]);
  try {
    const histogram = await getJson("api/histogram", params);
    if (sequence === histogramSequence) histogramView.render(histogram);
  } catch {
    // the table reports the error
  }
}

let wasIndexing = false;
let indexingTimer = null;
async function loadStats() {
  try {
    state.stats = await getJson("api/stats");
    const latest = state.stats?.audit?.latest_timestamp;
    if (typeof latest === "string") learnWrittenOffset(latest);
    renderStats();
    renderZone();
    const indexing = Boolean(state.stats.audit?.partial || state.stats.security?.partial);
    // Follow the index build: the figures every second, and the view once more when it is done.
    if (indexing && !indexingTimer) {
      indexingTimer = setTimeout(() => {
        indexingTimer = null;
        void loadStats();
      }, 1000);
    } else if (!indexing && wasIndexing) void loadView();
    wasIndexing = indexing;
  } catch (error) {
    reportError(error);
  }
}

async function loadView() {
  await Promise.all([loadEntries(), loadHistogram()]);
}

async function refreshNow() {
  await Promise.all([loadStats(), loadView()]);
  state.refreshedAt = Date.now();
  renderRefreshed();
}

let statsTimer = null;
function scheduleStatsRefresh() {
  if (statsTimer) return;
  statsTimer = setTimeout(() => {
    statsTimer = null;
    void loadStats();
    void loadHistogram();
  }, 1500);
}

// ---------- header ----------

function sourceStats(source) {
  return state.stats?.[source] || {};
}

function renderStats() {
  const stats = state.stats || {};
  const shown = sourceStats(state.source);
  if (typeof stats.log_dir === "string") {
    $("log-dir").textContent = stats.log_dir;
    $("log-dir").title = `Trail folder: ${stats.log_dir}`;
  }
  // The cards follow the tab: the security trail's figures on the Security tab.
  $("stat-total-label").textContent = state.source === "security" ? "Security events" : "Entries";
  // While indexing, counts cover what is indexed so far: shown with a "+".
  const partialCount = (trail, value) => `${formatCount(value)}${trail.partial && typeof value === "number" ? "+" : ""}`;
  $("stat-total").textContent = partialCount(shown, shown.total);
  $("stat-failures").textContent = partialCount(shown, shown.failures);
  for (const id of ["stat-total", "stat-failures"]) $(id).classList.toggle("is-partial", Boolean(shown.partial));
  renderIndexing(sourceStats("audit"), sourceStats("security"));
  const latest = shown.latest_timestamp;
  $("stat-latest").textContent = latest ? formatTimestamp(latest) : "–";
  $("stat-latest").title = latest ? `${latest} (shown ${zoneLabel()})` : "";
  for (const source of ["audit", "security"]) {
    const trail = sourceStats(source);
    $(`count-${source}`).textContent = typeof trail.total === "number" ? partialCount(trail, trail.total) : "";
  }

  const modules = Object.entries(shown.modules || {}).sort((a, b) => b[1] - a[1]);
  const bars = $("stat-modules");
  clear(bars);
  const top = modules.slice(0, 4);
  const max = top.length ? top[0][1] : 0;
  for (const [name, count] of top) {
    const bar = el("span", "mbar");
    bar.title = `${name}: ${count}`;
    bar.appendChild(el("span", "mbar-name", name || "—"));
    const track = el("span", "mbar-track");
    const fill = el("span", "mbar-fill");
    fill.style.width = `${max ? Math.max(4, Math.round((count / max) * 100)) : 0}%`; // CSSOM, allowed by the CSP
    track.appendChild(fill);
    bar.appendChild(track);
    bar.appendChild(el("span", "mbar-count", formatCount(count)));
    bars.appendChild(bar);
  }
  if (typeof shown.malformed === "number" && shown.malformed > 0) {
    bars.appendChild(el("span", "malformed", `${formatCount(shown.malformed)} malformed line${shown.malformed === 1 ? "" : "s"} skipped`));
  }
  multiSelects.module.addOptions(modules.map(([name]) => name));
  multiSelects.level.addOptions(Object.keys(shown.levels || {}));
}

// The progress of the index build (bytes of the trail's files read), shown until it is done.
function renderIndexing(audit, security) {
  const box = $("indexing");
  const trails = [audit, security].filter((trail) => trail.partial && trail.indexing);
  box.hidden = trails.length === 0;
  if (trails.length === 0) return;
  const done = trails.reduce((sum, trail) => sum + (trail.indexing.done || 0), 0);
  const total = trails.reduce((sum, trail) => sum + (trail.indexing.total || 0), 0);
  const percent = total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 0;
  $("indexing-progress").value = percent;
  $("indexing-text").textContent = `${percent}% — counts so far, newest entries first`;
}

function renderMatching() {
  $("stat-matching").textContent = `${formatCount(state.total)}${state.partial ? "+" : ""}`;
}

function renderRefreshed() {
  $("pager-refreshed").textContent = state.refreshedAt ? `read ${formatMillis(state.refreshedAt).slice(11)}` : "";
}

function renderZone() {
  $("tz").value = getZone();
  renderChips(); // the time range chip shows its bounds in the zone
  $("th-time").textContent = "";
  $("th-time").append("Time ", el("span", "th-zone", zoneShortLabel()));
  $("th-time").title = `Times ${zoneLabel()}`;
  for (const hint of document.querySelectorAll(".tz-hint")) hint.textContent = `(${zoneLabel()})`;
}

// ---------- entries ----------

const rowContext = {
  onSelect: (entry, node) => selectEntry(entry, node),
  onEntity: (entity) => showEntityHistory(entity),
  onUser: (user) => showTimeline(user),
};

const signature = (entry) => (typeof entry.id === "string" ? entry.id : JSON.stringify(entry));

function renderEntries() {
  const timeline = state.view === "timeline";
  $("table-wrap").hidden = timeline;
  $("timeline").hidden = !timeline;
  state.seen.clear();
  for (const entry of state.items) state.seen.add(signature(entry));
  if (timeline) renderTimeline();
  else renderRows();
  $("empty").hidden = state.items.length > 0;
  renderPager();
}

function renderRows() {
  const body = $("rows");
  clear(body);
  const fragment = document.createDocumentFragment();
  for (const entry of state.items) {
    const row = buildRow(entry, rowContext);
    if (state.selected && signature(state.selected) === signature(entry)) row.classList.add("is-selected");
    fragment.appendChild(row);
    const changes = state.changes?.get(entry);
    if (changes) {
      row.classList.add("has-changes");
      fragment.appendChild(buildChangesRow(changes));
    }
  }
  body.appendChild(fragment);
}

// A user's activity: their entries grouped by day (in the shown zone), newest first.
function renderTimeline() {
  const list = $("timeline");
  clear(list);
  let day = null;
  let group = null;
  for (const entry of state.items) {
    const entryDay = dayOf(entry.timestamp);
    if (entryDay !== day) {
      day = entryDay;
      const heading = el("li", "tl-day");
      heading.appendChild(el("h3", null, day || "no time"));
      group = el("ol", "tl-group");
      heading.appendChild(group);
      list.appendChild(heading);
    }
    const item = buildTimelineItem(entry, rowContext);
    if (state.selected && signature(state.selected) === signature(entry)) item.classList.add("is-selected");
    group.appendChild(item);
  }
}

function renderPager() {
  const first = state.total === 0 ? 0 : state.offset + 1;
  const last = Math.min(state.offset + state.items.length, state.total);
  // A partial total is a lower bound: the trail is still being indexed, or a large store counted matches only up to a limit.
  const indexing = state.partial && Boolean(sourceStats(state.source).indexing);
  const more = state.partial ? (indexing ? "+ (indexing…)" : "+") : "";
  $("pager-range").textContent =
    state.total === 0
      ? `0 entries${state.partial ? " so far (indexing…)" : ""}`
      : `${formatCount(first)}–${formatCount(last)} of ${formatCount(state.total)}${more}`;
  $("prev").disabled = state.offset === 0;
  $("next").disabled = state.partial ? state.items.length < state.limit : state.offset + state.items.length >= state.total;
  const size = $("page-size");
  if (![...size.options].some((option) => option.value === String(state.limit))) size.appendChild(el("option", null, String(state.limit)));
  size.value = String(state.limit);
}

function renderNewBar() {
  $("newbar").hidden = state.pendingNew === 0;
  $("newbar-btn").textContent = `${formatCount(state.pendingNew)} new ${state.pendingNew === 1 ? "entry" : "entries"} — show latest`;
}

// ---------- the detail panel ----------

function markSelected() {
  for (const node of document.querySelectorAll("#rows .is-selected, #timeline .is-selected")) node.classList.remove("is-selected");
  if (!state.selected) return;
  const id = state.selected.id;
  for (const node of document.querySelectorAll("#rows tr.row, #timeline .tl-item")) {
    if (typeof id === "string" ? node.dataset.id === id : false) node.classList.add("is-selected");
  }
}

// Where the panel lies over the page (narrow screens), following a link from it closes it, to show where it leads.
const panelOverlays = window.matchMedia("(max-width: 1100px)");
const fromPanel = (action) => (value) => {
  if (panelOverlays.matches) {
    hideDetail();
    state.selected = null;
    state.entry = null;
  }
  action(value);
};

function showDetail(entry) {
  state.selected = entry;
  const changes = state.changes?.get(state.items.find((item) => signature(item) === signature(entry))) ?? null;
  renderDetail(entry, {
    onEntity: fromPanel((entity) => showEntityHistory(entity)),
    onUser: fromPanel((user) => showTimeline(user)),
    onIp: fromPanel((ip) => filterBy("ip", [ip])),
    changes,
  });
  markSelected();
}

function selectEntry(entry) {
  state.entry = typeof entry.id === "string" ? entry.id : null;
  state.entryFromLink = false;
  showDetail(entry);
  commitAddress();
}

function closeDetail(updateAddress = true) {
  hideDetail();
  state.selected = null;
  state.entry = null;
  markSelected();
  if (updateAddress) commitAddress();
  // Live entries held back while the entry was open.
  if (state.pendingNew > 0 && state.offset === 0 && state.view === "table" && !state.entity) void loadEntries();
}

/**
 * After the list changed: the open entry follows when the list still holds
 * it, and the panel closes when it does not (unless the entry came with the
 * address: a permalink opens its entry whatever the list shows).
 */
async function syncDetail() {
  if (!state.entry) {
    if (state.selected) closeDetail(false);
    return;
  }
  const held = state.items.find((item) => item.id === state.entry);
  if (held) return showDetail(held);
  if (!state.entryFromLink) {
    closeDetail(false);
    history.replaceState(null, "", writeAddress(view()));
    return;
  }
  if (state.selected?.id === state.entry) return;
  try {
    const { entry } = await getJson(`api/entries/${encodeURIComponent(state.entry)}`, [["source", state.source]]);
    learnWrittenOffset(entry.timestamp, true);
    showDetail(entry);
  } catch (error) {
    if (error instanceof HttpError && error.status === 404) showBanner(`No entry has the id ${state.entry} in this trail.`, "warn");
    else reportError(error);
    hideDetail();
    state.selected = null;
  }
}

async function copyLink() {
  const url = new URL(location.href);
  url.searchParams.delete("api_key");
  const button = $("detail-link");
  try {
    await navigator.clipboard.writeText(url.toString());
    button.textContent = "Link copied";
  } catch {
    button.textContent = "Copy failed";
  }
  setTimeout(() => {
    button.textContent = "Copy link";
  }, 1500);
}

// ---------- views: entity history, user timeline, filters ----------

/** A change of what the list shows: back to its first page, a new history entry, load. */
function changeView(typedField = null) {
  state.offset = 0;
  state.entryFromLink = false;
  commitAddress(typedField);
  renderChips();
  void loadView();
}

function showEntityHistory(entity) {
  state.entity = entity;
  if (entity) state.view = "table";
  changeView();
}

function showTimeline(user) {
  state.view = "timeline";
  state.entity = null;
  state.filters.user = [user];
  state.filters.user_match = "exact";
  renderForm();
  changeView();
}

function leaveTimeline() {
  state.view = "table";
  state.filters.user = [];
  state.filters.user_match = "";
  renderForm();
  changeView();
}

function filterBy(name, values) {
  state.filters[name] = values;
  renderForm();
  changeView();
}

function chip(label, value, title, onRemove) {
  const node = el("span", "chip");
  node.appendChild(el("span", "chip-label", label));
  node.appendChild(el("strong", null, value));
  const remove = el("button", "chip-remove", "✕");
  remove.type = "button";
  remove.title = title;
  remove.setAttribute("aria-label", `${title}: ${value}`);
  remove.addEventListener("click", onRemove);
  node.appendChild(remove);
  return node;
}

function renderChips() {
  const chips = $("chips");
  clear(chips);
  if (state.entity) {
    chips.appendChild(
      chip("History of ", `${state.entity.type} ${state.entity.id}`, "Show all entries again", () => showEntityHistory(null)),
    );
  }
  if (state.view === "timeline") {
    chips.appendChild(chip("Activity of ", state.filters.user.join(", ") || "everyone", "Leave the timeline", leaveTimeline));
  }
  if (state.filters.from || state.filters.to) {
    const from = state.filters.from ? formatMillis(Date.parse(state.filters.from)) : "the start";
    const to = state.filters.to ? formatMillis(Date.parse(state.filters.to)) : "now";
    chips.appendChild(
      chip("Time ", `${from} – ${to}`, "All times again", () => {
        state.filters.from = "";
        state.filters.to = "";
        renderForm();
        changeView();
      }),
    );
  }
  chips.hidden = chips.childElementCount === 0;
  $("histogram-reset").hidden = !(state.filters.from || state.filters.to);
  const active = Object.values(state.filters).filter((value) => (Array.isArray(value) ? value.length > 0 : Boolean(value))).length;
  $("filters-toggle").textContent = active ? `Filters (${active})` : "Filters";
}

// ---------- the filter form ----------

const multiSelects = {};

const splitList = (text) => [
  ...new Set(
    String(text)
      .split(",")
      .map((value) => value.trim())
      .filter(Boolean),
  ),
];

/** Puts the view's filters into the form (after back/forward, a click on a user, a range picked on the histogram). */
function renderForm() {
  const f = state.filters;
  $("f-q").value = f.q;
  $("f-user").value = f.user.join(", ");
  $("f-user-exact").checked = f.user_match === "exact";
  $("f-branch").value = f.branch_id.join(", ");
  $("f-branch-exact").checked = f.branch_id_match === "exact";
  $("f-ip").value = f.ip.join(", ");
  $("f-service").value = f.service.join(", ");
  $("f-hostname").value = f.hostname.join(", ");
  $("f-ip").removeAttribute("aria-invalid");
  $("f-success").value = f.success;
  $("f-from").value = f.from ? inputValue(Date.parse(f.from)) : "";
  $("f-to").value = f.to ? inputValue(Date.parse(f.to)) : "";
  for (const [name, select] of Object.entries(multiSelects)) select.set(f[name]);
}

/** Reads one form field into the view's filters; false when its value is not usable yet (an IP being typed). */
function readField(name) {
  const f = state.filters;
  switch (name) {
    case "q":
      f.q = $("f-q").value.trim();
      return true;
    case "user":
      f.user = splitList($("f-user").value);
      return true;
    case "user_match":
      f.user_match = $("f-user-exact").checked ? "exact" : "";
      return true;
    case "branch_id":
      f.branch_id = splitList($("f-branch").value);
      return true;
    case "branch_id_match":
      f.branch_id_match = $("f-branch-exact").checked ? "exact" : "";
      return true;
    case "ip": {
      const values = splitList($("f-ip").value);
      const valid = values.every((value) => ipRange(value) !== null);
      $("f-ip").toggleAttribute("aria-invalid", !valid);
      $("f-ip").title = valid
        ? "An address or a CIDR block; several separated by commas"
        : "Not an IP address or CIDR block (e.g. 10.1.0.0/16)";
      if (!valid) return false;
      f.ip = values;
      return true;
    }
    case "service":
    case "hostname":
      f[name] = splitList($(`f-${name}`).value);
      return true;
    case "success":
      f.success = $("f-success").value;
      return true;
    case "from":
    case "to": {
      const input = $(`f-${name}`);
      const millis = inputMillis(input.value);
      // "To 14:30" means up to the end of that minute when the input shows no seconds.
      const end = name === "to" && input.value.length === 16 ? 59_999 : name === "to" ? 999 : 0;
      f[name] = Number.isFinite(millis) ? new Date(millis + end).toISOString() : "";
      return true;
    }
    default:
      return false;
  }
}

function fieldName(target) {
  if (target === $("f-user-exact")) return "user_match";
  if (target === $("f-branch-exact")) return "branch_id_match";
  return target?.name ?? null;
}

function wireForm() {
  for (const [name, values] of [
    ["module", MODULES],
    ["level", LEVELS],
    ["action", ACTIONS],
  ]) {
    multiSelects[name] = new MultiSelect($(`f-${name}`), (changed, chosen) => {
      state.filters[changed] = chosen;
      changeView();
    });
    multiSelects[name].addOptions(values);
  }
  const form = $("filters");
  // Typing settles before the view changes; every text field is read (another may have been typed in meanwhile).
  const typed = debounce((name) => {
    for (const field of ["q", "user", "branch_id", "ip", "service", "hostname"]) readField(field);
    changeView(name);
  }, 300);
  form.addEventListener("input", (event) => {
    const target = event.target;
    if (target instanceof HTMLInputElement && (target.type === "text" || target.type === "search")) typed(fieldName(target));
  });
  form.addEventListener("change", (event) => {
    const target = event.target;
    if (!(target instanceof HTMLInputElement || target instanceof HTMLSelectElement)) return;
    if (target.type === "text" || target.type === "search") return;
    const name = fieldName(target);
    if (name && readField(name)) changeView();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    for (const name of ["q", "user", "branch_id", "ip", "service", "hostname"]) readField(name);
    changeView();
  });
  form.addEventListener("reset", (event) => {
    event.preventDefault();
    state.filters = emptyFilters();
    state.entity = null;
    state.view = "table";
    renderForm();
    changeView();
  });
}

// ---------- live entries ----------

// Counts a live entry at once, so the header moves with the table; the server's figures follow shortly.
function countLive(source, entry) {
  if (!state.stats) return;
  const stats = state.stats[source] || (state.stats[source] = { total: 0, failures: 0, modules: {}, levels: {} });
  stats.total = (stats.total || 0) + 1;
  if (entry.success === false) stats.failures = (stats.failures || 0) + 1;
  if (entry.module) {
    stats.modules = stats.modules || {};
    stats.modules[entry.module] = (stats.modules[entry.module] || 0) + 1;
  }
  if (typeof entry.timestamp === "string" && (!stats.latest_timestamp || entry.timestamp > stats.latest_timestamp)) {
    stats.latest_timestamp = entry.timestamp;
  }
}

function flash(node) {
  if (!node) return;
  node.classList.remove("flash");
  void node.offsetWidth; // restart the animation
  node.classList.add("flash");
}

// Live entries are applied in batches: a burst of thousands costs one repaint, not thousands.
const liveQueue = [];
let liveTimer = null;

function onLiveEntry(source, entry) {
  if (!entry || typeof entry !== "object") return;
  liveQueue.push({ source, entry });
  if (!liveTimer) liveTimer = setTimeout(applyLiveBatch, LIVE_BATCH_MS);
}

/** Whether live entries are drawn at once: the plain table's first page with no entry open. */
function drawsLive() {
  return state.offset === 0 && state.view === "table" && !state.entity && !state.selected;
}

function applyLiveBatch() {
  liveTimer = null;
  const batch = liveQueue.splice(0, liveQueue.length);
  const fresh = [];
  let touched = false;
  for (const { source, entry } of batch) {
    countLive(source, entry);
    if (source === state.source) touched = true;
    if (source !== state.source || !matchesView(entry, state.filters, state.entity)) continue;
    const key = signature(entry);
    if (state.seen.has(key)) continue; // already on screen (it came with the page just loaded)
    state.total += 1;
    if (!drawsLive()) {
      state.pendingNew += 1;
      continue;
    }
    state.seen.add(key);
    fresh.push(entry);
  }
  if (state.stats) {
    renderStats();
    if (touched) flash($("stat-total").closest(".stat"));
  }
  renderMatching();
  scheduleStatsRefresh();
  if (!drawsLive()) {
    renderNewBar();
    renderPager();
    return;
  }
  if (fresh.length === 0) return;
  // Newest on top; only what fits on the first page is drawn.
  const shown = fresh.slice(-state.limit).reverse();
  const body = $("rows");
  const fragment = document.createDocumentFragment();
  for (const entry of shown) {
    const row = buildRow(entry, rowContext);
    row.classList.add("is-new");
    setTimeout(() => row.classList.remove("is-new"), HIGHLIGHT_MS);
    fragment.appendChild(row);
  }
  body.insertBefore(fragment, body.firstChild);
  state.items.unshift(...shown);
  for (const entry of fresh.slice(0, -state.limit)) state.seen.delete(signature(entry));
  while (state.items.length > state.limit) {
    const dropped = state.items.pop();
    state.seen.delete(signature(dropped));
    if (body.lastChild) body.removeChild(body.lastChild);
  }
  $("empty").hidden = true;
  renderPager();
}

function setConnection(kind, label) {
  const indicator = $("conn");
  indicator.dataset.state = kind;
  $("conn-label").textContent = kind === "ws" || kind === "sse" ? (state.realtime ? label : `${label} (file tail)`) : label;
  indicator.title =
    kind === "ws"
      ? "Live: WebSocket"
      : kind === "sse"
        ? "Live: Server-Sent Events"
        : kind === "offline"
          ? "Not receiving live entries: the page reads the trail again every 10 s"
          : "Connecting…";
}

const live = new LiveConnection(
  {
    onEntry: onLiveEntry,
    onState: setConnection,
    onGap: () => void refreshNow(),
    onUnauthorized: () =>
      showBanner("Not authorised for live entries: open the viewer with ?api_key=YOUR_KEY in the address, or send the X-API-Key header."),
  },
  () => {
    const stats = sourceStats(state.source);
    return { source: state.source, after: stats.cursor ?? (stats.total || 0) + (stats.evicted || 0) };
  },
);

// ---------- export ----------

async function exportEntries(format) {
  const params = filterParams(view());
  params.push(["format", format]);
  const headers = {};
  if (apiKey) headers["X-API-Key"] = apiKey;
  try {
    const response = await fetch(apiUrl("api/export", params), { headers, credentials: "same-origin" });
    if (!response.ok) {
      let message = `${response.status} ${response.statusText}`;
      try {
        message = detailMessage(await response.json()) ?? message;
      } catch {
        // not JSON
      }
      throw new HttpError(response.status, message);
    }
    const blob = await response.blob();
    const link = el("a");
    link.href = URL.createObjectURL(blob);
    link.download = `${state.source}-${new Date().toISOString().replace(/[:.]/g, "-")}.${format}`;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  } catch (error) {
    reportError(error);
  }
}

// ---------- wiring ----------

const histogramView = new Histogram({
  bars: $("histogram-bars"),
  axis: $("histogram-axis"),
  title: $("histogram-title"),
  onRange: (from, to) => {
    state.filters.from = new Date(from).toISOString();
    state.filters.to = new Date(to).toISOString();
    renderForm();
    changeView();
  },
});

function renderTabs() {
  for (const tab of document.querySelectorAll(".tab")) tab.setAttribute("aria-selected", String(tab.dataset.source === state.source));
}

function renderAll() {
  renderZone();
  renderTabs();
  renderForm();
  renderChips();
  if (state.stats) renderStats();
  if (state.items.length > 0) renderEntries();
}

function setSource(source) {
  if (state.source === source) return;
  state.source = source;
  state.entry = null;
  closeDetail(false);
  renderTabs();
  if (state.stats) renderStats();
  live.switchSource();
  changeView();
}

function setZoneChoice(zone) {
  setZone(zone);
  try {
    localStorage.setItem(ZONE_STORAGE, zone);
  } catch {
    // storage may be off: the address keeps the choice
  }
  history.replaceState(null, "", writeAddress(view()));
  // Everything that shows a time is drawn again; the histogram's buckets align to the new zone's hours.
  renderAll();
  if (state.selected) showDetail(state.selected);
  void loadHistogram();
}

function wire() {
  wireForm();
  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => setSource(tab.dataset.source));
  $("tz").addEventListener("change", (event) => setZoneChoice(event.target.value));

  // On a phone the filters fold away behind a button, so the entries come first.
  $("filters-toggle").addEventListener("click", () => {
    const open = document.body.classList.toggle("show-filters");
    $("filters-toggle").setAttribute("aria-expanded", String(open));
  });
  $("refresh").addEventListener("click", () => void refreshNow());
  $("histogram-reset").addEventListener("click", () => {
    state.filters.from = "";
    state.filters.to = "";
    renderForm();
    changeView();
  });

  $("prev").addEventListener("click", () => {
    state.offset = Math.max(0, state.offset - state.limit);
    commitAddress();
    void loadEntries();
  });
  $("next").addEventListener("click", () => {
    if ($("next").disabled) return;
    state.offset += state.limit;
    commitAddress();
    void loadEntries();
  });
  $("page-size").addEventListener("change", (event) => {
    state.limit = Number(event.target.value) || DEFAULT_LIMIT;
    changeView();
  });
  $("newbar-btn").addEventListener("click", () => {
    if (state.selected) closeDetail(false);
    state.offset = 0;
    commitAddress();
    void loadEntries();
  });

  $("detail-close").addEventListener("click", () => closeDetail());
  $("detail-link").addEventListener("click", () => void copyLink());
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !$("detail").hidden && !event.target.closest?.(".ms")) closeDetail();
  });
  $("detail-copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText($("detail-json").textContent || "");
      $("detail-copy").textContent = "copied";
    } catch {
      $("detail-copy").textContent = "copy failed";
    }
    setTimeout(() => {
      $("detail-copy").textContent = "copy";
    }, 1500);
  });

  $("export-csv").addEventListener("click", () => exportEntries("csv"));
  $("export-jsonl").addEventListener("click", () => exportEntries("jsonl"));
  window.addEventListener("popstate", applyAddress);

  // While no live connection works, read the trail again by itself.
  setInterval(() => {
    if (live.offline && document.visibilityState !== "hidden") void refreshNow();
  }, OFFLINE_REFRESH_MS);
}

async function loadConfig() {
  try {
    const config = await getJson("api/config");
    if (config && typeof config.version === "string") $("log-dir").dataset.version = `v${config.version}`;
    return config;
  } catch {
    return null; // optional route
  }
}

// A key limited to some trails: only their tabs are shown, and the first of them is opened.
function applyReaderSources(config) {
  const sources = config?.reader?.sources;
  if (!Array.isArray(sources)) return false;
  for (const tab of document.querySelectorAll(".tab")) tab.hidden = !sources.includes(tab.dataset.source);
  if (sources.includes(state.source) || sources.length === 0) return false;
  state.source = sources[0];
  for (const tab of document.querySelectorAll(".tab")) tab.setAttribute("aria-selected", String(tab.dataset.source === state.source));
  return true;
}

async function start() {
  let stored = null;
  try {
    stored = localStorage.getItem(ZONE_STORAGE);
  } catch {
    // no storage
  }
  setZone(state.tz ?? (ZONES.includes(stored) ? stored : "written"));
  wire();
  renderAll();
  // The configuration first: a key limited to some trails opens one of them.
  const config = await loadConfig();
  applyReaderSources(config);
  // Then the statistics: the trail's newest entry tells the offset "as written" means for the axis and date inputs.
  await loadStats();
  await loadView();
  // Without in-process push the streams still carry what the server's file tail reads.
  if (config && config.realtime === false) state.realtime = false;
  renderZone();
  state.refreshedAt = Date.now();
  renderRefreshed();
  live.connect();
}

void start();
