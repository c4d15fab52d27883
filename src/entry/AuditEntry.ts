import type { AuditEntryDict, AuditEntryFields } from "./fields.js";
import { entryToDict } from "./jsonl.js";

export type { AuditEntryDict, AuditEntryFields } from "./fields.js";

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
    Object.assign(this, fields);
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
