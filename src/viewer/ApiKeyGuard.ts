import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

export const API_KEY_HEADER = "x-api-key";
export const API_KEY_QUERY = "api_key";
export const API_KEY_COOKIE = "auditx_key";

const digest = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest();

export interface KeyCheck {
  ok: boolean;
  /** The key came as header or query (not the cookie): the answer should set the cookie. */
  setCookie: boolean;
}

/**
 * The viewer's API key check. The key is accepted as the X-API-Key header, the
 * api_key query parameter or, for what a browser cannot send headers with
 * (script tags, EventSource, WebSocket), the auditx_key cookie set on the
 * first accepted request. The cookie holds a digest of the key, not the key.
 * Comparisons are of equal-length SHA-256 digests with timingSafeEqual.
 */
export class ApiKeyGuard {
  private readonly keyDigest: Buffer | null;
  private readonly cookieToken: string | null;
  private readonly cookieDigest: Buffer | null;

  constructor(
    apiKey: string | undefined,
    readonly cookiePath: string,
  ) {
    this.keyDigest = apiKey ? digest(apiKey) : null;
    this.cookieToken = apiKey ? createHash("sha256").update("auditx-viewer-cookie\u0000").update(apiKey, "utf8").digest("hex") : null;
    this.cookieDigest = this.cookieToken ? digest(this.cookieToken) : null;
  }

  get enabled(): boolean {
    return this.keyDigest !== null;
  }

  check(request: IncomingMessage): KeyCheck {
    if (!this.keyDigest || !this.cookieDigest) return { ok: true, setCookie: false };
    const header = request.headers[API_KEY_HEADER];
    if (typeof header === "string" && timingSafeEqual(digest(header), this.keyDigest)) return { ok: true, setCookie: true };
    const query = queryKey(request.url ?? "");
    if (query !== null && timingSafeEqual(digest(query), this.keyDigest)) return { ok: true, setCookie: true };
    const cookie = cookieValue(request.headers.cookie, API_KEY_COOKIE);
    if (cookie !== null && timingSafeEqual(digest(cookie), this.cookieDigest)) return { ok: true, setCookie: false };
    return { ok: false, setCookie: false };
  }

  /** The Set-Cookie value that lets the browser's later requests in. */
  cookie(secure: boolean): string {
    return `${API_KEY_COOKIE}=${this.cookieToken}; Path=${this.cookiePath}; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}`;
  }
}

function queryKey(url: string): string | null {
  const question = url.indexOf("?");
  if (question < 0) return null;
  const values = new URLSearchParams(url.slice(question + 1)).getAll(API_KEY_QUERY);
  return values.length === 1 ? values[0]! : null;
}

function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(";")) {
    const equals = part.indexOf("=");
    if (equals > 0 && part.slice(0, equals).trim() === name) return part.slice(equals + 1).trim();
  }
  return null;
}
