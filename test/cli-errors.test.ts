import { describe, expect, it } from "vitest";
import { describeError } from "../src/cli/describeError.js";

describe("CLI error messages", () => {
  it("a missing express (the viewer's optional peer) says how to install it", async () => {
    const error = await import("express-that-is-not-installed" as string).catch((e: unknown) => e);
    expect((error as NodeJS.ErrnoException).code).toBe("ERR_MODULE_NOT_FOUND");
    expect(describeError(error)).toBe("the viewer needs express: npm install express");
  });

  it("other errors keep their own message", async () => {
    const error = await import("some-other-missing-package" as string).catch((e: unknown) => e);
    expect(describeError(error)).toContain("some-other-missing-package");
    expect(describeError("plain")).toBe("plain");
  });
});
