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
 * closed; the live hubs it published to carry over.
 */
export function configure(options: AuditLoggerOptions = {}): AuditLogger {
  const previous = globalLogger;
  const next = new AuditLogger(options);
  if (previous) {
    for (const hub of previous.connectedHubs()) next.connectHub(hub);
    previous.shutdown().catch((error: unknown) => next.error(`closing the previous audit logger failed: ${String(error)}`));
  }
  globalLogger = next;
  return next;
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
