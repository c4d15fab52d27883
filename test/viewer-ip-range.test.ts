/**
 * IP filter values (IpRange) and the index's IPv4 numbers (ipv4Number) agree:
 * an address is in a range whether it is compared as text, as a 128-bit
 * number or as the IPv4 bounds the index uses.
 */
import { describe, expect, it } from "vitest";
import { IpRange, ipv4Number } from "../src/viewer/index.js";

describe("IpRange and ipv4Number", () => {
  it("reads addresses and CIDR blocks of both families, and refuses the rest", () => {
    for (const valid of [
      "10.1.2.3",
      "10.0.0.0/8",
      "0.0.0.0/0",
      "2001:db8::7",
      "2001:DB8:0:0::7/64",
      "::",
      "::/0",
      "::ffff:10.1.2.3",
      "fe80::1%eth0",
    ]) {
      expect(IpRange.parse(valid), valid).not.toBeNull();
    }
    for (const invalid of [
      "10.1.2",
      "10.1.2.3.4",
      "256.1.1.1",
      "10.0.0.0/33",
      "2001:db8:::1",
      "1:2:3:4:5:6:7:8:9",
      "abc",
      "",
      "10.1.2.3/",
      "/8",
      "::ffff:1.2.3",
    ]) {
      expect(IpRange.parse(invalid), invalid).toBeNull();
    }
  });

  it("matches addresses in any spelling, IPv4 seen through IPv6 included", () => {
    const cases: Array<[string, string, boolean]> = [
      ["10.20.0.0/16", "10.20.255.1", true],
      ["10.20.0.0/16", "10.21.0.1", false],
      ["10.20.0.0/16", "::ffff:10.20.3.4", true],
      ["10.20.0.0/16", "::FFFF:10.20.3.4", true],
      ["192.168.1.10", "192.168.1.10", true],
      ["192.168.1.10", "192.168.1.11", false],
      ["2001:db8::/32", "2001:0db8:0000::1", true],
      ["2001:db8::/32", "2001:db9::1", false],
      ["2001:db8::7", "2001:DB8:0:0:0:0:0:7", true],
      ["::ffff:0:0/96", "8.8.8.8", true],
      ["::/0", "8.8.8.8", true],
      ["0.0.0.0/0", "2001:db8::1", false],
      ["10.0.0.0/8", "not an address", false],
    ];
    for (const [range, address, inside] of cases) expect(IpRange.parse(range)!.includes(address), `${address} in ${range}`).toBe(inside);
  });

  it("gives the index's IPv4 numbers and bounds the same answer as the text, for random addresses and blocks", () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed;
    };
    const dotted = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
    for (let i = 0; i < 2000; i++) {
      const address = random();
      const base = random();
      const prefix = random() % 33;
      const text = i % 3 === 0 ? `::ffff:${dotted(address)}` : dotted(address);
      expect(ipv4Number(text)).toBe(address);
      const range = IpRange.parse(`${dotted(base)}/${prefix}`)!;
      const [low, high] = range.v4Bounds()!;
      expect(address >= low && address <= high, `${text} in ${dotted(base)}/${prefix}`).toBe(range.includes(text));
    }
    expect(ipv4Number("2001:db8::1")).toBe(-1);
    expect(ipv4Number("10.1.2")).toBe(-1);
    expect(ipv4Number(" 10.1.2.3 ")).toBe(0x0a010203);
    expect(IpRange.parse("2001:db8::/32")!.v4Bounds()).toBeNull();
    expect(IpRange.parse("::/0")!.v4Bounds()).toEqual([0, 0xffffffff]);
  });
});
