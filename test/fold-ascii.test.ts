import { describe, expect, it } from "vitest";
import { foldAscii } from "../src/internal/foldAscii.js";

describe("foldAscii (the viewer's case rule, folder and store alike)", () => {
  it("lower-cases ASCII letters and leaves every other character as written", () => {
    expect(foldAscii("Sales Invoice SI-2026-0042 POSTED")).toBe("sales invoice si-2026-0042 posted");
    expect(foldAscii("already lower 123")).toBe("already lower 123");
    // Beside other letters, only A-Z change: Ä, İ and Σ keep their case (toLowerCase alone would fold them).
    expect(foldAscii("ÄRGER İSTANBUL ΣΟΦΙΑ Müller")).toBe("Ärger İstanbul ΣΟΦΙΑ müller");
    expect(foldAscii("ÄÖÜ")).toBe("ÄÖÜ");
    expect(foldAscii("Ma Ma ဦး CAFÉ 😀 OK")).toBe("ma ma ဦး cafÉ 😀 ok");
    expect(foldAscii("")).toBe("");
  });
});
