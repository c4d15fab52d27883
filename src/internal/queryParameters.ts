/**
 * Query strings as the frameworks read them, for redaction: a parameter is
 * sensitive when any part of its name is (`user[password]`, `password[]`,
 * `password[0]`, `card[cvv]`, `user.password`), after percent-decoding
 * (`password%5B%5D`, doubly encoded too), whatever the parser (qs's bracket
 * syntax in Express's extended parser, querystring in Fastify and Koa).
 */

/** Percent-decodes a name the way lenient parsers do: `+` is a space, a malformed escape stays as it is. */
function decodeOnce(text: string): string {
  const spaced = text.includes("+") ? text.replaceAll("+", " ") : text;
  if (!spaced.includes("%")) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced.replace(/%([0-9a-fA-F]{2})/g, (_match, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  }
}

/** The name a parser may end with, decoded until nothing changes (at most three times: `%255B` is `[` twice encoded). */
export function decodeParameterName(raw: string): string {
  let name = raw;
  for (let i = 0; i < 3 && (name.includes("%") || name.includes("+")); i++) {
    const decoded = decodeOnce(name);
    if (decoded === name) break;
    name = decoded;
  }
  return name;
}

/** The parts of a decoded parameter name: `user[billing][card]` -> user, billing, card. */
export function parameterNameParts(name: string): string[] {
  const parts: string[] = [];
  for (const part of name.split(/[[\].]+/)) {
    const trimmed = part.trim();
    if (trimmed !== "") parts.push(trimmed);
  }
  return parts;
}

/**
 * The verdict on a raw (encoded) parameter name: that of the whole decoded
 * name, else of the first of its parts that has one; null when none does.
 */
export function parameterVerdict<V>(raw: string, verdict: (name: string) => V | null): V | null {
  const name = decodeParameterName(raw);
  const whole = verdict(name.trim());
  if (whole !== null) return whole;
  for (const part of parameterNameParts(name)) {
    const found = verdict(part);
    if (found !== null) return found;
  }
  return null;
}

/**
 * The query (without "?") with the value of every parameter that has a
 * verdict replaced by `apply(verdict, value)`, or the parameter left out
 * when that is undefined. Separators and other parameters are kept byte for byte.
 */
export function redactQuery<V>(
  query: string,
  verdict: (name: string) => V | null,
  apply: (verdict: V, value: string) => string | undefined,
): string {
  const parts = query.split("&");
  const kept: string[] = [];
  let changed = false;
  for (const part of parts) {
    const equals = part.indexOf("=");
    const rawName = equals === -1 ? part : part.slice(0, equals);
    const found = rawName === "" ? null : parameterVerdict(rawName, verdict);
    if (found === null) {
      kept.push(part);
      continue;
    }
    changed = true;
    const replaced = apply(found, equals === -1 ? "" : decodeOnce(part.slice(equals + 1)));
    if (replaced !== undefined) kept.push(`${rawName}=${replaced}`);
  }
  return changed ? kept.join("&") : query;
}

/**
 * A URL, or a path with a query, with the sensitive values of its query
 * redacted; a fragment written like a query (`#access_token=...`) too.
 */
export function redactUrlQuery<V>(
  url: string,
  verdict: (name: string) => V | null,
  apply: (verdict: V, value: string) => string | undefined,
): string {
  const hash = url.indexOf("#");
  let fragment = hash === -1 ? "" : url.slice(hash);
  const base = hash === -1 ? url : url.slice(0, hash);
  if (fragment.includes("=")) fragment = `#${redactQuery(fragment.slice(1), verdict, apply)}`;
  const mark = base.indexOf("?");
  if (mark === -1) return base + fragment;
  const query = redactQuery(base.slice(mark + 1), verdict, apply);
  return `${base.slice(0, mark)}${query === "" ? "" : `?${query}`}${fragment}`;
}
