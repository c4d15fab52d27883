/**
 * Which Host headers the viewer answers, against DNS rebinding: a page on
 * attacker.example whose name is made to resolve to 127.0.0.1 reaches the
 * viewer as "same origin" for the browser, but its requests still say
 * `Host: attacker.example`. By default only the localhost names, loopback
 * addresses and the address the connection came in on are answered; a
 * viewer behind a proxy or reached by name lists its names in `allowedHosts`.
 */
import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";

export interface HostCheck {
  ok: boolean;
  /** The host name asked for, for the refusal's message. */
  hostname: string;
}

/** The host name and port of a Host header (or an Origin's host), lower case, without a trailing dot. */
export function parseHost(value: string): { hostname: string; port: string } | null {
  const text = value.trim().toLowerCase();
  const bracketed = /^\[([0-9a-f:.]+)\](?::(\d{1,5}))?$/.exec(text);
  if (bracketed) return { hostname: bracketed[1]!, port: bracketed[2] ?? "" };
  const plain = /^([a-z0-9._-]+?)\.?(?::(\d{1,5}))?$/.exec(text);
  if (plain) return { hostname: plain[1]!, port: plain[2] ?? "" };
  return null;
}

function isLoopback(hostname: string): boolean {
  if (hostname === "localhost" || hostname.endsWith(".localhost")) return true;
  if (isIP(hostname) === 4) return hostname.startsWith("127.");
  return hostname === "::1";
}

/** An address as Node reports it (`::ffff:127.0.0.1` for IPv4 on a dual-stack socket), as a Host would name it. */
function plainAddress(address: string | undefined): string {
  if (!address) return "";
  const lower = address.toLowerCase();
  return lower.startsWith("::ffff:") && isIP(lower.slice(7)) === 4 ? lower.slice(7) : lower;
}

export class HostAllowList {
  private readonly exact = new Set<string>();
  private readonly suffixes: string[] = [];
  private readonly any: boolean;

  /**
   * `allowedHosts`: names (or addresses) answered besides the defaults; ".example.com" allows
   * example.com and every name under it; "*" allows any Host (only behind a proxy that checks it).
   */
  constructor(allowedHosts: readonly string[] = []) {
    if (!Array.isArray(allowedHosts) || !allowedHosts.every((host) => typeof host === "string" && host.trim() !== "")) {
      throw new TypeError("allowedHosts: expected a list of host names");
    }
    this.any = allowedHosts.includes("*");
    for (const host of allowedHosts) {
      if (host === "*") continue;
      const dotted = host.trim().toLowerCase();
      if (dotted.startsWith(".")) {
        this.suffixes.push(dotted);
        this.exact.add(dotted.slice(1));
        continue;
      }
      const parsed = parseHost(dotted);
      if (!parsed) throw new TypeError(`allowedHosts: ${JSON.stringify(host)} is not a host name`);
      this.exact.add(parsed.hostname);
    }
  }

  check(request: IncomingMessage): HostCheck {
    const header = request.headers.host;
    // HTTP/1.0 clients may send none; a browser always does.
    if (header === undefined || header === "") return { ok: true, hostname: "" };
    const parsed = parseHost(header);
    if (!parsed) return { ok: false, hostname: header.slice(0, 100) };
    const { hostname } = parsed;
    if (this.any || isLoopback(hostname) || this.exact.has(hostname)) return { ok: true, hostname };
    if (hostname === plainAddress(request.socket?.localAddress)) return { ok: true, hostname };
    for (const suffix of this.suffixes) if (hostname.endsWith(suffix)) return { ok: true, hostname };
    return { ok: false, hostname };
  }

  /**
   * Whether a browser's Origin is this viewer's own: same scheme, host and
   * port as the request (an Origin naming the same host over another scheme or
   * port is another site).
   */
  static sameOrigin(request: IncomingMessage, origin: string): boolean {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    const scheme = (request.socket as { encrypted?: boolean } | undefined)?.encrypted ? "https:" : "http:";
    const host = parseHost(request.headers.host ?? "");
    if (!host || url.protocol !== scheme) return false;
    const defaultPort = scheme === "https:" ? "443" : "80";
    const originHost = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
    return originHost === host.hostname && (url.port || defaultPort) === (host.port || defaultPort);
  }
}
