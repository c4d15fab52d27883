import { resolve } from "node:path";
import { type AuditHub, hubFor } from "../processors/AuditHub.js";
import { AuditLogger } from "./AuditLogger.js";
import type { AuditLoggerOptions } from "./options.js";

let globalLogger: AuditLogger | undefined;

/** The logger behind `audit`, created with the defaults on first use. */
function getGlobalLogger(): AuditLogger {
  globalLogger ??= new AuditLogger();
  return globalLogger;
}

/**
 * (Re)configures the global `audit` logger. The previous one is flushed and
 * closed; the live hubs it published to carry over (its folder's hub becomes
 * the new folder's: a viewer of the old folder must not show the new one's entries).
 */
export function configure(options: AuditLoggerOptions = {}): AuditLogger {
  const previous = globalLogger;
  const next = new AuditLogger(options);
  if (previous) {
    const previousFolderHub = hubFor(previous.logDir);
    for (const hub of previous.connectedHubs()) next.connectHub(hub === previousFolderHub ? hubFor(next.logDir) : hub);
    // The previous logger's STOP entry is written as its shutdown begins, before the new one's CONFIGURE entry.
    const closing = previous.shutdown();
    next.replace(previous);
    closing.catch((error: unknown) => next.error(`closing the previous audit logger failed: ${String(error)}`));
  }
  globalLogger = next;
  return next;
}

/**
 * Connects the global logger to `hub` when it exists and writes `logDir`, as
 * a viewer of that folder does by default; returns the disconnect function,
 * or null when nothing was connected (no global logger yet, another folder,
 * or already connected).
 */
export function connectGlobalLoggerOf(logDir: string, hub: AuditHub): (() => void) | null {
  const logger = globalLogger;
  if (!logger || resolve(logger.logDir) !== resolve(logDir) || logger.connectedHubs().includes(hub)) return null;
  return logger.connectHub(hub);
}

/** An independent logger: its own log folder, sinks and settings (one per tenant or service). */
export function createLogger(options: AuditLoggerOptions = {}): AuditLogger {
  return new AuditLogger(options);
}

const methods = new Map<PropertyKey, (...args: unknown[]) => unknown>();

/**
 * The global logger as a lazy proxy: `audit.logTransaction(...)` always
 * reaches the logger of the latest configure(), created on first use — also
 * through a method taken from `audit` earlier.
 */
export const audit: AuditLogger = new Proxy(Object.create(AuditLogger.prototype) as AuditLogger, {
  get(_target, property) {
    const logger = getGlobalLogger();
    const value = Reflect.get(logger, property, logger);
    if (typeof value !== "function") return value;
    let method = methods.get(property);
    if (!method) {
      method = (...args: unknown[]) =>
        (Reflect.get(getGlobalLogger(), property) as (...a: unknown[]) => unknown).apply(getGlobalLogger(), args);
      methods.set(property, method);
    }
    return method;
  },
  set() {
    return false;
  },
});
