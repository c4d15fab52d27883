import { describe, expect, it } from "vitest";
import { ChunkBuilder, type ChunkData } from "../src/viewer/jsonl/Chunk.js";
import { FALSE, NULL, NUMBER, OBJECT, PLAIN, ScannedLine, TEXT, TRUE } from "../src/viewer/jsonl/LineScanner.js";
import { parseLines } from "../src/viewer/jsonl/lines.js";

/** A line as the logger writes it (keys in its order), with some values replaced. */
function trailLine(i: number, changes: Record<string, unknown> = {}): string {
  const entry: Record<string, unknown> = {
    timestamp: `2026-06-07T18:${String(i % 60).padStart(2, "0")}:00.${String(i % 1000).padStart(3, "0")}+06:30`,
    level: ["INFO", "AUDIT", "ERROR"][i % 3],
    module: ["sales", "crm", "hr"][i % 3],
    action: "UPDATE",
    description: `update SA-2026-${String(i).padStart(7, "0")} Golden Trading`,
    user: `user${String(i % 200).padStart(3, "0")}`,
    branch_id: "BR-YGN",
    entity_type: "sales_invoice",
    entity_id: `sal-${String(i * 7919).padStart(6, "0")}`,
    reference_no: `SA-2026-${String(i).padStart(7, "0")}`,
    amount: i * 1000 + 0.5 * (i % 2),
    request_id: `${i.toString(16).padStart(8, "0")}-4b1d-4c2a-9e3f-${(i * 2654435761).toString(16).slice(-12).padStart(12, "0")}`,
    ip: `10.${i % 256}.${(i >> 8) % 256}.7`,
    success: i % 5 !== 0,
    service: "erp-api",
    id: `019ea1f4-${(i % 65536).toString(16).padStart(4, "0")}-7000-8000-${i.toString(16).padStart(12, "0")}`,
  };
  if (i % 4 === 0) entry.metadata = { channel: i % 8 === 0 ? "pos" : "web", items: i % 20, note: null };
  if (i % 6 === 0) entry.old_values = { status: "draft", total: i - 1 };
  return JSON.stringify({ ...entry, ...changes });
}

/** Lines JSON.parse reads in ways a scanner could get wrong (each must give the same index either way). */
const TRICKY = [
  '{"timestamp": "2026-06-07T18:30:00.123456+06:30", "level": "INFO", "module": "sales", "user": "u1", "amount": 12.5}',
  '  {\t"level":"INFO" , "module" :"crm"}  ',
  '{"description":"say \\"hi\\" \\\\ c:\\\\path\\nnext \\/ \\t tab","user":"a\\u0041b"}',
  '{"user":"Ma Ma ဦး","description":"caf\u00e9 😀 ok","branch_id":"BR-ÄÖ"}',
  '{"user":"\\ud83d\\ude00","description":"lone \\ud800 high","entity_id":"\\udc00"}',
  '{"amount":0,"a":-0,"b":1.5,"c":1e3,"d":-1.25E-7,"e":12345678901234567890,"f":9007199254740993,"g":0.1,"h":1E400,"i":-123456789012345}',
  '{"amount":"0042","reference_no":123,"entity_id":4.5,"request_id":true,"id":false,"ip":167772161}',
  '{"metadata":{"a":1,"b":"x","c":null,"d":true,"e":false,"f":""},"empty":{},"after":"yes"}',
  '{"metadata":{"deep":{"deeper":{"deepest":1}}},"user":"deep"}',
  '{"tags":["a","b",{"c":1}],"user":"arr"}',
  '{"user":"first","user":"second","module":"dup"}',
  '{"metadata":{"k":1,"k":2},"module":"nested dup"}',
  '{"1":"index key","b":2,"0":"zero"}',
  '{"__proto__":{"polluted":true},"user":"proto"}',
  '{"constructor":"c","toString":"t","hasOwnProperty":1}',
  "{}",
  '{"timestamp":"","ip":"","success":null,"id":null,"entity_id":"","user":""}',
  '{"timestamp":"2026-06-07T18:30:00Z","ip":" 10.1.2.3","success":"true"}',
  '{"timestamp":"2026-06-07 18:30:00","ip":"::ffff:10.1.2.3"}',
  '{"timestamp":"2026-06-07T18:30:00.5","ip":"2001:db8::1"}',
  '{"timestamp":"2026-13-01T00:00:00+06:30","ip":"1.2.3"}',
  '{"timestamp":"2026-06-07T18:30:00+0630","ip":"256.1.1.1"}',
  '{"timestamp":"2026-06-07T18:30:00+06","ip":"1.2.3.4.5"}',
  '{"timestamp":"2026-06-07T18:30:00+06:3","ip":"0.0.0.0"}',
  '{"timestamp":"2026-06-07T18:30:00.+06:30","ip":"01.2.3.4"}',
  '{"timestamp":"2026-06-07","ip":"1111.2.3.4"}',
  '{"timestamp":1780000000000,"ip":null,"success":1}',
  '{"timestamp":"2026-06-07T18:30:00z","success":false,"ip":{"v4":"10.0.0.1"}}',
  '{"module":"sales"',
  '{"module":"sales"} trailing',
  '{"module":"sales",}',
  '{"module":"sa\tles"}',
  '{"module":01}',
  '{"module":-}',
  '{"module":1.}',
  '{"module":tru}',
  '{"módulo":"key not ASCII","module":"x"}',
  '{"mod\\u0075le":"escaped key"}',
  '{"":"empty key","module":"x"}',
  "[1,2,3]",
  '"just a string"',
  "not json at all",
  // Lines of the Python original: ", " and ": ", no id, microseconds, escaped non-ASCII.
  '{"timestamp": "2026-06-28T16:10:59.123456+06:30", "level": "AUDIT", "module": "inventory", "action": "ADJUST", "user": "\\u1019\\u1031", "details": {"qty": 5, "note": "ok"}, "success": true}',
  `{${Array.from({ length: 90 }, (_, k) => `"field${String.fromCharCode(97 + (k % 26))}${k}":"v${k}"`).join(",")}}`,
  `{${Array.from({ length: 300 }, (_, k) => `"k${String.fromCharCode(97 + (k % 26))}${k}":${k}`).join(",")}}`,
  `{"description":"${"x".repeat(5000)}","user":"long"}`,
];

