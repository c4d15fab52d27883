/**
 * Removes known secret strings (credentials of a configured URL, header
 * values) from text that comes back from the network or a library, such as
 * an export error, before it is written or shown anywhere.
 */
export class SecretScrubber {
  private readonly secrets: string[];

  /** `secrets` shorter than `shortest` characters are ignored: they would blank out ordinary words. */
  constructor(secrets: Iterable<string>, shortest = 4) {
    const unique = new Set<string>();
    for (const secret of secrets) if (typeof secret === "string" && secret.length >= shortest) unique.add(secret);
    // Longest first, so that a secret containing another is removed whole.
    this.secrets = [...unique].sort((a, b) => b.length - a.length);
  }

  get empty(): boolean {
    return this.secrets.length === 0;
  }

  scrub(text: string, replacement = "[REDACTED]"): string {
    let result = text;
    for (const secret of this.secrets) if (result.includes(secret)) result = result.replaceAll(secret, replacement);
    return result;
  }
}
