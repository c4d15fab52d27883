import type { ChangeAction, RowChange } from "./ChangeCapture.js";
import { pairRows } from "./pairRows.js";
import type { Row } from "./rowValues.js";

/**
 * The row changes of one statement from the images an adapter read: a
 * create from its after-images, a delete from its before-images, an update
 * from both, paired by key. None past the bulk cap: the statement then gets
 * one summary entry (ChangeCapture.changes).
 */
export function statementRows(
  action: ChangeAction,
  before: readonly Row[],
  after: readonly Row[],
  key: readonly string[],
  bulkLimit: number,
): RowChange[] {
  if (action === "CREATE") return after.length > bulkLimit ? [] : after.map((row) => ({ after: row }));
  if (before.length > bulkLimit) return [];
  if (action === "DELETE") return before.map((row) => ({ before: row }));
  return pairRows(before, after, key);
}

/** After-images of an update whose new values are all known: each before-image with `values` applied. */
export function withValues(before: readonly Row[], values: Row): Row[] {
  return before.map((row) => ({ ...row, ...values }));
}
