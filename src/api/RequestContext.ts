import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import { toText } from "../entry/normalize.js";

/** Who and where: the fields a request or job carries into every audit entry. */
export interface RequestContextFields {
  user?: string;
  userRole?: string;
  companyId?: string;
  branchId?: string;
  ip?: string;
  requestId?: string;
  sessionId?: string;
  method?: string;
  endpoint?: string;
}

/** A plain, JSON-serialisable copy of the context: what a job carries to a worker. */
export type RequestContextSnapshot = Readonly<RequestContextFields>;

const FIELD_NAMES = ["user", "userRole", "companyId", "branchId", "ip", "requestId", "sessionId", "method", "endpoint"] as const;

/** Copies only the known fields with string values, so a snapshot never carries anything else. */
function pick(fields: RequestContextFields | undefined, into: RequestContextFields = {}): RequestContextFields {
  if (!fields) return into;
  for (const name of FIELD_NAMES) {
    const value = fields[name];
    if (value !== undefined && value !== null) into[name] = typeof value === "string" ? value : toText(value, 1024);
  }
  return into;
}

const storage = new AsyncLocalStorage<RequestContextFields>();

/** The fields with a request id: theirs, else `inherited`, else a new UUID. */
function withRequestId(fields: RequestContextFields, inherited?: string): RequestContextFields {
  if (!fields.requestId) fields.requestId = inherited || randomUUID();
  return fields;
}

/**
 * Request- and job-scoped context on AsyncLocalStorage. Inside `run()` the
 * scope's store is shared by everything the callback starts, so a guard that
 * calls `update()` after a middleware's `run()` is seen by that middleware's
 * completion entry; separate `run()` scopes never see each other.
 */
export const RequestContext = {
  /**
   * Replaces the current scope's fields (outside any scope, starts one for the
   * current async chain). As in the original, the scope gets a request id when
   * the fields carry none: the current scope's (a guard's set() inside a
   * request keeps the request's id), else a new UUID.
   */
  set(fields: RequestContextFields): void {
    const store = storage.getStore();
    const requestId = store?.requestId;
    if (store) {
      for (const name of FIELD_NAMES) delete store[name];
      withRequestId(pick(fields, store), requestId);
    } else {
      storage.enterWith(withRequestId(pick(fields)));
    }
  },

  /** Merges fields into the current scope. */
  update(fields: RequestContextFields): void {
    const store = storage.getStore();
    if (store) pick(fields, store);
    else storage.enterWith(pick(fields));
  },

  /** A plain snapshot of the current fields ({} outside any scope). */
  get(): RequestContextSnapshot {
    return { ...storage.getStore() };
  },

  /** Clears the current scope's fields. */
  clear(): void {
    const store = storage.getStore();
    if (store) for (const name of FIELD_NAMES) delete store[name];
  },

  /**
   * Runs `fn` in a new scope holding the current fields overlaid with
   * `fields` (a snapshot from `get()` restores a request's context in a job);
   * a scope without a request id gets a new one, so its entries correlate.
   */
  run<T>(fields: RequestContextFields, fn: () => T): T {
    return storage.run(withRequestId(pick(fields, { ...storage.getStore() })), fn);
  },
};

/** The live store of the current scope, read on every log call without a copy (not exported from the package). */
export function currentContext(): Readonly<RequestContextFields> | undefined {
  return storage.getStore();
}