/** The scanned members as the object JSON.parse gives (keys in order). */
function rebuild(line: ScannedLine, buffer: Buffer): Record<string, unknown> {
  const value = (m: number): unknown => {
    switch (line.kind[m]) {
      case PLAIN:
        return buffer.toString("latin1", line.valueStart[m], line.valueEnd[m]);
      case TEXT:
        return line.texts[m];
      case NUMBER:
        return line.numbers[m];
      case TRUE:
        return true;
      case FALSE:
        return false;
      case NULL:
        return null;
      default:
        return undefined;
    }
  };
  const entry: Record<string, unknown> = {};
  for (let m = 0; m < line.count; m++) {
    if (line.parent[m] >= 0) continue;
    if (line.kind[m] === OBJECT) {
      const nested: Record<string, unknown> = {};
      for (let n = m + 1; n < line.count && line.parent[n] === m; n++) nested[line.keys[n]!.text] = value(n);
      entry[line.keys[m]!.text] = nested;
    } else entry[line.keys[m]!.text] = value(m);
  }
  return entry;
}

/** The same structure, with -0 and NaN told apart from 0 (toEqual does not). */
function exact(value: unknown): unknown {
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : value;
  if (value !== null && typeof value === "object") return Object.entries(value).map(([k, v]) => [k, exact(v)]);
  return value;
}

/** The sealed chunk of `lines`, read with the lean scanner or with JSON.parse only. */
function chunkOf(lines: string[], lean: boolean): ChunkData {
  const builder = new ChunkBuilder(0);
  const bytes = Buffer.from(`${lines.join("\n")}\n`, "utf8");
  parseLines(bytes, bytes.length, 0, true, {
    entry: (offset, entry) => builder.add(offset, entry),
    malformed: () => {
      builder.malformed++;
    },
    line: lean ? (offset, buffer, start, end) => builder.addLine(offset, buffer, start, end) : undefined,
  });
  builder.end = bytes.length;
  return builder.seal();
}

describe("the lean line scanner", () => {
  it("reads each line it takes exactly as JSON.parse does, and leaves the others to it", () => {
    const scanner = new ScannedLine();
    const taken: string[] = [];
    for (const text of [...TRICKY, trailLine(1), trailLine(4), trailLine(6), trailLine(12)]) {
      const buffer = Buffer.from(`xx${text}yy`, "utf8");
      if (!scanner.scan(buffer, 2, buffer.length - 2)) continue;
      taken.push(text);
      expect(exact(rebuild(scanner, buffer)), text).toEqual(exact(JSON.parse(text)));
    }
    // The shapes the scanner exists for are taken; the unusual ones are not.
    for (const common of [...TRICKY.slice(0, 8), TRICKY[42], trailLine(12)]) expect(taken).toContain(common);
    // Deeper nesting, arrays, duplicate, index and __proto__ keys, keys not plain ASCII, more than 256 members.
    for (const unusual of [...TRICKY.slice(8, 14), TRICKY[36], TRICKY[37], TRICKY[44]]) expect(taken).not.toContain(unusual);
    for (const invalid of [...TRICKY.slice(28, 36), ...TRICKY.slice(39, 42)]) expect(taken).not.toContain(invalid);
  });

  it("indexes a trail exactly as JSON.parse does: every column, dictionary, template and raw filter", () => {
    const lines: string[] = [];
    for (let i = 0; i < 12_000; i++) {
      lines.push(trailLine(i));
      if (i % 97 === 0) lines.push(TRICKY[(i / 97) % TRICKY.length]!);
      // Keys in another order now and then, and lines without some of them (as the original wrote).
      if (i % 131 === 0) lines.push(JSON.stringify({ user: `u${i}`, timestamp: "2026-06-07T18:30:00", module: "legacy" }));
      if (i % 389 === 0) lines.push("");
    }
    const lean = chunkOf(lines, true);
    const parsed = chunkOf(lines, false);
    expect(lean.count).toBeGreaterThan(12_000);
    expect(lean.templatePaths.length).toBeGreaterThan(0);
    expect(lean.rawPaths.length).toBeGreaterThan(0);
    expect(lean).toEqual(parsed);
    // The same with each tricky line alone in its chunk (first-line effects: new fields, slots, modes).
    for (const text of TRICKY) expect(chunkOf([text, text, trailLine(3)], true), text).toEqual(chunkOf([text, text, trailLine(3)], false));
  });
});
