// auditx viewer: one page, no framework, no build step.
// Every piece of log content reaches the DOM through textContent or
// createElement, never as HTML: a trail may hold anything an attacker typed.

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
// Filters the page sends to api/entries and api/export, in the order of the form.
const FORM_FILTERS = ["q", "user", "module", "level", "action", "branch_id", "success", "from", "to"];
const HIGHLIGHT_MS = 4000;
const MAX_BACKOFF_MS = 30000;

const $ = (id) => document.getElementById(id);

// The API key may come in the page URL once; keep it in memory and take it out of the address bar.
const apiKey = (() => {
  const url = new URL(location.href);
  const key = url.searchParams.get("api_key");
  if (key === null) return null;
  url.searchParams.delete("api_key");
  history.replaceState(history.state, "", url.pathname + url.search + url.hash);
  return key;
})();

// Relative to the page, so the viewer works under any mount prefix (/audit/ ...).
const baseUrl = (() => {
  const url = new URL(location.href);
  url.search = "";
  url.hash = "";
  if (!url.pathname.endsWith("/") && !/\.[a-z]+$/i.test(url.pathname)) url.pathname += "/";
  return url;
})();
const apiUrl = (path, params) => {
  const url = new URL(path, baseUrl);
  if (params) for (const [name, value] of params) url.searchParams.append(name, value);
  return url;
};

const state = {
  source: "audit",
  filters: {}, // name -> value, only non-empty
  entity: null, // { type, id } while showing an entity's history
  limit: 50,
  offset: 0,
  total: 0,
  items: [],
  stats: null,
  selected: null, // the entry shown in the detail panel
  pendingNew: 0, // live entries that arrived while not on the first page
  seen: new Set(), // signatures of rows on screen, so a live entry is never shown twice
};

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function getJson(path, params) {
  const headers = { Accept: "application/json" };
  if (apiKey) headers["X-API-Key"] = apiKey;
  const response = await fetch(apiUrl(path, params), { headers, credentials: "same-origin" });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (typeof body?.error === "string") message = body.error;
      else if (typeof body?.error?.message === "string") message = body.error.message;
    } catch {
      // not JSON: keep the status line
    }
    throw new HttpError(response.status, message);
  }
  return response.json();
}

// ---------- small DOM helpers ----------

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

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

// ---------- formatting ----------

const numberFormat = new Intl.NumberFormat(undefined);
const amountFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

function formatCount(value) {
  return typeof value === "number" ? numberFormat.format(value) : "–";
}

// Shows the wall-clock time as the writer recorded it (its own offset), the full stamp on hover.
function formatTime(timestamp) {
  if (typeof timestamp !== "string") return "";
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(timestamp);
  return match ? `${match[1]} ${match[2]}` : timestamp;
}

