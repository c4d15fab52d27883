import type { Application } from "express";
import { AuditViewer, type AuditViewerOptions } from "./AuditViewer.js";

/**
 * Mounts the viewer in an existing Express app under `prefix` (default
 * "/audit"). Returns the viewer: call `viewer.attach(server)` on the HTTP
 * server the app listens with to serve the WebSocket route, and
 * `viewer.close()` on shutdown.
 */
export function mountAuditViewer(app: Application, options: AuditViewerOptions = {}): AuditViewer {
  const viewer = new AuditViewer({ ...options, prefix: options.prefix ?? "/audit" });
  app.use(viewer.prefix || "/", viewer.router);
  return viewer;
}
