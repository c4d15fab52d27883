import { uuidv7 } from "../../internal/uuid.js";
import type { PendingChange } from "./PendingChange.js";

/**
 * Changes held until their transaction ends. A savepoint (nested
 * transaction) is a frame of its own: released, its changes move to the
 * enclosing frame; rolled back, they are dropped. Only the outermost frame's
 * commit hands changes out to be written.
 */
export class TransactionFrame {
  /** The transaction's id, shared by its savepoints: metadata.transaction_id of its entries. */
  readonly id: string;
  readonly parent: TransactionFrame | undefined;
  private changes: PendingChange[] = [];
  private ended = false;

  constructor(parent?: TransactionFrame) {
    this.parent = parent;
    this.id = parent?.id ?? uuidv7(Date.now());
  }

  hold(changes: readonly PendingChange[]): void {
    if (changes.length === 0) return;
    if (this.ended) throw new Error("audit capture: a change arrived after its transaction ended");
    for (const change of changes) this.changes.push(change);
  }

  /** The savepoint was released or the transaction committed: the changes to write now (none for a savepoint). */
  commit(): PendingChange[] {
    if (this.ended) return [];
    this.ended = true;
    const changes = this.changes;
    this.changes = [];
    if (this.parent) {
      this.parent.hold(changes);
      return [];
    }
    return changes;
  }

  /** The transaction or savepoint was rolled back: its changes never happened. */
  rollback(): void {
    this.ended = true;
    this.changes = [];
  }

  get size(): number {
    return this.changes.length;
  }
}
