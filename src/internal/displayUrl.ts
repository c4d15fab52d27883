/**
 * A URL as it may be shown (in app.log, stats, error messages and the
 * logger's start entry): without its user-info, and with the values of
 * credential-like query parameters replaced, so that a collector URL such as
 * `https://user:pass@siem.example/v1/logs?token=...` never leaks its secrets.
 */
import { redactUrlQuery } from "./queryParameters.js";
import { isDefaultSecretName } from "./secretNames.js";

export const HIDDEN = "[REDACTED]";

/** Query parameters that carry credentials in endpoint URLs besides the default secret names (signed URLs, SAS tokens, keys). */
const CREDENTIAL_PARAMETERS = new Set([
  "key",
  "sig",
  "signature",
  "code",
  "auth",
  "access",
  "sas",
  "se",
  "sp",
  "sv",
  "sr",
  "st",
  "skoid",
  "sktid",
]);

/** Whether a query parameter of an endpoint URL carries a credential. */
export function isCredentialParameter(name: string): boolean {
  const lower = name.toLowerCase();
  return (
    CREDENTIAL_PARAMETERS.has(lower) ||
    lower.includes("signature") ||
    lower.includes("credential") ||
    lower.includes("auth") ||
    isDefaultSecretName(name)
  );
}

/** The URL without user-info and credential values; text that is not a URL is not shown at all. */
export function displayUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `(not a URL, ${url.length} characters)`;
  }
  const hadCredentials = parsed.username !== "" || parsed.password !== "";
  parsed.username = "";
  parsed.password = "";
  let shown = parsed.href;
  if (hadCredentials) shown = shown.replace("://", `://${HIDDEN}@`);
  return redactUrlQuery(
    shown,
    (name) => (isCredentialParameter(name) ? true : null),
    () => HIDDEN,
  );
}

/** The secrets a URL carries (user name, password, credential query values), raw and decoded, to scrub from messages. */
export function urlSecrets(url: string): string[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [url];
  }
  // The whole URL only when showing it would show a secret: a plain collector URL stays readable in messages.
  const secrets: string[] = displayUrl(url) === url ? [] : [url];
  for (const part of [parsed.username, parsed.password]) {
    if (part !== "") secrets.push(part, safeDecode(part));
  }
  for (const [name, value] of parsed.searchParams) {
    if (value !== "" && isCredentialParameter(name)) secrets.push(value, encodeURIComponent(value));
  }
  return secrets;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
