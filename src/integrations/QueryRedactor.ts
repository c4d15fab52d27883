/** Parameter names whose values are credentials or one-time secrets, never to be written to a trail. */
const DEFAULT_REDACTED: ReadonlyArray<string | RegExp> = [
  /pass(word|wd|phrase)?$|^pwd$/i,
  /secret|token|api[-_]?key|apikey|signature|credential|private[-_]?key/i,
  /^(auth|authorization|key|sig|otp|pin|cvv|cvc|code|session|sessionid|ssn|card(_?number)?)$/i,
];

export const REDACTED = "[REDACTED]";

/** Writes a URL (path and query) for the trail, with sensitive query values replaced. */
export class QueryRedactor {
  private readonly names: Set<string>;
  private readonly patterns: RegExp[];

  constructor(
    rules: ReadonlyArray<string | RegExp> = DEFAULT_REDACTED,
    private readonly includeQuery = true,
  ) {
    this.names = new Set(rules.filter((rule): rule is string => typeof rule === "string").map((name) => name.toLowerCase()));
    this.patterns = rules.filter((rule): rule is RegExp => rule instanceof RegExp);
  }

  /** `url` as the trail's endpoint: the path, plus the query with sensitive values redacted. */
  endpoint(url: string): string {
    const mark = url.indexOf("?");
    if (mark === -1) return url;
    if (!this.includeQuery) return url.slice(0, mark);
    const query = url.slice(mark + 1);
    if (query === "") return url.slice(0, mark);
    const parts = query.split("&");
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      const equals = part.indexOf("=");
      const rawName = equals === -1 ? part : part.slice(0, equals);
      if (this.isSensitive(decodeName(rawName))) parts[i] = `${rawName}=${REDACTED}`;
    }
    return `${url.slice(0, mark)}?${parts.join("&")}`;
  }

  private isSensitive(name: string): boolean {
    if (this.names.has(name.toLowerCase())) return true;
    for (const pattern of this.patterns) {
      pattern.lastIndex = 0;
      if (pattern.test(name)) return true;
    }
    return false;
  }
}

/** A query parameter name as the application sees it (`api%5Fkey` is `api_key`); undecodable names are matched raw. */
function decodeName(raw: string): string {
  if (!raw.includes("%") && !raw.includes("+")) return raw;
  try {
    return decodeURIComponent(raw.replaceAll("+", " "));
  } catch {
    return raw;
  }
}