function formatValue(value) {
  if (value === undefined) return "";
  if (value === null) return "null";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

function entrySignature(entry) {
  return JSON.stringify(entry);
}

function isFailure(entry) {
  return entry.success === false || (typeof entry.status === "number" && entry.status >= 400);
}

// ---------- filters ----------

function readForm() {
  const form = $("filters");
  const filters = {};
  for (const name of FORM_FILTERS) {
    const field = form.elements.namedItem(name);
    const value = field && typeof field.value === "string" ? field.value.trim() : "";
    if (!value) continue;
    if (name === "from" || name === "to") {
      const date = new Date(value); // datetime-local is the browser's local time
      // "To 14:30" means up to the end of that minute (the input has no seconds).
      if (name === "to" && value.length === 16) date.setSeconds(59, 999);
      if (!Number.isNaN(date.getTime())) filters[name] = date.toISOString();
    } else {
      filters[name] = value;
    }
  }
  return filters;
}

function queryParams({ paging }) {
  const params = [["source", state.source]];
  for (const [name, value] of Object.entries(state.filters)) params.push([name, value]);
  if (state.entity) {
    params.push(["entity_type", state.entity.type]);
    params.push(["entity_id", state.entity.id]);
  }
  if (paging) {
    params.push(["limit", String(state.limit)]);
    params.push(["offset", String(state.offset)]);
  }
  return params;
}

// The same narrowing the server applies, for entries that arrive live.
function matchesView(entry) {
  const f = state.filters;
  const eq = (a, b) => String(a ?? "") === String(b); // the server's field filters are exact
  if (f.module && !eq(entry.module, f.module)) return false;
  if (f.level && !eq(entry.level, f.level)) return false;
  if (f.action && !eq(entry.action, f.action)) return false;
  if (f.user && !eq(entry.user, f.user)) return false;
  if (f.branch_id && !eq(entry.branch_id, f.branch_id)) return false;
  if (f.success && String(entry.success !== false) !== f.success) return false;
  const time = Date.parse(entry.timestamp);
  if (f.from && !(time >= Date.parse(f.from))) return false;
  if (f.to && !(time <= Date.parse(f.to))) return false;
  if (state.entity && !(eq(entry.entity_type, state.entity.type) && eq(entry.entity_id, state.entity.id))) return false;
  if (f.q && !valuesInclude(entry, f.q.toLowerCase())) return false;
  return true;
}

// Free text looks at values as the line writes them (quotes included), never at field names.
function valuesInclude(value, needle) {
  if (value !== null && typeof value === "object") return Object.values(value).some((v) => valuesInclude(v, needle));
  return String(JSON.stringify(value)).toLowerCase().includes(needle);
}

function fillSelect(select, values, labels) {
  const current = select.value;
  const present = new Set(Array.from(select.options, (option) => option.value));
  for (const value of values) {
    if (present.has(value)) continue;
    const option = el("option", null, labels ? labels(value) : value);
    option.value = value;
    select.appendChild(option);
    present.add(value);
  }
  select.value = current;
}

function renderChips() {
  const chips = $("chips");
  clear(chips);
  if (state.entity) {
    const chip = el("span", "chip");
    chip.appendChild(el("span", "chip-label", "History of "));
    chip.appendChild(el("strong", null, `${state.entity.type} ${state.entity.id}`));
    const remove = el("button", "chip-remove", "✕");
    remove.type = "button";
    remove.title = "Show all entries again";
    remove.setAttribute("aria-label", `Remove history of ${state.entity.type} ${state.entity.id}`);
    remove.addEventListener("click", () => showEntityHistory(null));
    chip.appendChild(remove);
    chips.appendChild(chip);
  }
  chips.hidden = !state.entity;
}

function showEntityHistory(entity) {
  state.entity = entity;
  state.offset = 0;
  renderChips();
  void loadEntries();
}

// ---------- table ----------

function levelBadge(level) {
  const badge = el("span", "badge", level || "—");
  badge.dataset.level = String(level || "").toUpperCase();
  return badge;
}

function entityButton(entry, withType = true) {
  if (!entry.entity_type && !entry.entity_id) return null;
  const button = el("button", "entity-link");
  button.type = "button";
  button.title = "Show every entry of this entity";
  if (withType) button.appendChild(el("span", "entity-type", entry.entity_type || ""));
  button.appendChild(el("span", "entity-id", entry.entity_id || ""));
  button.addEventListener("click", (event) => {
    event.stopPropagation();
    showEntityHistory({ type: entry.entity_type || "", id: entry.entity_id || "" });
  });
  return button;
}

function cell(row, className, content, label) {
  const td = el("td", className);
  if (label) td.dataset.label = label;
  if (content instanceof Node) td.appendChild(content);
  else if (content !== undefined && content !== null && content !== "") td.textContent = String(content);
  row.appendChild(td);
  return td;
}

function buildRow(entry) {
  const row = el("tr", "row");
  row.tabIndex = 0;
  if (isFailure(entry)) row.classList.add("is-failure");
  row.dataset.level = String(entry.level || "").toUpperCase();

  const time = cell(row, "c-time", formatTime(entry.timestamp), "Time");
  time.title = String(entry.timestamp ?? "");
  cell(row, "c-level", levelBadge(entry.level), "Level");
  cell(row, "c-module", entry.module, "Module");
  cell(row, "c-action", entry.action, "Action");
  const desc = cell(row, "c-desc", entry.description, "Description");
  desc.title = String(entry.description ?? "");
  const user = cell(row, "c-user", entry.user, "User");
  if (entry.user_role) user.title = `role: ${entry.user_role}`;
  cell(row, "c-branch", entry.branch_id, "Branch");
  cell(row, "c-entity", entityButton(entry), "Entity");
  cell(row, "c-ref", entry.reference_no, "Reference");
  let amount = null;
  if (typeof entry.amount === "number") {
    amount = document.createDocumentFragment();
    amount.appendChild(document.createTextNode(amountFormat.format(entry.amount)));
    if (entry.currency) amount.appendChild(el("span", "currency", entry.currency));
  }
  cell(row, "c-amount", amount, "Amount");
  const failed = isFailure(entry);
  const status = typeof entry.status === "number" ? String(entry.status) : "";
  const result = el("span", failed ? "result result-fail" : "result result-ok", failed ? `✕ ${status || "failed"}` : status || "ok");
  result.title = failed ? "failed" : "succeeded";
  cell(row, "c-status", result, "Result");
  // One line for module, action, user and branch where the row is shown as a card (phones).
  cell(row, "c-meta", [entry.module, entry.action, entry.user, entry.branch_id].filter(Boolean).join(" · "));

  row.addEventListener("click", () => selectEntry(entry, row));
  row.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      selectEntry(entry, row);
    }
  });
  if (state.selected && entrySignature(state.selected) === entrySignature(entry)) row.classList.add("is-selected");
  return row;
}

