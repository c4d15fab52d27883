// How values read on the page: counts, amounts, results.

export const numberFormat = new Intl.NumberFormat(undefined);
export const amountFormat = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export function formatCount(value) {
  return typeof value === "number" ? numberFormat.format(value) : "–";
}

export function formatValue(value) {
  if (value === undefined) return "";
  if (value === null) return "null";
  if (typeof value === "string") return value;
  if (typeof value === "number") return numberFormat.format(value);
  return JSON.stringify(value);
}

export function isFailure(entry) {
  return entry.success === false || (typeof entry.status === "number" && entry.status >= 400);
}

/**
 * The Result column, one rule for every row: the HTTP status when it tells the
 * outcome (a success with its 2xx/3xx status, a failure with its 4xx/5xx
 * status), otherwise "ok" or "failed" — never a failure shown as "200".
 */
export function resultOf(entry) {
  const failed = isFailure(entry);
  const status = typeof entry.status === "number" ? entry.status : null;
  const telling = status !== null && (failed ? status >= 400 : status < 400);
  return {
    failed,
    text: `${failed ? "✕" : "✓"} ${telling ? status : failed ? "failed" : "ok"}`,
    title: failed ? `failed${status !== null ? ` (status ${status})` : ""}` : `succeeded${status !== null ? ` (status ${status})` : ""}`,
  };
}

/** A field's value as written (numbers without grouping: ids, statuses). */
export function plainValue(value) {
  if (value === undefined) return "";
  if (value === null) return "null";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}
