import { resolve } from "node:path";
import { audit } from "../api/configure.js";
import { AuditConfigError } from "../entry/errors.js";
import { AuditHub, defaultHub, hubFor } from "../processors/AuditHub.js";
import type { HubConnectable } from "./AuditViewer.js";

export interface EnableRealtimeOptions {
  /** The logger to connect (default: the global `audit` logger). */
  logger?: HubConnectable & { readonly logDir: string };
  /** The folder the viewer reads: refused with an AuditConfigError when the logger writes another. */
  logDir?: string;
  /** The hub to publish to (default: the logger's folder's, hubFor(logger.logDir)). */
  hub?: AuditHub;
}

/**
 * Publishes what `logger` writes to `hub` (default: the hub of the folder it
 * writes, which a viewer of that folder listens to); returns the disconnect
 * function.
 */
export function connectLogger(logger: HubConnectable, hub?: AuditHub): () => void {
  return logger.connectHub(hub ?? (logger.logDir === undefined ? defaultHub : hubFor(logger.logDir)));
}

/**
 * Connects the global `audit` logger (or `options.logger`) to its folder's
 * hub, so that a viewer of that folder in this process shows its entries at
 * once. With `logDir`, refuses a logger that writes another folder (its
 * entries would never be in that viewer's trail), as auditX's enable_realtime.
 */
export function enableRealtime(options: EnableRealtimeOptions | AuditHub = {}): () => void {
  const { logger = audit, logDir, hub } = options instanceof AuditHub ? { hub: options } : options;
  if (logDir !== undefined && resolve(logDir) !== resolve(logger.logDir)) {
    throw new AuditConfigError(
      `enableRealtime: logDir ${JSON.stringify(logDir)} does not match the logger's folder ${JSON.stringify(logger.logDir)}`,
    );
  }
  return logger.connectHub(hub ?? hubFor(logger.logDir));
}
