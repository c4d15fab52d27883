/**
 * The default list of secret names: keys and parameters whose values are
 * credentials (passwords, tokens, secrets, API keys, authorization headers,
 * cookies, card verification codes, PINs, one-time codes, card numbers). A
 * name is matched by its words, so that `newPassword`, `db_password`,
 * `X-API-Key`, `apiKey` and `refresh-token` all match while `secretary`,
 * `author` and `span_id` do not.
 */

/** A name that is a secret when one of its words is one of these. */
const SECRET_WORDS = new Set([
  "password",
  "passwords",
  "passwd",
  "passphrase",
  "passcode",
  "pwd",
  "secret",
  "secrets",
  "token",
  "tokens",
  "bearer",
  "apikey",
  "apikeys",
  "authorization",
  "cookie",
  "cookies",
  "credential",
  "credentials",
  "privatekey",
  "cvv",
  "cvv2",
  "cvc",
  "cvc2",
  "pin",
  "otp",
  "totp",
  "hotp",
  "pan",
  "ccn",
  "cardnumber",
  "creditcard",
]);

/** ...or when its words contain one of these runs of words. */
const SECRET_PHRASES: readonly (readonly string[])[] = [
  ["api", "key"],
  ["private", "key"],
  ["access", "key"],
  ["signing", "key"],
  ["encryption", "key"],
  ["card", "number"],
  ["card", "num"],
  ["card", "no"],
  ["card", "pan"],
  ["credit", "card"],
  ["debit", "card"],
  ["cc", "number"],
  ["cc", "num"],
  ["security", "code"],
  ["verification", "code"],
  ["auth", "code"],
  ["one", "time", "code"],
];

/** ...or when, written without separators, it contains one of these (`accesstoken`, `mypassword`). */
const SECRET_INFIXES = ["password", "passwd", "passphrase", "apikey", "secretkey", "privatekey", "accesskey", "cardnumber", "creditcard"];

/** ...or ends with one of these (`csrftoken`, `clientsecret`, `sessioncookie`). */
const SECRET_SUFFIXES = ["token", "tokens", "secret", "secrets", "pwd", "cookie", "cookies", "authorization"];

/** Exactly these names, which are too short to match as words of longer names. */
const SECRET_EXACT = new Set(["auth", "pass", "card", "cvv", "sig"]);

/** The words of a name: split at separators, at lower-to-upper case steps and at letter-digit steps, lower-cased. */
export function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word !== "");
}

function containsRun(words: readonly string[], run: readonly string[]): boolean {
  outer: for (let start = 0; start + run.length <= words.length; start++) {
    for (let i = 0; i < run.length; i++) if (words[start + i] !== run[i]) continue outer;
    return true;
  }
  return false;
}

/** Whether a key or parameter name is on the default list of secret names (not cached: see SecretNameCache). */
export function isDefaultSecretName(name: string): boolean {
  const words = nameWords(name);
  if (words.length === 0) return false;
  for (const word of words) if (SECRET_WORDS.has(word)) return true;
  for (const run of SECRET_PHRASES) if (containsRun(words, run)) return true;
  const compact = words.join("");
  if (SECRET_EXACT.has(compact)) return true;
  for (const infix of SECRET_INFIXES) if (compact.includes(infix)) return true;
  for (const suffix of SECRET_SUFFIXES) if (compact.endsWith(suffix)) return true;
  return false;
}

/** How many names a cache remembers before it starts over (keys repeat: an ERP has a few hundred). */
const CACHE_LIMIT = 8192;

/**
 * Remembers a verdict per name, so that the hot path pays one Map lookup per
 * key instead of splitting it into words again.
 */
export class NameCache<V> {
  private readonly verdicts = new Map<string, V>();

  constructor(private readonly decide: (name: string) => V) {}

  get(name: string): V {
    let verdict = this.verdicts.get(name);
    if (verdict === undefined && !this.verdicts.has(name)) {
      verdict = this.decide(name);
      if (this.verdicts.size >= CACHE_LIMIT) this.verdicts.clear();
      this.verdicts.set(name, verdict);
    }
    return verdict as V;
  }
}