function renderRows() {
  const body = $("rows");
  clear(body);
  state.seen.clear();
  const fragment = document.createDocumentFragment();
  for (const entry of state.items) {
    fragment.appendChild(buildRow(entry));
    state.seen.add(entrySignature(entry));
  }
  body.appendChild(fragment);
  $("empty").hidden = state.items.length > 0;
  renderPager();
}

function renderPager() {
  const first = state.total === 0 ? 0 : state.offset + 1;
  const last = Math.min(state.offset + state.items.length, state.total);
  $("pager-range").textContent =
    state.total === 0 ? "0 entries" : `${formatCount(first)}–${formatCount(last)} of ${formatCount(state.total)}`;
  $("prev").disabled = state.offset === 0;
  $("next").disabled = state.offset + state.items.length >= state.total;
}

function renderNewBar() {
  const bar = $("newbar");
  bar.hidden = state.pendingNew === 0;
  $("newbar-btn").textContent = `${formatCount(state.pendingNew)} new ${state.pendingNew === 1 ? "entry" : "entries"} — show latest`;
}

let loadSequence = 0;
async function loadEntries() {
  const sequence = ++loadSequence;
  document.body.classList.add("is-loading");
  try {
    const page = await getJson("api/entries", queryParams({ paging: true }));
    if (sequence !== loadSequence) return; // a newer request superseded this one
    hideBanner();
    state.items = Array.isArray(page.items) ? page.items : [];
    state.total = typeof page.total === "number" ? page.total : state.items.length;
    state.pendingNew = 0;
    renderNewBar();
    renderRows();
  } catch (error) {
    if (sequence === loadSequence) reportError(error);
  } finally {
    if (sequence === loadSequence) document.body.classList.remove("is-loading");
  }
}

// ---------- stats header ----------

function sourceStats(source) {
  return state.stats?.[source] || {};
}

function renderStats() {
  const stats = state.stats || {};
  const audit = sourceStats("audit");
  const security = sourceStats("security");
  if (typeof stats.log_dir === "string") {
    $("log-dir").textContent = stats.log_dir;
    $("log-dir").title = `Trail folder: ${stats.log_dir}`;
  }
  $("stat-total").textContent = formatCount(audit.total);
  $("stat-failures").textContent = formatCount(audit.failures);
  $("stat-security").textContent = formatCount(security.total);
  const latest = audit.latest_timestamp || security.latest_timestamp;
  $("stat-latest").textContent = latest ? formatTime(latest) : "–";
  $("stat-latest").title = latest || "";
  $("count-audit").textContent = typeof audit.total === "number" ? formatCount(audit.total) : "";
  $("count-security").textContent = typeof security.total === "number" ? formatCount(security.total) : "";

  const modules = Object.entries(audit.modules || {}).sort((a, b) => b[1] - a[1]);
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
  if (typeof audit.malformed === "number" && audit.malformed > 0) {
    bars.appendChild(el("span", "malformed", `${formatCount(audit.malformed)} malformed line${audit.malformed === 1 ? "" : "s"} skipped`));
  }

  fillSelect($("f-module"), [...MODULES, ...modules.map(([name]) => name)].filter(Boolean));
  fillSelect($("f-level"), [...LEVELS, ...Object.keys(audit.levels || {})].filter(Boolean));
}

