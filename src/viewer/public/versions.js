// An entity's history as versions: each change entry's values (new_values)
// make the next version; what an entry changed is the difference between the
// version before it and the one after. An entry whose old_values disagree with
// the version before it is flagged: an auditor wants to see a change the trail
// does not explain.

const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/**
 * For entries of one entity (newest first, as listed), a Map entry -> changes
 * [{ field, before, after, hasBefore, hasAfter, claimed?, hasClaimed? }], for
 * the entries that carry old or new values.
 */
export function versionChanges(entries) {
  const result = new Map();
  const known = new Map();
  for (const entry of [...entries].reverse()) {
    const oldValues = isObject(entry.old_values) ? entry.old_values : null;
    const newValues = isObject(entry.new_values) ? entry.new_values : null;
    if (!oldValues && !newValues) continue;
    const fields = [...new Set([...Object.keys(newValues ?? {}), ...Object.keys(oldValues ?? {})])];
    const changes = [];
    for (const field of fields) {
      const hasKnown = known.has(field);
      const hasOld = oldValues !== null && Object.hasOwn(oldValues, field);
      const hasAfter = newValues !== null && Object.hasOwn(newValues, field);
      const hasBefore = hasKnown || hasOld;
      const before = hasKnown ? known.get(field) : hasOld ? oldValues[field] : undefined;
      const after = hasAfter ? newValues[field] : undefined;
      const disagrees = hasKnown && hasOld && !same(oldValues[field], known.get(field));
      if (hasBefore === hasAfter && same(before, after) && !disagrees) continue;
      changes.push({
        field,
        before,
        after,
        hasBefore,
        hasAfter,
        ...(disagrees ? { claimed: oldValues[field], hasClaimed: true } : {}),
      });
    }
    for (const field of fields) {
      if (newValues !== null && Object.hasOwn(newValues, field)) known.set(field, newValues[field]);
      else known.delete(field);
    }
    result.set(entry, changes);
  }
  return result;
}
