import type { JsonValue } from "../json.js";

/**
 * What replaces a redacted value:
 * - a string: the value is replaced by it (default "[REDACTED]");
 * - `{ remove: true }`: the key is left out (a text field is left empty);
 * - `{ mask: { keep } }`: every character but the last `keep` (default 4, never more than half) becomes `char` (default "*");
 * - `{ hmac: { key } }`: a keyed pseudonym, `[HMAC:…]` (HMAC-SHA-256), the same for the same value and key,
 *   so that an auditor can tell that two entries name the same card or account without seeing it;
 * - a function of the value and its path (`metadata.card.number`); returning undefined removes the key.
 */
export type RedactCensor =
  | string
  | { readonly remove: true }
  | { readonly mask: { readonly keep?: number; readonly char?: string } }
  | { readonly hmac: { readonly key: string | Uint8Array; readonly keyId?: string } }
  | ((value: JsonValue, path: string) => unknown);

/** One path with a censor of its own. */
export interface RedactRule {
  readonly path: string;
  readonly censor: RedactCensor;
}

/**
 * The `redact` option of a logger. Paths are dot-separated keys:
 * `metadata.iban` starts at an entry field (`old_values`, `new_values`,
 * `metadata`, `fields` for the extra fields of app.log messages, or a text
 * field such as `user` or `ip`); `*` is any one key, `**` any number of
 * levels, `*` inside a key a run of characters (`*_token`); a path whose first
 * key is not a field (`password`, `card.cvv`) matches at any depth. Keys
 * match case-insensitively; arrays are looked through.
 */
export interface RedactOptions {
  /** More paths to redact, each a string (with `censor`) or a rule with a censor of its own. */
  readonly paths?: ReadonlyArray<string | RedactRule>;
  /** What replaces a value found by `paths` or by the default secret names (default "[REDACTED]"). */
  readonly censor?: RedactCensor;
  /** As in pino: true is `censor: { remove: true }`. */
  readonly remove?: boolean;
  /** The default list of secret names (passwords, tokens, secrets, API keys, ...): on unless false. */
  readonly defaults?: boolean;
  /** Key names the default list leaves alone (case-insensitive), e.g. "pin_code" for a postal code. */
  readonly keep?: readonly string[];
  /** Mask payment card numbers (13-19 digits passing the Luhn check) in every text value to their last 4 digits (default false). */
  readonly pan?: boolean;
}

/** The logger option: options, a list of extra paths (defaults on), or false for no redaction at all. */
export type RedactOption = RedactOptions | readonly string[] | false;
