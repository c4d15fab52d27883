import { redactUrlQuery } from "../internal/queryParameters.js";
import { isDefaultSecretName, NameCache } from "../internal/secretNames.js";

/**
 * Parameter names whose values are credentials or one-time secrets, never to
 * be written to a trail: the logger's default secret names, and what else
 * travels in query strings (OAuth codes, signatures, session ids, keys).
 */
const DEFAULT_REDACTED: ReadonlyArray<string | RegExp | ((name: string) => boolean)> = [
  /pass(word|wd|phrase)?$|^pwd$/i,
  /secret|token|api[-_]?key|apikey|signature|credential|private[-_]?key/i,
  /^(auth|authorization|key|sig|otp|pin|cvv|cvc|code|session|sessionid|ssn|card(_?number)?)$/i,
  isDefaultSecretName,
];

export const REDACTED = "[REDACTED]";

/**
 * Writes a URL (path and query) for the trail, with sensitive query values
 * replaced. A parameter is sensitive when its name or any part of it is
 * (`user[password]`, `password[]`, `password[0]`, `card[cvv]`, `a.token`),
 * percent-encoded or not, so that Express's extended (qs) parser, Fastify's
 * and Koa's all see no more than the trail shows.
 */
export class QueryRedactor {
  private readonly names: Set<string>;
  private readonly tests: ((name: string) => boolean)[];
  private readonly verdicts: NameCache<true | null>;

  constructor(
    rules: ReadonlyArray<string | RegExp | ((name: string) => boolean)> = DEFAULT_REDACTED,
    private readonly includeQuery = true,
  ) {
    this.names = new Set(rules.filter((rule): rule is string => typeof rule === "string").map((name) => name.toLowerCase()));
    this.tests = [];
    for (const rule of rules) {
      if (rule instanceof RegExp) {
        this.tests.push((name) => {
          rule.lastIndex = 0;
          return rule.test(name);
        });
      } else if (typeof rule === "function") this.tests.push(rule);
    }
    this.verdicts = new NameCache((name) => (this.isSensitive(name) ? true : null));
  }

  /** `url` as the trail's endpoint: the path, plus the query with sensitive values redacted. */
  endpoint(url: string): string {
    const mark = url.indexOf("?");
    if (mark === -1) return url;
    if (!this.includeQuery) return url.slice(0, mark);
    if (mark === url.length - 1) return url.slice(0, mark);
    return redactUrlQuery(
      url,
      (name) => this.verdicts.get(name),
      () => REDACTED,
    );
  }

  private isSensitive(name: string): boolean {
    if (this.names.has(name.toLowerCase())) return true;
    for (const test of this.tests) if (test(name)) return true;
    return false;
  }
}
