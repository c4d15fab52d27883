import type { PendingChange } from "./PendingChange.js";

/**
 * Entries of a data change could not be written to the trail. `committed` says whether the
 * change itself was committed (after-commit mode: it is, and its entries are lost unless the
 * caller acts) or not (outbox mode: the transaction failed with the audit write).
 */
export class ChangeAuditError extends Error {
  override readonly name = "ChangeAuditError";
  readonly committed: boolean;
  readonly changes: readonly PendingChange[];

  constructor(message: string, options: { cause: unknown; committed: boolean; changes: readonly PendingChange[] }) {
    super(message, { cause: options.cause });
    this.committed = options.committed;
    this.changes = options.changes;
  }
}
