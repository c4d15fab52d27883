import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { AuditViewer, AuditViewerOptions } from "./AuditViewer.js";
import { createApp } from "./createApp.js";

export interface StartViewerOptions extends Omit<AuditViewerOptions, "prefix"> {
  /** Address to bind (default 127.0.0.1: the viewer shows sensitive data). */
  host?: string;
  /** Port (default 8080; 0 picks a free one). */
  port?: number;
}

export interface RunningViewer {
  /** Where the page is, e.g. http://127.0.0.1:8080/ (without the API key). */
  url: string;
  server: Server;
  viewer: AuditViewer;
  /** Stops accepting, ends live streams and open connections, closes the files. */
  close(): Promise<void>;
}

/** Starts the viewer on its own HTTP server, WebSocket included; resolves once it listens. */
export async function startViewer(options: StartViewerOptions = {}): Promise<RunningViewer> {
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`port: expected 0..65535, got ${port}`);
  const app = createApp(options);
  const viewer = app.auditViewer;
  const server = createServer(app);
  server.on("upgrade", (request, socket, head) => {
    if (!viewer.handleUpgrade(request, socket, head)) socket.destroy();
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    await viewer.close();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${shownHost}:${address.port}/`,
    server,
    viewer,
    close() {
      closing ??= (async () => {
        await viewer.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}
