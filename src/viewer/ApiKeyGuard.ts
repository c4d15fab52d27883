import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { TrailScope } from "./TrailScope.js";
import type { TrailName } from "./TrailSource.js";
import { keyDigest, type ResolvedKey } from "./ViewerKeys.js";

export const API_KEY_HEADER = "x-api-key";
export const API_KEY_QUERY = "api_key";
export const API_KEY_COOKIE = "auditx_key";

const digest = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest();
const ALL_SOURCES: ReadonlySet<TrailName> = new Set(["audit", "security"]);

/** Who is reading: the id of the key it came with ("anonymous" without keys) and what it may see. */
export interface Reader {
  readonly id: string;
  readonly scope: TrailScope;
  readonly sources: ReadonlySet<TrailName>;
}

export const ANONYMOUS: Reader = Object.freeze({ id: "anonymous", scope: {}, sources: ALL_SOURCES });

export type KeyCheck =
  | {
      ok: true;
      reader: Reader;
      /** The key came as header or query (not the cookie): the answer should set the cookie. */
      setCookie: boolean;
    }
  | {
      ok: false;
      /** A key (or key cookie) was sent and is not one of the keys; false when none was sent. */
      presented: boolean;
    };

interface GuardedKey {
  reader: Reader;
  digest: Buffer;
  cookieToken: string;
  cookieDigest: Buffer;
}

/**
 * The viewer's API key check, over one or several keys. A key is accepted as
 * the X-API-Key header, the api_key query parameter or, for what a browser
 * cannot send headers with (script tags, EventSource, WebSocket), the
 * auditx_key cookie set on the first accepted request; the cookie holds a
 * digest of the key, not the key. Every key is compared, with timingSafeEqual
 * on equal-length SHA-256 digests, whichever matches: the time taken tells
 * nothing about which key, or how much of one, was right.
 */
export class ApiKeyGuard {
  private readonly keys: GuardedKey[];

  constructor(
    keys: readonly ResolvedKey[],
    readonly cookiePath: string,
  ) {
    this.keys = keys.map((key) => {
      const cookieToken = createHash("sha256").update("auditx-viewer-cookie\u0000").update(key.digest).digest("hex");
      const scope: TrailScope = key.companies === undefined ? {} : { companyIds: key.companies };
      return {
        reader: Object.freeze({ id: key.id, scope: Object.freeze(scope), sources: key.sources }),
        digest: key.digest,
        cookieToken,
        cookieDigest: digest(cookieToken),
      };
    });
  }

  get enabled(): boolean {
    return this.keys.length > 0;
  }

  /** The ids of the keys (for the viewer's start entry). */
  get ids(): string[] {
    return this.keys.map((key) => key.reader.id);
  }

  check(request: IncomingMessage): KeyCheck {
    if (this.keys.length === 0) return { ok: true, reader: ANONYMOUS, setCookie: false };
    const header = request.headers[API_KEY_HEADER];
    const query = queryKey(request.url ?? "");
    const presented = typeof header === "string" ? header : query;
    if (presented !== null) {
      const key = this.match(keyDigest(presented), "digest");
      return key ? { ok: true, reader: key.reader, setCookie: true } : { ok: false, presented: true };
    }
    const cookie = cookieValue(request.headers.cookie, API_KEY_COOKIE);
    if (cookie !== null) {
      const key = this.match(digest(cookie), "cookieDigest");
      return key ? { ok: true, reader: key.reader, setCookie: false } : { ok: false, presented: true };
    }
    return { ok: false, presented: false };
  }

  /** The Set-Cookie value that lets the browser's later requests in as `reader`. */
  cookie(reader: Reader, secure: boolean): string {
    const key = this.keys.find((candidate) => candidate.reader === reader);
    return `${API_KEY_COOKIE}=${key?.cookieToken ?? ""}; Path=${this.cookiePath}; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}`;
  }

  private match(presented: Buffer, field: "digest" | "cookieDigest"): GuardedKey | undefined {
    let found: GuardedKey | undefined;
    for (const key of this.keys) {
      // No early exit: every key is compared.
      if (timingSafeEqual(presented, key[field]) && found === undefined) found = key;
    }
    return found;
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
