import { parseIpAddress as parseAddress, V4_MAPPED } from "../internal/ipAddress.js";

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
