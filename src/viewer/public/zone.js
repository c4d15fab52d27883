// The time zone every time on the page is shown in: as written (the wall clock
// and offset the writer recorded), the browser's local time, or UTC. Date
// inputs are read and filled in the same zone.

export const ZONES = ["written", "local", "utc"];
const MINUTE = 60_000;

let zone = "written";
// The offset the trail is written with (minutes east of UTC), learnt from its entries; null until seen.
let writtenOffset = null;

export function getZone() {
  return zone;
}

export function setZone(next) {
  zone = ZONES.includes(next) ? next : "written";
}

/** The offset of an ISO timestamp ("+06:30", "Z"), in minutes; null when it has none. */
export function offsetOf(timestamp) {
  if (typeof timestamp !== "string") return null;
  if (/z$/i.test(timestamp)) return 0;
  const match = /([+-])(\d{2}):?(\d{2})$/.exec(timestamp);
  if (!match || !/T|\s\d/.test(timestamp)) return null;
  const minutes = Number(match[2]) * 60 + Number(match[3]);
  return match[1] === "-" ? -minutes : minutes;
}

/**
 * Remembers the offset the trail is written with, for "as written" times
 * that have no entry of their own (axis, inputs, clock): the newest entry's
 * (from the statistics), or until that is known, any entry's (`weak`).
 */
export function learnWrittenOffset(timestamp, weak = false) {
  const offset = offsetOf(timestamp);
  if (offset !== null && !(weak && writtenOffset !== null)) writtenOffset = offset;
}

/** Epoch milliseconds of an ISO timestamp (any number of fraction digits), NaN when unreadable. */
export function millisOf(timestamp) {
  if (typeof timestamp !== "string") return Number.NaN;
  return Date.parse(timestamp.replace(/(\.\d{3})\d+/, "$1").replace(" ", "T"));
}

/** Minutes east of UTC of the current zone at an instant. */
export function offsetAt(millis) {
  if (zone === "utc") return 0;
  if (zone === "written" && writtenOffset !== null) return writtenOffset;
  return -new Date(Number.isFinite(millis) ? millis : Date.now()).getTimezoneOffset();
}

export function offsetText(minutes) {
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

/** "2026-06-28 16:10:59" of an instant in the current zone. */
export function formatMillis(millis, withSeconds = true) {
  if (!Number.isFinite(millis)) return "";
  const iso = new Date(millis + offsetAt(millis) * MINUTE).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, withSeconds ? 19 : 16)}`;
}

/** An entry's time in the current zone; "as written" keeps the writer's own wall clock. */
export function formatTimestamp(timestamp) {
  if (typeof timestamp !== "string") return "";
  if (zone === "written") {
    const match = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})/.exec(timestamp);
    return match ? `${match[1]} ${match[2]}` : timestamp;
  }
  const millis = millisOf(timestamp);
  return Number.isFinite(millis) ? formatMillis(millis) : timestamp;
}

/** The day ("2026-06-28") an entry falls on in the current zone. */
export function dayOf(timestamp) {
  return formatTimestamp(timestamp).slice(0, 10);
}

/** What the zone is called in headers and hints: "UTC", "local, UTC+06:30", "as written, +06:30". */
export function zoneLabel() {
  if (zone === "utc") return "UTC";
  if (zone === "local") return `local, UTC${offsetText(offsetAt(Date.now()))}`;
  return writtenOffset === null ? "as written" : `as written, ${offsetText(writtenOffset)}`;
}

/** The zone in a word, for a column header: "as written", "local", "UTC". */
export function zoneShortLabel() {
  return zone === "utc" ? "UTC" : zone === "local" ? "local" : "as written";
}

/** The value of a datetime-local input showing an instant in the current zone. */
export function inputValue(millis) {
  if (!Number.isFinite(millis)) return "";
  return formatMillis(millis).replace(" ", "T");
}

/** The instant a datetime-local input means in the current zone; NaN when empty or unreadable. */
export function inputMillis(value) {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/.exec(String(value || ""));
  if (!match) return Number.NaN;
  const [year, month, day, hour, minute, second, fraction] = match.slice(1).map((part) => Number(part || 0));
  const millis = fraction ? Number(String(match[7]).padEnd(3, "0")) : 0;
  if (zone === "local") return new Date(year, month - 1, day, hour, minute, second, millis).getTime();
  const wall = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  return wall - offsetAt(wall) * MINUTE;
}
