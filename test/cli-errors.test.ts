import { describe, expect, it } from "vitest";
import { describeError } from "../src/cli/describeError.js";

describe("CLI error messages", () => {
  it("a missing package (express is a dependency of the viewer) says the install is incomplete and how to fix it", async () => {
    const error = await import("express-that-is-not-installed" as string).catch((e: unknown) => e);
    expect((error as NodeJS.ErrnoException).code).toBe("ERR_MODULE_NOT_FOUND");
    expect(describeError(error)).toContain("express-that-is-not-installed");
    expect(describeError(error)).toContain("The installation of auditx is incomplete: run npm install");
  });

  it("other errors keep their own message", async () => {
    const error = await import("./no-such-file.js" as string).catch((e: unknown) => e);
    expect(describeError(error)).toBe((error as Error).message);
    expect(describeError("plain")).toBe("plain");
  });
});
