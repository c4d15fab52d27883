import { audit } from "../api/configure.js";
import { type AuditHub, defaultHub } from "../processors/AuditHub.js";
import type { HubConnectable } from "./AuditViewer.js";

/** Publishes what `logger` writes to `hub` (default: the viewer's defaultHub); returns the disconnect function. */
export function connectLogger(logger: HubConnectable, hub: AuditHub = defaultHub): () => void {
  return logger.connectHub(hub);
}

/** Connects the global `audit` logger to the hub, so that a viewer in this process shows its entries at once. */
export function enableRealtime(hub: AuditHub = defaultHub): () => void {
  return audit.connectHub(hub);
}
