import { type AuditEntryDict, type AuditEntryFields, ENTRY_FIELDS } from "./fields.js";
import { entryToDict } from "./jsonl.js";

export type { AuditEntryDict, AuditEntryFields } from "./fields.js";

/**
 * Copies every declared field, compiled once from ENTRY_FIELDS: one store per
 * field in a fixed order keeps every entry on one hidden class, where
 * Object.assign onto a new instance costs about ten times as much.
 */
const assignFields = new Function(
  "entry",
  "fields",
  ENTRY_FIELDS.map((field) => `entry.${field.key} = fields.${field.key};`).join("\n"),
) as (entry: AuditEntry, fields: AuditEntryFields) => void;

// The properties are the declared fields (fields.ts); the class adds the conversions.
export interface AuditEntry extends Readonly<AuditEntryFields> {}

/**
 * One audit record, as every log method returns it and as `onAudit` receives
 * it: camelCase properties; `toDict()` is exactly the JSONL object. Frozen:
 * every sink sees the entry the trail holds, whatever another sink does to it.
 * The integrity fields (chainId, seq, prevHash, hash) are set when the trail
 * writer seals lines (`integrity` on), empty otherwise.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: see the interface above.
export class AuditEntry {
  constructor(fields: AuditEntryFields) {
    assignFields(this, fields);
    Object.freeze(this);
  }

  /** The JSONL object: snake_case, in the trail's field order, empty values left out. */
  toDict(): AuditEntryDict {
    return entryToDict(this);
  }

  toJSON(): AuditEntryDict {
    return entryToDict(this);
  }
}
