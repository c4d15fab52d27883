/**
 * ISO 8601 timestamps with the local offset and millisecond precision
 * ("2026-11-29T08:24:57.123+06:30"). The text up to the second is cached, so a
 * log call formats only its three millisecond digits.
 */

let cachedSecond = Number.NaN;
let cachedPrefix = "";
let cachedOffset = "";

const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);

function offsetText(date: Date): string {
  const minutes = -date.getTimezoneOffset();
  const sign = minutes >= 0 ? "+" : "-";
  const abs = Math.abs(minutes);
  return `${sign}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
}

export function formatTimestamp(millis: number): string {
  const second = Math.floor(millis / 1000);
  if (second !== cachedSecond) {
    const date = new Date(second * 1000);
    cachedPrefix = `${date.getFullYear()}-${pad2(date.getMonth() + 1)}-${pad2(date.getDate())}T${pad2(date.getHours())}:${pad2(date.getMinutes())}:${pad2(date.getSeconds())}.`;
    cachedOffset = offsetText(date);
    cachedSecond = second;
  }
  const ms = millis - second * 1000;
  return `${cachedPrefix}${ms < 10 ? "00" : ms < 100 ? "0" : ""}${ms}${cachedOffset}`;
}

/** A timestamp in the form above, at a fixed offset from UTC (minutes east), e.g. an imported entry's own. */
export function formatTimestampAtOffset(millis: number, offsetMinutes: number): string {
  const shifted = new Date(millis + offsetMinutes * 60_000);
  const sign = offsetMinutes >= 0 ? "+" : "-";
  const abs = Math.abs(offsetMinutes);
  const ms = shifted.getUTCMilliseconds();
  return (
    `${shifted.getUTCFullYear()}-${pad2(shifted.getUTCMonth() + 1)}-${pad2(shifted.getUTCDate())}T` +
    `${pad2(shifted.getUTCHours())}:${pad2(shifted.getUTCMinutes())}:${pad2(shifted.getUTCSeconds())}.` +
    `${ms < 10 ? "00" : ms < 100 ? "0" : ""}${ms}${sign}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`
  );
}

let textSecond = Number.NaN;
let textCached = "";

/** app.log's "dd/mm/yyyy hh:mm:ss AM" in local time, cached per second too. */
export function formatAppLogTime(millis: number): string {
  const second = Math.floor(millis / 1000);
  if (second !== textSecond) {
    const d = new Date(second * 1000);
    const hours = d.getHours();
    const twelve = hours % 12 === 0 ? 12 : hours % 12;
    textCached = `${pad2(d.getDate())}/${pad2(d.getMonth() + 1)}/${d.getFullYear()} ${pad2(twelve)}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ${hours < 12 ? "AM" : "PM"}`;
    textSecond = second;
  }
  return textCached;
}

let loggingSecond = Number.NaN;
let loggingCached = "";

/** The original's app message time, Python logging's "yyyy-mm-dd hh:mm:ss,mmm", in local time. */
export function formatLoggingTime(millis: number): string {
  const second = Math.floor(millis / 1000);
  if (second !== loggingSecond) {
    const d = new Date(second * 1000);
    loggingCached = `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())},`;
    loggingSecond = second;
  }
  const ms = millis - second * 1000;
  return `${loggingCached}${ms < 10 ? "00" : ms < 100 ? "0" : ""}${ms}`;
}

/** Epoch milliseconds of an OTel HrTime ([seconds, nanoseconds]). */
export function hrTimeMillis(hrTime: readonly [number, number]): number {
  return hrTime[0] * 1000 + Math.floor(hrTime[1] / 1e6);
}
