import type { RowChange } from "./ChangeCapture.js";
import { entityIdOf, hasKey } from "./entityKey.js";
import type { Row } from "./rowValues.js";

/**
 * Before- and after-images of an update matched by key. An after-image
 * without a before-image (a row that came to match between the read and the
 * write) keeps `before` undefined; a before-image without an after-image
 * (a row the write no longer matched) is dropped: it did not change.
 */
export function pairRows(before: readonly Row[], after: readonly Row[], key: readonly string[]): RowChange[] {
  const byKey = new Map<string, Row>();
  for (const row of before) if (hasKey(row, key)) byKey.set(entityIdOf(row, key), row);
  return after.map((row) => ({ before: hasKey(row, key) ? byKey.get(entityIdOf(row, key)) : undefined, after: row }));
}
