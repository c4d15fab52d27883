import express, { type Express } from "express";
import { AuditViewer, type AuditViewerOptions } from "./AuditViewer.js";

/** An Express app serving only the viewer; `app.auditViewer` is the viewer (attach, refresh, close). */
export type AuditViewerApp = Express & { auditViewer: AuditViewer };

/**
 * A stand-alone Express app for the viewer at "/". Listen with `app.listen()`
 * and call `app.auditViewer.attach(server)` for the WebSocket route, or use
 * `startViewer()`, which does both.
 */
export function createApp(options: Omit<AuditViewerOptions, "prefix"> = {}): AuditViewerApp {
  const app = express() as AuditViewerApp;
  app.disable("x-powered-by");
  app.set("etag", false);
  app.set("query parser", "simple");
  const viewer = new AuditViewer(options);
  app.use(viewer.router);
  app.auditViewer = viewer;
  return app;
}