async function loadStats() {
  try {
    state.stats = await getJson("api/stats");
    renderStats();
  } catch (error) {
    reportError(error);
  }
}

let statsTimer = null;
function scheduleStatsRefresh() {
  if (statsTimer) return;
  statsTimer = setTimeout(() => {
    statsTimer = null;
    void loadStats();
  }, 1500);
}

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

// ---------- live entries ----------

// Live entries are applied in batches: a burst of thousands costs one repaint, not thousands.
const LIVE_BATCH_MS = 100;
const liveQueue = [];
let liveTimer = null;

function onLiveEntry(source, entry) {
  if (!entry || typeof entry !== "object") return;
  liveQueue.push({ source, entry });
  if (!liveTimer) liveTimer = setTimeout(applyLiveBatch, LIVE_BATCH_MS);
}

function applyLiveBatch() {
  liveTimer = null;
  const batch = liveQueue.splice(0, liveQueue.length);
  const fresh = [];
  const touched = new Set();
  for (const { source, entry } of batch) {
    countLive(source, entry);
    touched.add(source);
    if (source !== state.source || !matchesView(entry)) continue;
    state.total += 1;
    if (state.offset > 0) {
      state.pendingNew += 1;
      continue;
    }
    const signature = entrySignature(entry);
    if (state.seen.has(signature)) {
      state.total -= 1; // already on screen (it came with the page that was just loaded)
      continue;
    }
    state.seen.add(signature);
    fresh.push(entry);
  }
  if (state.stats) {
    renderStats();
    for (const source of touched) flash((source === "security" ? $("stat-security") : $("stat-total")).closest(".stat"));
  }
  scheduleStatsRefresh();
  if (state.offset > 0) {
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
    const row = buildRow(entry);
    row.classList.add("is-new");
    setTimeout(() => row.classList.remove("is-new"), HIGHLIGHT_MS);
    fragment.appendChild(row);
  }
  body.insertBefore(fragment, body.firstChild);
  state.items.unshift(...shown);
  for (const entry of fresh.slice(0, -state.limit)) state.seen.delete(entrySignature(entry));
  while (state.items.length > state.limit) {
    const dropped = state.items.pop();
    state.seen.delete(entrySignature(dropped));
    if (body.lastChild) body.removeChild(body.lastChild);
  }
  $("empty").hidden = true;
  renderPager();
}

function handleMessage(data) {
  let message;
  try {
    message = JSON.parse(data);
  } catch {
    return; // not ours
  }
  if (message && message.type === "entry") onLiveEntry(message.source === "security" ? "security" : "audit", message.entry);
}

function setConnection(kind, label) {
  const indicator = $("conn");
  indicator.dataset.state = kind;
  $("conn-label").textContent = label;
  indicator.title =
    kind === "ws"
      ? "Live: WebSocket"
      : kind === "sse"
        ? "Live: Server-Sent Events"
        : kind === "offline"
          ? "Not receiving live entries"
          : "Connecting…";
}

// WebSocket first; on failure Server-Sent Events; when both fail, offline and retry with backoff.
const live = {
  socket: null,
  events: null,
  attempt: 0,
  timer: null,
  gap: false, // a connection dropped: entries may have been missed until the next one opens
};

function connectLive() {
  clearTimeout(live.timer);
  setConnection("connecting", "connecting…");
  connectWebSocket();
}

function connectWebSocket() {
  if (typeof WebSocket !== "function") return connectEventSource();
  const url = apiUrl("api/ws");
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  let opened = false;
  let socket;
  try {
    socket = new WebSocket(url);
  } catch {
    return connectEventSource();
  }
  live.socket = socket;
  socket.addEventListener("open", () => {
    opened = true;
    live.attempt = 0;
    if (live.gap) void resyncAfterGap();
    setConnection("ws", "WebSocket");
  });
  socket.addEventListener("message", (event) => {
    if (typeof event.data === "string") handleMessage(event.data);
  });
  socket.addEventListener("close", () => {
    if (live.socket !== socket) return;
    live.socket = null;
    // A socket that worked and dropped: the server may be restarting, so try SSE at once.
    if (opened) live.gap = true;
    connectEventSource();
  });
}

