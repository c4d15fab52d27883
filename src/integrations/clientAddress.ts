import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";

/**
 * Which X-Forwarded-For hops to believe: false (default) uses the socket
 * address; true the left-most valid address (every proxy trusted); a number
 * n trusts that many proxies in front of the server.
 */
export type TrustProxy = boolean | number;

/** The client address of a plain node:http request, with X-Forwarded-For only when the proxies are trusted. */
export function clientAddress(req: IncomingMessage, trustProxy: TrustProxy): string | undefined {
  const socketAddress = req.socket?.remoteAddress;
  if (trustProxy === false || trustProxy === 0) return socketAddress;
  let header = req.headers["x-forwarded-for"];
  if (Array.isArray(header)) header = header.join(",");
  if (typeof header !== "string" || header === "") return socketAddress;
  // Nearest hop first: the socket, then the header's addresses from right to left.
  const hops = header
    .split(",")
    .map((hop) => hop.trim())
    .reverse();
  const limit = trustProxy === true ? hops.length : Math.max(0, Math.floor(trustProxy));
  let client = socketAddress;
  for (let i = 0; i < Math.min(limit, hops.length); i++) {
    if (isIP(hops[i]) === 0) break;
    client = hops[i];
  }
  return client;
}
