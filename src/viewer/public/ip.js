// IP filter values as the server reads them: an address or a CIDR block, IPv4
// or IPv6, compared as 128-bit numbers (IPv4 as IPv4-mapped IPv6).

const ALL = (1n << 128n) - 1n;
const V4_MAPPED = 0xffffn << 32n;

function ipv4(text) {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return null;
    value = (value << 8n) | BigInt(Number(part));
  }
  return value;
}

function address(text) {
  if (!text.includes(":")) {
    const v4 = ipv4(text);
    return v4 === null ? null : { value: V4_MAPPED | v4, v4: true };
  }
  const zone = text.indexOf("%");
  let rest = (zone >= 0 ? text.slice(0, zone) : text).toLowerCase();
  const lastColon = rest.lastIndexOf(":");
  if (rest.includes(".")) {
    const v4 = ipv4(rest.slice(lastColon + 1));
    if (v4 === null) return null;
    rest = `${rest.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  if (!/^[0-9a-f:]+$/.test(rest)) return null;
  const halves = rest.split("::");
  if (halves.length > 2) return null;
  const groupsOf = (part) => {
    if (part === "") return [];
    const groups = part.split(":");
    if (groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return null;
    return groups.map((g) => BigInt(Number.parseInt(g, 16)));
  };
  const head = groupsOf(halves[0]);
  const tail = halves.length === 2 ? groupsOf(halves[1]) : [];
  if (!head || !tail) return null;
  const known = head.length + tail.length;
  if (halves.length === 2 ? known > 7 : known !== 8) return null;
  const groups = halves.length === 2 ? [...head, ...new Array(8 - known).fill(0n), ...tail] : head;
  let value = 0n;
  for (const g of groups) value = (value << 16n) | g;
  return { value, v4: false };
}

/** The test of one filter value, or null when it is neither an address nor a CIDR block. */
export function ipRange(text) {
  const value = String(text).trim();
  const slash = value.indexOf("/");
  const base = address(slash < 0 ? value : value.slice(0, slash));
  if (!base) return null;
  let bits = base.v4 ? 32 : 128;
  if (slash >= 0) {
    const prefix = value.slice(slash + 1);
    if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > bits) return null;
    bits = Number(prefix);
  }
  const mask = ALL ^ ((1n << BigInt((base.v4 ? 32 : 128) - bits)) - 1n);
  const start = base.value & mask;
  return (candidate) => {
    const parsed = address(String(candidate ?? "").trim());
    return parsed !== null && (parsed.value & mask) === start;
  };
}
