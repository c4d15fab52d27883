/**
 * Starts Debian's chromium through playwright-core, headless, in a fresh
 * profile folder that is removed again on close. Nothing is downloaded:
 * `npx playwright install` cannot work here, so the browser is the system one.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

export const CHROMIUM_PATH = process.env.AUDITX_CHROMIUM ?? "/usr/bin/chromium";

export interface Browser {
  context: BrowserContext;
  /** A new tab with the given viewport; console errors and page errors are collected on it. */
  newPage(viewport?: { width: number; height: number }): Promise<WatchedPage>;
  close(): Promise<void>;
}

export interface WatchedPage {
  page: Page;
  /** Uncaught exceptions and console.error lines seen so far. */
  errors: string[];
}

export interface LaunchOptions {
  /** The browser's local time zone (IANA name); default the machine's. */
  timezoneId?: string;
  /** More chromium switches, e.g. `--host-resolver-rules=MAP name 127.0.0.1` to make a name resolve to this machine. */
  args?: string[];
}

export async function launchBrowser(options: LaunchOptions = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`chromium not found at ${CHROMIUM_PATH}: install it with "apt-get install -y chromium" (or set AUDITX_CHROMIUM)`);
  }
  const profile = mkdtempSync(join(tmpdir(), "auditx-chromium-"));
  // Playwright takes the profile folder as launchPersistentContext's argument, not as --user-data-dir.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      ...(options.args ?? []),
    ],
    viewport: { width: 1400, height: 900 },
    timeout: 30_000,
    ...(options.timezoneId ? { timezoneId: options.timezoneId } : {}),
  });
  return {
    context,
    async newPage(viewport) {
      const page = await context.newPage();
      if (viewport) await page.setViewportSize(viewport);
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`));
      page.on("console", (message) => {
        if (message.type() === "error") errors.push(`console: ${message.text()}`);
      });
      return { page, errors };
    },
    async close() {
      try {
        await context.close();
      } finally {
        rmSync(profile, { recursive: true, force: true });
      }
    },
  };
}
