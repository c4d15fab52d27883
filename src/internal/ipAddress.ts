/**
 * IP addresses as 128-bit numbers: IPv4 as IPv4-mapped IPv6, so that
 * "10.1.2.3" and "::ffff:10.1.2.3" (an IPv4 client seen by a dual-stack
 * server) are one address. The viewer's IP filters and the store's address
 * column both read addresses here, so they agree on what an address is.
 */

export interface IpAddress {
  value: bigint;
  /** Written as IPv4 ("10.1.2.3"). */
  v4: boolean;
}

export const V4_MAPPED = 0xffffn << 32n;

function parseIpv4(text: string): bigint | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return null;
    value = (value << 8n) | BigInt(Number(part));
  }
  return value;
}

/** The address `text` names (no surrounding blanks), or null when it is none. */
export function parseIpAddress(text: string): IpAddress | null {
  if (!text.includes(":")) {
    const v4 = parseIpv4(text);
    return v4 === null ? null : { value: V4_MAPPED | v4, v4: true };
  }
  // IPv6, maybe with a zone ("fe80::1%eth0": the zone takes no part) or a trailing IPv4 ("::ffff:10.0.0.1").
  const zone = text.indexOf("%");
  let rest = (zone >= 0 ? text.slice(0, zone) : text).toLowerCase();
  const lastColon = rest.lastIndexOf(":");
  if (rest.includes(".")) {
    const v4 = parseIpv4(rest.slice(lastColon + 1));
    if (v4 === null) return null;
    rest = `${rest.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  if (!/^[0-9a-f:]+$/.test(rest)) return null;
  const halves = rest.split("::");
  if (halves.length > 2) return null;
  const groupsOf = (part: string): bigint[] | null => {
    if (part === "") return [];
    const groups = part.split(":");
    if (groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return null;
    return groups.map((g) => BigInt(Number.parseInt(g, 16)));
  };
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (!head || !tail) return null;
  const known = head.length + tail.length;
  if (halves.length === 2 ? known > 7 : known !== 8) return null;
  const groups = halves.length === 2 ? [...head, ...new Array<bigint>(8 - known).fill(0n), ...tail] : head;
  let value = 0n;
  for (const g of groups) value = (value << 16n) | g;
  return { value, v4: false };
}

/** A 128-bit address as eight IPv6 groups ("0:0:0:0:0:ffff:a01:203"): what PostgreSQL's inet reads. */
export function ipv6Text(value: bigint): string {
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(((value >> shift) & 0xffffn).toString(16));
  return groups.join(":");
}
