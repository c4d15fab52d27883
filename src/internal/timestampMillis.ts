const digit = (text: string, at: number): number => {
  const code = text.charCodeAt(at) - 48;
  return code >= 0 && code <= 9 ? code : Number.NaN;
};

const two = (text: string, at: number): number => digit(text, at) * 10 + digit(text, at + 1);

/** Whether parsed date and time parts are numbers in their ranges (a leap second and 24:00 allowed). */
function partsInRange(year: number, month: number, day: number, hour: number, minute: number, second: number): boolean {
  return (
    !Number.isNaN(year + month + day + hour + minute + second) &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= 31 &&
    hour <= 24 &&
    minute <= 59 &&
    second <= 60
  );
}

/**
 * Epoch milliseconds of a trail timestamp: ours ("2026-11-29T08:24:57.123+06:30"),
 * the Python original's ("2026-06-28T16:10:59.123456+06:30", or without an
 * offset, which means local time) and "Z" forms. NaN when it is not a timestamp.
 * The common shapes are parsed by hand: Date.parse costs ~2 us, 2 s per million lines.
 */
export function timestampMillis(text: string): number {
  if (
    text.length < 19 ||
    text.charCodeAt(4) !== 45 ||
    text.charCodeAt(7) !== 45 ||
    text.charCodeAt(13) !== 58 ||
    text.charCodeAt(16) !== 58
  ) {
    return fallback(text);
  }
  const separator = text.charCodeAt(10);
  if (separator !== 84 && separator !== 32 && separator !== 116) return fallback(text);
  const year = two(text, 0) * 100 + two(text, 2);
  const month = two(text, 5);
  const day = two(text, 8);
  const hour = two(text, 11);
  const minute = two(text, 14);
  const second = two(text, 17);
  let at = 19;
  let millis = 0;
  if (text.charCodeAt(at) === 46 || text.charCodeAt(at) === 44) {
    at++;
    let scale = 100;
    const start = at;
    while (at < text.length) {
      const d = digit(text, at);
      if (Number.isNaN(d)) break;
      if (scale >= 1) millis += d * scale;
      scale /= 10;
      at++;
    }
    if (at === start) return Number.NaN;
  }
  if (!partsInRange(year, month, day, hour, minute, second)) return Number.NaN;
  if (at === text.length) return new Date(year, month - 1, day, hour, minute, second, Math.floor(millis)).getTime();
  const zone = text.charCodeAt(at);
  if ((zone === 90 || zone === 122) && at + 1 === text.length)
    return Date.UTC(year, month - 1, day, hour, minute, second, Math.floor(millis));
  if (zone !== 43 && zone !== 45) return Number.NaN;
  const offsetHours = two(text, at + 1);
  let offsetMinutes = 0;
  if (at + 3 === text.length) offsetMinutes = 0;
  else if (text.charCodeAt(at + 3) === 58 && at + 6 === text.length) offsetMinutes = two(text, at + 4);
  else if (at + 5 === text.length) offsetMinutes = two(text, at + 3);
  else return Number.NaN;
  const offset = (offsetHours * 60 + offsetMinutes) * (zone === 45 ? -1 : 1);
  if (Number.isNaN(offset)) return Number.NaN;
  return Date.UTC(year, month - 1, day, hour, minute, second, Math.floor(millis)) - offset * 60_000;
}

const byteDigit = (bytes: Uint8Array, at: number): number => {
  const code = bytes[at]! - 48;
  return code >= 0 && code <= 9 ? code : Number.NaN;
};

const byteTwo = (bytes: Uint8Array, at: number): number => byteDigit(bytes, at) * 10 + byteDigit(bytes, at + 1);

/**
 * timestampMillis of the ASCII text in bytes[start, end), read from the bytes
 * (making a string costs more than parsing it). The common shapes only:
 * others are made a string for timestampMillis.
 */
export function timestampMillisOfBytes(bytes: Uint8Array, start: number, end: number): number {
  const length = end - start;
  const separator = bytes[start + 10];
  if (
    length < 20 ||
    bytes[start + 4] !== 45 ||
    bytes[start + 7] !== 45 ||
    bytes[start + 13] !== 58 ||
    bytes[start + 16] !== 58 ||
    (separator !== 84 && separator !== 32 && separator !== 116)
  ) {
    return timestampMillis(Buffer.from(bytes.buffer, bytes.byteOffset + start, length).toString("latin1"));
  }
  const year = byteTwo(bytes, start) * 100 + byteTwo(bytes, start + 2);
  const month = byteTwo(bytes, start + 5);
  const day = byteTwo(bytes, start + 8);
  const hour = byteTwo(bytes, start + 11);
  const minute = byteTwo(bytes, start + 14);
  const second = byteTwo(bytes, start + 17);
  let at = start + 19;
  let millis = 0;
  if (bytes[at] === 46 || bytes[at] === 44) {
    at++;
    let scale = 100;
    const first = at;
    while (at < end) {
      const d = byteDigit(bytes, at);
      if (Number.isNaN(d)) break;
      if (scale >= 1) millis += d * scale;
      scale /= 10;
      at++;
    }
    if (at === first) return Number.NaN;
  }
  if (!partsInRange(year, month, day, hour, minute, second)) return Number.NaN;
  if (at === end) return new Date(year, month - 1, day, hour, minute, second, Math.floor(millis)).getTime();
  const zone = bytes[at];
  if ((zone === 90 || zone === 122) && at + 1 === end) return Date.UTC(year, month - 1, day, hour, minute, second, Math.floor(millis));
  if (zone !== 43 && zone !== 45) return Number.NaN;
  const offsetHours = at + 2 < end ? byteTwo(bytes, at + 1) : Number.NaN;
  let offsetMinutes = 0;
  if (at + 3 === end) offsetMinutes = 0;
  else if (bytes[at + 3] === 58 && at + 6 === end) offsetMinutes = byteTwo(bytes, at + 4);
  else if (at + 5 === end) offsetMinutes = byteTwo(bytes, at + 3);
  else return Number.NaN;
  const offset = (offsetHours * 60 + offsetMinutes) * (zone === 45 ? -1 : 1);
  if (Number.isNaN(offset)) return Number.NaN;
  return Date.UTC(year, month - 1, day, hour, minute, second, Math.floor(millis)) - offset * 60_000;
}

function fallback(text: string): number {
  // Only ISO-like dates: Date.parse also accepts "1" or "March 7", which no trail writes.
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return Number.NaN;
  const millis = Date.parse(text);
  return Number.isFinite(millis) ? millis : Number.NaN;
}

const ZONE = /(?:[zZ]|([+-])(\d{2})(?::?(\d{2}))?)$/;

/**
 * The UTC offset a timestamp states, in minutes east ("+06:30" -> 390, "Z" ->
 * 0), or undefined when it states none (local time).
 */
export function timestampOffset(text: string): number | undefined {
  // The zone follows the time of day: hh:mm:ss at 11..18, so it is searched after that.
  const match = ZONE.exec(text.slice(19));
  if (!match) return undefined;
  if (match[1] === undefined) return 0;
  const minutes = Number(match[2]) * 60 + Number(match[3] ?? 0);
  return match[1] === "-" ? -minutes : minutes;
}
