/** Starts the real viewer for a browser test on 127.0.0.1 and a free port, with a hub of its own. */
import { AuditHub } from "../../src/index.js";
import { type StartViewerOptions, startViewer } from "../../src/viewer/index.js";

export interface TestViewer {
  url: string;
  close(): Promise<void>;
}

export async function startTestViewer(
  options: { logDir: string; apiKey?: string; port?: number } & Pick<StartViewerOptions, "apiKeys" | "auditReads">,
): Promise<TestViewer> {
  const running = await startViewer({
    logDir: options.logDir,
    apiKey: options.apiKey,
    apiKeys: options.apiKeys,
    host: "127.0.0.1",
    port: options.port ?? 0,
    realtime: true,
    // The viewer's record of reads would add entries to the trail the page is checked against.
    auditReads: options.auditReads ?? false,
    // A hub per viewer: entries other tests write in this process must not show up here.
    hub: new AuditHub(),
  });
  return { url: running.url, close: () => running.close() };
}
