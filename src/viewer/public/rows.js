// Entries on screen: table rows, timeline items, and the parts they share.

import { el } from "./dom.js";
import { amountFormat, formatValue, resultOf } from "./format.js";
import { formatTimestamp, zoneLabel } from "./zone.js";

export function levelBadge(level) {
  const badge = el("span", "badge", level || "—");
  badge.dataset.level = String(level || "").toUpperCase();
  return badge;
}

/** A button that opens the entity's history. */
export function entityButton(entry, onEntity, withType = true) {
  if (!entry.entity_type && !entry.entity_id) return null;
  const button = el("button", "entity-link");
  button.type = "button";
  button.title = "Show every entry of this entity, with what each changed";
  if (withType) button.appendChild(el("span", "entity-type", entry.entity_type || ""));
  button.appendChild(el("span", "entity-id", entry.entity_id || ""));
  button.addEventListener("click", (event) => {
    event.stopPropagation();
    onEntity({ type: String(entry.entity_type || ""), id: String(entry.entity_id || "") });
  });
  return button;
}

/** A button that opens the user's activity timeline. */
export function userButton(entry, onUser) {
  if (!entry.user) return null;
  const button = el("button", "user-link", entry.user);
  button.type = "button";
  button.title = `Activity of ${entry.user}${entry.user_role ? ` (${entry.user_role})` : ""}`;
  button.addEventListener("click", (event) => {
    event.stopPropagation();
    onUser(String(entry.user));
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

function amountOf(entry) {
  if (typeof entry.amount !== "number") return null;
  const amount = document.createDocumentFragment();
  amount.appendChild(document.createTextNode(amountFormat.format(entry.amount)));
  if (entry.currency) amount.appendChild(el("span", "currency", entry.currency));
  return amount;
}

function resultBadge(entry) {
  const result = resultOf(entry);
  const badge = el("span", result.failed ? "result result-fail" : "result result-ok", result.text);
  badge.title = result.title;
  return badge;
}

/** One table row; `ctx` = { onSelect, onEntity, onUser }. */
export function buildRow(entry, ctx) {
  const row = el("tr", "row");
  row.tabIndex = 0;
  if (resultOf(entry).failed) row.classList.add("is-failure");
  row.dataset.level = String(entry.level || "").toUpperCase();
  if (typeof entry.id === "string") row.dataset.id = entry.id;

  const time = cell(row, "c-time", formatTimestamp(entry.timestamp), "Time");
  time.title = `${String(entry.timestamp ?? "")} (shown ${zoneLabel()})`;
  cell(row, "c-level", levelBadge(entry.level), "Level");
  cell(row, "c-module", entry.module, "Module");
  cell(row, "c-action", entry.action, "Action");
  const desc = cell(row, "c-desc", entry.description, "Description");
  desc.title = String(entry.description ?? "");
  const user = cell(row, "c-user", userButton(entry, ctx.onUser), "User");
  if (entry.user_role) user.title = `role: ${entry.user_role}`;
  cell(row, "c-branch", entry.branch_id, "Branch");
  cell(row, "c-entity", entityButton(entry, ctx.onEntity), "Entity");
  cell(row, "c-ref", entry.reference_no, "Reference");
  cell(row, "c-amount", amountOf(entry), "Amount");
  cell(row, "c-status", resultBadge(entry), "Result");
  // One line for module, action, user and branch where the row is shown as a card (phones).
  cell(row, "c-meta", [entry.module, entry.action, entry.user, entry.branch_id].filter(Boolean).join(" · "));

  row.addEventListener("click", () => ctx.onSelect(entry, row));
  row.addEventListener("keydown", (event) => {
    if (event.target !== row) return;
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      ctx.onSelect(entry, row);
    }
  });
  return row;
}

/** The row under an entity history row: what the entry changed from the previous version. */
export function buildChangesRow(changes) {
  const row = el("tr", "changes-row");
  const td = el("td", "c-changes");
  td.colSpan = 11;
  td.appendChild(changeList(changes));
  row.appendChild(td);
  return row;
}

export function changeList(changes) {
  const list = el("ul", "changes");
  if (changes.length === 0) list.appendChild(el("li", "change-none", "no field changed"));
  for (const change of changes) {
    const item = el("li", change.hasClaimed ? "change is-disputed" : "change");
    item.appendChild(el("span", "change-field", change.field));
    item.appendChild(
      el("span", change.hasBefore ? "change-before" : "change-before is-absent", change.hasBefore ? formatValue(change.before) : "—"),
    );
    item.appendChild(el("span", "change-arrow", "→"));
    item.appendChild(
      el("span", change.hasAfter ? "change-after" : "change-after is-absent", change.hasAfter ? formatValue(change.after) : "removed"),
    );
    if (change.hasClaimed) {
      const note = el("span", "change-note", `entry says before was ${formatValue(change.claimed)}`);
      note.title = "The entry's old value differs from the previous version in the trail: a change the trail does not show";
      item.appendChild(note);
    }
    list.appendChild(item);
  }
  return list;
}

/** One item of a user's activity timeline. */
export function buildTimelineItem(entry, ctx) {
  const item = el("li", "tl-item");
  item.tabIndex = 0;
  if (resultOf(entry).failed) item.classList.add("is-failure");
  if (typeof entry.id === "string") item.dataset.id = entry.id;
  const time = el("time", "tl-time", formatTimestamp(entry.timestamp).slice(11));
  time.title = String(entry.timestamp ?? "");
  item.appendChild(time);
  const body = el("div", "tl-body");
  const head = el("div", "tl-head");
  head.append(levelBadge(entry.level), el("span", "tl-what", [entry.module, entry.action].filter(Boolean).join(" · ")));
  head.appendChild(resultBadge(entry));
  body.appendChild(head);
  body.appendChild(el("div", "tl-desc", entry.description ?? ""));
  const facts = el("div", "tl-facts");
  const entity = entityButton(entry, ctx.onEntity);
  if (entity) facts.appendChild(entity);
  for (const [label, value] of [
    ["ref", entry.reference_no],
    ["branch", entry.branch_id],
    ["ip", entry.ip],
    ["session", entry.session_id],
  ]) {
    if (value === undefined || value === null || value === "") continue;
    facts.appendChild(el("span", "tl-fact", `${label} ${value}`));
  }
  const amount = amountOf(entry);
  if (amount) {
    const span = el("span", "tl-fact tl-amount");
    span.appendChild(amount);
    facts.appendChild(span);
  }
  body.appendChild(facts);
  item.appendChild(body);
  item.addEventListener("click", () => ctx.onSelect(entry, item));
  item.addEventListener("keydown", (event) => {
    if (event.target === item && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      ctx.onSelect(entry, item);
    }
  });
  return item;
}
