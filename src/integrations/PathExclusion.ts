/** The original's defaults (API docs and the favicon), and the usual health probes. */
export const DEFAULT_EXCLUDED_PATHS: ReadonlyArray<string | RegExp> = [
  "/docs",
  "/redoc",
  "/openapi.json",
  "/favicon.ico",
  "/healthz",
  "/readyz",
  "/livez",
];

/**
 * Decides which request paths are left out of the trail. A string excludes
 * the path and everything below it ("/docs" and "/docs/oauth2-redirect"), at
 * a segment boundary: unlike a bare prefix, "/docs" never leaves "/docs-export"
 * unaudited.
 */
export class PathExclusion {
  private readonly exact: Set<string>;
  private readonly parents: string[];
  private readonly patterns: RegExp[];

  constructor(rules: ReadonlyArray<string | RegExp> = DEFAULT_EXCLUDED_PATHS) {
    const strings = rules.filter((rule): rule is string => typeof rule === "string").map((path) => path.replace(/\/+$/, "") || "/");
    this.exact = new Set(strings);
    this.parents = strings.filter((path) => path !== "/").map((path) => `${path}/`);
    this.patterns = rules.filter((rule): rule is RegExp => rule instanceof RegExp);
  }

  /** Whether `path` (without the query) is excluded. */
  excludes(path: string): boolean {
    if (this.exact.has(path)) return true;
    for (const parent of this.parents) if (path.startsWith(parent)) return true;
    for (const pattern of this.patterns) {
      pattern.lastIndex = 0;
      if (pattern.test(path)) return true;
    }
    return false;
  }
}
