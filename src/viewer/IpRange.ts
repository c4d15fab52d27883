/**
 * An IP filter value: one address ("192.168.1.10", "2001:db8::7") or a CIDR
 * block ("10.1.0.0/16", "2001:db8::/32"). Addresses are compared as numbers,
 * so "::ffff:192.168.1.10" (an IPv4 client seen by a dual-stack server) falls
 * in 192.168.1.0/24, and "2001:DB8::7" equals "2001:db8:0::7".
 */
export class IpRange {
  private constructor(
    /** The first address of the range, 128 bits (IPv4 as IPv4-mapped IPv6). */
    private readonly base: bigint,
    private readonly mask: bigint,
  ) {}

  /** The range a filter value names, or null when it is neither an address nor a CIDR block. */
  static parse(text: string): IpRange | null {
    const value = text.trim();
    const slash = value.indexOf("/");
    const address = parseAddress(slash < 0 ? value : value.slice(0, slash));
    if (!address) return null;
    let bits = address.v4 ? 32 : 128;
    if (slash >= 0) {
      const prefix = value.slice(slash + 1);
      if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > bits) return null;
      bits = Number(prefix);
    }
    const hostBits = BigInt((address.v4 ? 32 : 128) - bits);
    const mask = ALL_BITS ^ ((1n << hostBits) - 1n);
    return new IpRange(address.value & mask, mask);
  }

  /**
   * The IPv4 addresses this range holds, as unsigned 32-bit numbers
   * [first, last], or null when it holds none: what an index that keeps IPv4
   * addresses as numbers compares with.
   */
  v4Bounds(): [number, number] | null {
    const last = this.base | (ALL_BITS ^ this.mask);
    const low = this.base > V4_MAPPED ? this.base : V4_MAPPED;
    const high = last < V4_LAST ? last : V4_LAST;
    return low > high ? null : [Number(low - V4_MAPPED), Number(high - V4_MAPPED)];
  }

  /** Whether an entry's `ip` text is an address inside this range. */
  includes(text: string): boolean {
    const address = parseAddress(text.trim());
    return address !== null && (address.value & this.mask) === this.base;
  }
}

const ALL_BITS = (1n << 128n) - 1n;
const V4_MAPPED = 0xffffn << 32n;
const V4_LAST = V4_MAPPED | 0xffffffffn;

/**
 * An IPv4 address ("10.1.2.3", or as IPv4-mapped IPv6 "::ffff:10.1.2.3") as
 * an unsigned 32-bit number, or -1 for anything else. Fast (no BigInt): an
 * index runs it once per entry.
 */
export function ipv4Number(text: string): number {
  let start = 0;
  let end = text.length;
  while (start < end && text.charCodeAt(start) === 32) start++;
  while (end > start && text.charCodeAt(end - 1) === 32) end--;
  if (text.indexOf(":", start) >= 0) {
    if (end - start < 8 || text.slice(start, start + 7).toLowerCase() !== "::ffff:") return -1;
    start += 7;
  }
  let value = 0;
  let octet = -1;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (++digits > 3) return -1;
      octet = Math.max(0, octet) * 10 + (c - 48);
    } else if (c === 46) {
      if (octet < 0 || octet > 255 || ++dots > 3) return -1;
      value = value * 256 + octet;
      octet = -1;
      digits = 0;
    } else return -1;
  }
  if (dots !== 3 || octet < 0 || octet > 255) return -1;
  return value * 256 + octet;
}

interface Address {
  value: bigint;
  v4: boolean;
}

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

function parseAddress(text: string): Address | null {
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
