import type { ChangeCapture } from "./ChangeCapture.js";
import { type OutboxDialect, outboxInsert } from "./outbox.js";
import type { PendingChange } from "./PendingChange.js";
import type { TransactionFrame } from "./TransactionFrame.js";

/** Runs one statement in the write's transaction (the adapter's driver call); may be synchronous. */
export type StatementRunner = (sql: string, params: unknown[]) => unknown;

/**
 * Where a statement's entries go. Outbox mode: one INSERT into the outbox,
 * run in the statement's own transaction, so that a failed insert fails the
 * statement. Otherwise the transaction's frame holds them until it ends, or,
 * for a statement that ran outside any transaction (it has committed by
 * itself), they are written now. Synchronous unless the outbox insert is not
 * (a promise or a thenable, which is awaited).
 */
export function deliverChanges(
  capture: ChangeCapture,
  changes: PendingChange[],
  frame: TransactionFrame | undefined,
  dialect: OutboxDialect,
  run: StatementRunner,
): void | Promise<void> {
  if (changes.length === 0) return;
  const table = capture.outboxTable;
  if (!table) {
    if (frame) frame.hold(changes);
    else capture.write(changes);
    return;
  }
  const { sql, params } = outboxInsert(dialect, table, changes);
  let pending: unknown;
  try {
    pending = run(sql, params);
  } catch (error) {
    capture.outboxFailed(changes, error);
  }
  // Query builders (Knex, Prisma) are thenables that run when awaited.
  if (pending !== null && typeof (pending as PromiseLike<unknown> | undefined)?.then === "function") {
    return Promise.resolve(pending).then(
      () => undefined,
      (error: unknown) => capture.outboxFailed(changes, error),
    );
  }
}

/**
 * Ends a transaction's outermost frame: committed, its entries are written
 * (a `fail` policy's write error is thrown here); else they are dropped.
 */
export function settleFrame(capture: ChangeCapture, frame: TransactionFrame, committed: boolean): void {
  if (committed) capture.write(frame.commit());
  else frame.rollback();
}

/** Longest wait for the ReadyForQuery after a statement's error (the connection is dead past it anyway). */
const READY_FOR_QUERY_WAIT_MS = 10_000;

/**
 * Whether a node-postgres client's transaction has failed: a statement in it
 * raised an error, so PostgreSQL answers its COMMIT with a ROLLBACK (and no
 * error). Read from the status of the last ReadyForQuery message, without a
 * round trip. node-postgres settles a failed statement on its ErrorResponse,
 * and the ReadyForQuery that follows may arrive later (the server sends them
 * apart on a busy machine): a client still waiting for it is waited for, a few
 * event-loop turns first, then by the millisecond, up to 10 s.
 */
export async function pgTransactionFailed(client: unknown): Promise<boolean> {
  const pg = client as { getTransactionStatus?: () => unknown; readyForQuery?: boolean } | null | undefined;
  if (typeof pg?.getTransactionStatus !== "function") return false;
  for (let turn = 0; turn < 100 && pg.readyForQuery === false; turn++) await new Promise((resolve) => setImmediate(resolve));
  const deadline = Date.now() + READY_FOR_QUERY_WAIT_MS;
  while (pg.readyForQuery === false && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 1));
  return pg.getTransactionStatus() === "E";
}