function connectEventSource() {
  if (typeof EventSource !== "function") return goOffline();
  let opened = false;
  const events = new EventSource(apiUrl("api/stream"), { withCredentials: true });
  live.events = events;
  events.addEventListener("open", () => {
    opened = true;
    live.attempt = 0;
    if (live.gap) void resyncAfterGap();
    setConnection("sse", "SSE");
  });
  events.addEventListener("message", (event) => handleMessage(event.data));
  events.addEventListener("entry", (event) => handleMessage(event.data));
  events.addEventListener("error", () => {
    if (live.events !== events) return;
    // Take over from EventSource's own retry, to show the state and back off.
    events.close();
    live.events = null;
    if (opened) live.gap = true;
    goOffline();
  });
}

function goOffline() {
  setConnection("offline", "offline");
  const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** live.attempt) * (0.75 + Math.random() * 0.5);
  live.attempt = Math.min(live.attempt + 1, 10);
  live.timer = setTimeout(connectLive, delay);
}

// Entries written while the connection was down are picked up by reloading the view.
async function resyncAfterGap() {
  live.gap = false;
  await Promise.all([loadStats(), state.offset === 0 ? loadEntries() : Promise.resolve()]);
}

// ---------- detail panel ----------

function selectEntry(entry, row) {
  state.selected = entry;
  for (const selected of document.querySelectorAll("#rows .is-selected")) selected.classList.remove("is-selected");
  if (row) row.classList.add("is-selected");
  renderDetail(entry);
}

const DETAIL_FIELDS = [
  ["timestamp", "Time"],
  ["level", "Level"],
  ["module", "Module"],
  ["action", "Action"],
  ["description", "Description"],
  ["user", "User"],
  ["user_role", "Role"],
  ["company_id", "Company"],
  ["branch_id", "Branch"],
  ["entity_type", "Entity type"],
  ["entity_id", "Entity id"],
  ["reference_no", "Reference"],
  ["amount", "Amount"],
  ["currency", "Currency"],
  ["method", "Method"],
  ["endpoint", "Endpoint"],
  ["status", "Status"],
  ["success", "Success"],
  ["ip", "IP"],
  ["request_id", "Request"],
  ["session_id", "Session"],
  ["trace_id", "Trace"],
  ["hostname", "Host"],
  ["service", "Service"],
];

function renderDetail(entry) {
  const panel = $("detail");
  panel.hidden = false;
  document.body.classList.add("has-detail");
  $("detail-title").textContent = entry.description ? String(entry.description) : "Entry";

  const fields = $("detail-fields");
  clear(fields);
  for (const [name, label] of DETAIL_FIELDS) {
    const value = entry[name];
    if (value === undefined || value === null || value === "") continue;
    fields.appendChild(el("dt", null, label));
    const dd = el("dd", `f-${name}`);
    if (name === "level") dd.appendChild(levelBadge(value));
    else if (name === "entity_id" && entry.entity_type) dd.appendChild(entityButton(entry, false));
    else dd.textContent = formatValue(value);
    if (name === "success" && value === false) dd.classList.add("is-fail");
    fields.appendChild(dd);
  }
  if (entry.metadata && typeof entry.metadata === "object") {
    for (const [key, value] of Object.entries(entry.metadata)) {
      fields.appendChild(el("dt", "meta", key));
      fields.appendChild(el("dd", "meta", formatValue(value)));
    }
  }

  renderDiff(entry.old_values, entry.new_values);
  $("detail-json").textContent = JSON.stringify(entry, null, 2);
}

function isPlainObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function renderDiff(before, after) {
  const section = $("detail-diff-section");
  const body = $("detail-diff").tBodies[0];
  clear(body);
  const oldValues = isPlainObject(before) ? before : {};
  const newValues = isPlainObject(after) ? after : {};
  const keys = [...new Set([...Object.keys(oldValues), ...Object.keys(newValues)])];
  section.hidden = keys.length === 0;
  for (const key of keys) {
    const hasOld = Object.hasOwn(oldValues, key);
    const hasNew = Object.hasOwn(newValues, key);
    const oldText = hasOld ? formatValue(oldValues[key]) : "";
    const newText = hasNew ? formatValue(newValues[key]) : "";
    const row = el("tr");
    const changed = !hasOld || !hasNew || JSON.stringify(oldValues[key]) !== JSON.stringify(newValues[key]);
    if (changed) row.classList.add("is-changed");
    row.appendChild(el("th", null, key));
    row.appendChild(el("td", hasOld ? "before" : "before is-absent", hasOld ? oldText : "—"));
    row.appendChild(el("td", hasNew ? "after" : "after is-absent", hasNew ? newText : "—"));
    body.appendChild(row);
  }
}

function closeDetail() {
  $("detail").hidden = true;
  document.body.classList.remove("has-detail");
  state.selected = null;
  for (const selected of document.querySelectorAll("#rows .is-selected")) selected.classList.remove("is-selected");
}

// ---------- export ----------

async function exportEntries(format) {
  const params = queryParams({ paging: false });
  params.push(["format", format]);
  const headers = {};
  if (apiKey) headers["X-API-Key"] = apiKey;
  try {
    const response = await fetch(apiUrl("api/export", params), { headers, credentials: "same-origin" });
    if (!response.ok) throw new HttpError(response.status, `${response.status} ${response.statusText}`);
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

function setSource(source) {
  if (state.source === source) return;
  state.source = source;
  state.offset = 0;
  for (const tab of document.querySelectorAll(".tab")) tab.setAttribute("aria-selected", String(tab.dataset.source === source));
  closeDetail();
  void loadEntries();
}

function applyFilters() {
  state.filters = readForm();
  const active = Object.keys(state.filters).length;
  $("filters-toggle").textContent = active ? `Filters (${active})` : "Filters";
  state.offset = 0;
  void loadEntries();
}

function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
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

function wire() {
  fillSelect($("f-module"), MODULES);
  fillSelect($("f-level"), LEVELS);
  fillSelect($("f-action"), ACTIONS);

  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => setSource(tab.dataset.source));

  const form = $("filters");
  const typed = debounce(applyFilters, 250);
  form.addEventListener("input", (event) => {
    if (event.target instanceof HTMLInputElement && (event.target.type === "text" || event.target.type === "search")) typed();
  });
  form.addEventListener("change", (event) => {
    if (!(event.target instanceof HTMLInputElement && (event.target.type === "text" || event.target.type === "search"))) applyFilters();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    applyFilters();
  });
  form.addEventListener("reset", () => {
    setTimeout(() => {
      state.entity = null;
      renderChips();
      applyFilters();
    }, 0);
  });

  // On a phone the filters fold away behind a button, so the entries come first.
  $("filters-toggle").addEventListener("click", () => {
    const open = document.body.classList.toggle("show-filters");
    $("filters-toggle").setAttribute("aria-expanded", String(open));
  });

  $("prev").addEventListener("click", () => {
    state.offset = Math.max(0, state.offset - state.limit);
    void loadEntries();
  });
  $("next").addEventListener("click", () => {
    if (state.offset + state.items.length >= state.total) return;
    state.offset += state.limit;
    void loadEntries();
  });
  $("page-size").addEventListener("change", (event) => {
    state.limit = Number(event.target.value) || 50;
    state.offset = 0;
    void loadEntries();
  });
  $("newbar-btn").addEventListener("click", () => {
    state.offset = 0;
    void loadEntries();
  });

  $("detail-close").addEventListener("click", closeDetail);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !$("detail").hidden) closeDetail();
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
}

async function start() {
  wire();
  renderChips();
  const [config] = await Promise.all([loadConfig(), loadStats(), loadEntries()]);
  if (config && config.realtime === false) {
    // The viewer was started without live push: say so instead of retrying for ever.
    setConnection("offline", "offline");
    $("conn").title = "Live push is disabled on this viewer: reload to see new entries";
    return;
  }
  connectLive();
}

void start();
