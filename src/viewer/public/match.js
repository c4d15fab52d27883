// The server's filter semantics, for entries that arrive live: a live entry
// joins the table only if the server would have listed it.

import { ipRange } from "./ip.js";
import { millisOf } from "./zone.js";

const lower = (value) => String(value ?? "").toLowerCase();

function anyValue(values, actual, mode, ignoreCase) {
  if (!values || values.length === 0) return true;
  if (actual === undefined || actual === null || actual === "") return false;
  const text = ignoreCase || mode === "contains" ? lower(actual) : String(actual);
  return values.some((value) => {
    const wanted = ignoreCase || mode === "contains" ? lower(value) : String(value);
    return mode === "contains" ? text.includes(wanted) : text === wanted;
  });
}

// Free text looks at values as the line writes them (quotes included), never at field names.
function valuesInclude(value, needle) {
  if (value !== null && typeof value === "object") return Object.values(value).some((v) => valuesInclude(v, needle));
  return String(JSON.stringify(value)).toLowerCase().includes(needle);
}

/** Whether `entry` matches the view's filters (see the page's state: filters, entity). */
export function matchesView(entry, filters, entity) {
  const f = filters;
  if (!anyValue(f.module, entry.module, "exact", true)) return false;
  if (!anyValue(f.level, entry.level, "exact", true)) return false;
  if (!anyValue(f.action, entry.action, "exact", true)) return false;
  if (!anyValue(f.user, entry.user, f.user_match === "exact" ? "exact" : "contains", true)) return false;
  if (!anyValue(f.branch_id, entry.branch_id, f.branch_id_match === "exact" ? "exact" : "contains", false)) return false;
  if (!anyValue(f.service, entry.service, "exact", false)) return false;
  if (!anyValue(f.hostname, entry.hostname, "exact", false)) return false;
  if (f.ip && f.ip.length > 0) {
    const tests = f.ip.map(ipRange).filter(Boolean);
    if (!tests.some((test) => test(entry.ip))) return false;
  }
  if (f.success && String(entry.success) !== f.success) return false;
  const time = millisOf(entry.timestamp);
  if (f.from && !(time >= Date.parse(f.from))) return false;
  if (f.to && !(time <= Date.parse(f.to))) return false;
  if (entity && !(String(entry.entity_type ?? "") === entity.type && String(entry.entity_id ?? "") === entity.id)) return false;
  if (f.q && !valuesInclude(entry, f.q.toLowerCase())) return false;
  return true;
}
