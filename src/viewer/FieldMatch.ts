import { IpRange } from "./IpRange.js";

/**
 * How a text filter compares with an entry's value: "contains" finds the
 * filter value anywhere in it, ignoring case (what auditX does for `user` and
 * `branch_id`: "adm" finds "admin" and "sysadmin"); "exact" wants the whole
 * value.
 */
export type TextMatch = "exact" | "contains";

/**
 * The test one filter field applies to an entry's value: true when the value
 * matches any of `values`. Every TrailSource gives a field the same meaning
 * through this function (an index runs it once per distinct value it holds,
 * not once per entry).
 */
export function valueMatcher(values: readonly string[], mode: TextMatch, ignoreCase: boolean): (value: string) => boolean {
  if (mode === "contains") {
    const needles = values.map((value) => value.toLowerCase());
    return (value) => {
      const haystack = value.toLowerCase();
      return needles.some((needle) => haystack.includes(needle));
    };
  }
  if (ignoreCase) {
    const wanted = new Set(values.map((value) => value.toLowerCase()));
    return (value) => wanted.has(value.toLowerCase());
  }
  const wanted = new Set(values);
  return (value) => wanted.has(value);
}

/** The test of an `ip` filter: the entry's address is one of the addresses, or inside one of the CIDR blocks. */
export function ipMatcher(values: readonly string[]): (value: string) => boolean {
  const ranges = values.map((value) => IpRange.parse(value)).filter((range): range is IpRange => range !== null);
  return (value) => ranges.some((range) => range.includes(value));
}
