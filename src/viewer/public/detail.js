// The detail panel: every field of one entry, its before/after, what it
// changed from the entity's previous version, and its JSON.

import { $, clear, el } from "./dom.js";
import { amountFormat, formatValue, plainValue } from "./format.js";
import { entityButton, levelBadge, userButton } from "./rows.js";
import { formatTimestamp, zoneLabel } from "./zone.js";

const FIELDS = [
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
  ["id", "Entry id"],
];

const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);

/** Shows `entry`; `ctx` = { onEntity, onUser, onIp, changes (from the previous version, or null) }. */
export function renderDetail(entry, ctx) {
  $("detail").hidden = false;
  document.body.classList.add("has-detail");
  $("detail-title").textContent = entry.description ? String(entry.description) : "Entry";

  const fields = $("detail-fields");
  clear(fields);
  for (const [name, label] of FIELDS) {
    const value = entry[name];
    if (value === undefined || value === null || value === "") continue;
    fields.appendChild(el("dt", null, label));
    const dd = el("dd", `f-${name}`);
    if (name === "level") dd.appendChild(levelBadge(value));
    else if (name === "timestamp") {
      dd.textContent = formatTimestamp(value);
      dd.appendChild(el("span", "detail-zone", ` ${zoneLabel()}`));
      if (formatTimestamp(value) !== String(value)) dd.appendChild(el("span", "detail-raw", String(value)));
    } else if (name === "entity_id" && entry.entity_type) dd.appendChild(entityButton(entry, ctx.onEntity, false));
    else if (name === "user") dd.appendChild(userButton(entry, ctx.onUser));
    else if (name === "ip") {
      const ip = el("button", "ip-link", String(value));
      ip.type = "button";
      ip.title = "Show every entry from this address";
      ip.addEventListener("click", () => ctx.onIp(String(value)));
      dd.appendChild(ip);
    } else if (name === "amount" && typeof value === "number") dd.textContent = amountFormat.format(value);
    else dd.textContent = plainValue(value);
    if (name === "success" && value === false) dd.classList.add("is-fail");
    fields.appendChild(dd);
  }
  if (isObject(entry.metadata)) {
    for (const [key, value] of Object.entries(entry.metadata)) {
      fields.appendChild(el("dt", "meta", key));
      fields.appendChild(el("dd", "meta", plainValue(value)));
    }
  }

  const versionSection = $("detail-version-section");
  const versionBody = $("detail-version").tBodies[0];
  clear(versionBody);
  versionSection.hidden = !ctx.changes;
  if (ctx.changes) {
    for (const change of ctx.changes) {
      const row = el("tr", "is-changed");
      row.appendChild(el("th", null, change.field));
      row.appendChild(el("td", change.hasBefore ? "before" : "before is-absent", change.hasBefore ? formatValue(change.before) : "—"));
      row.appendChild(el("td", change.hasAfter ? "after" : "after is-absent", change.hasAfter ? formatValue(change.after) : "removed"));
      versionBody.appendChild(row);
      if (change.hasClaimed) {
        const note = el("tr", "is-disputed");
        const td = el(
          "td",
          null,
          `This entry's old value is ${formatValue(change.claimed)}: the previous version in the trail says otherwise.`,
        );
        td.colSpan = 3;
        note.appendChild(td);
        versionBody.appendChild(note);
      }
    }
    if (ctx.changes.length === 0) {
      const row = el("tr");
      const td = el("td", "is-absent", "No field changed from the previous version.");
      td.colSpan = 3;
      row.appendChild(td);
      versionBody.appendChild(row);
    }
  }

  renderBeforeAfter(entry.old_values, entry.new_values);
  $("detail-json").textContent = JSON.stringify(entry, null, 2);
}

function renderBeforeAfter(before, after) {
  const section = $("detail-diff-section");
  const body = $("detail-diff").tBodies[0];
  clear(body);
  const oldValues = isObject(before) ? before : {};
  const newValues = isObject(after) ? after : {};
  const keys = [...new Set([...Object.keys(oldValues), ...Object.keys(newValues)])];
  section.hidden = keys.length === 0;
  for (const key of keys) {
    const hasOld = Object.hasOwn(oldValues, key);
    const hasNew = Object.hasOwn(newValues, key);
    const row = el("tr");
    if (!hasOld || !hasNew || JSON.stringify(oldValues[key]) !== JSON.stringify(newValues[key])) row.classList.add("is-changed");
    row.appendChild(el("th", null, key));
    row.appendChild(el("td", hasOld ? "before" : "before is-absent", hasOld ? formatValue(oldValues[key]) : "—"));
    row.appendChild(el("td", hasNew ? "after" : "after is-absent", hasNew ? formatValue(newValues[key]) : "—"));
    body.appendChild(row);
  }
}

export function hideDetail() {
  $("detail").hidden = true;
  document.body.classList.remove("has-detail");
}
