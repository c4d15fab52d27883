import type { ChangeOptions } from "../../api/options.js";

/**
 * One entry of a data change, complete when the statement ran (its context included), held
 * until the transaction ends: written to the trail after commit, or to the outbox before it.
 */
export interface PendingChange {
  /** The entry's id (UUIDv7), the same in the outbox row and in the trail. */
  readonly id: string;
  /** When the statement ran (epoch ms). */
  readonly at: number;
  readonly description: string;
  readonly options: ChangeOptions;
  /** An audit-critical entity's entry: fails its operation when it cannot be written (unless overridden). */
  readonly failure: "fail" | "report";
}
