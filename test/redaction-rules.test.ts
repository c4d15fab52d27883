/** The `redact` option, through the public API and the trail files: paths, default names, censors, card numbers, changed secrets. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AuditConfigError, type AuditLogger, type AuditLoggerOptions, createLogger } from "../src/index.js";
import { readJsonl, tempDir } from "./support/core-trail.js";

let dir: string;
let cleanup: () => void;
const loggers: AuditLogger[] = [];

beforeEach(() => {
  ({ dir, cleanup } = tempDir("auditx-redact-"));
});
afterEach(async () => {
  await Promise.all(loggers.splice(0).map((logger) => logger.shutdown()));
  cleanup();
});

function logger(options: AuditLoggerOptions = {}): AuditLogger {
  const created = createLogger({ logDir: dir, ...options });
  loggers.push(created);
  return created;
}

/** The audit.jsonl lines written by the audit calls (auditx's own lifecycle entries left aside). */
function lines(): Record<string, unknown>[] {
  return readJsonl(join(dir, "audit.jsonl")).filter((line) => line.user !== "auditx");
}

function fileText(name: string): string {
  return readFileSync(join(dir, name), "utf8");
}

describe("the default secret names", () => {
  it("are redacted at any depth, in any case and spelling, in metadata, old and new values, arrays included", () => {
    const entry = logger().logChange("Account settings changed", {
      oldValues: { password: "old-pw-zz1zz", profile: { apiKey: "ak-zz2zz" } },
      newValues: { password: "new-pw-zz3zz", profile: { apiKey: "ak-zz4zz" } },
      metadata: {
        PASSWORD: "pw-zz5zz",
        newPassword: "pw-zz6zz",
        db_password: "pw-zz7zz",
        "X-API-Key": "xk-zz8zz",
        access_token: "tok-zz9zz",
        refreshToken: "tok-zz10zz",
        client_secret: "sec-zz11zz",
        Authorization: "Bearer abc-zz12zz",
        cookie: "sid=cookie-zz13zz",
        cvv: "cvv-zz14zz",
        pin: "pin-zz15zz",
        otp: "otp-zz16zz",
        card_number: "4111111111111111",
        creditCard: { number: "5500000000000004" },
        sessions: [{ token: "tok-zz17zz" }, { token: "tok-zz18zz", note: "kept" }],
        secretary: "Daw Hla",
        author: "U Ba",
        span_id: "abc",
      },
    });
    const text = JSON.stringify(lines());
    for (let i = 1; i <= 18; i++) expect(text).not.toContain(`zz${i}zz`);
    expect(text).not.toContain("4111111111111111");
    expect(text).not.toContain("5500000000000004");
    expect(entry.metadata).toMatchObject({
      PASSWORD: "[REDACTED]",
      newPassword: "[REDACTED]",
      sessions: [{ token: "[REDACTED]" }, { token: "[REDACTED]", note: "kept" }],
      secretary: "Daw Hla",
      author: "U Ba",
      span_id: "abc",
    });
    expect(entry.oldValues).toEqual({ password: "[REDACTED]", profile: { apiKey: "[REDACTED]" } });
  });

  it("are redacted in the extra fields of app.log messages and loggingCustom lines", () => {
    const log = logger();
    log.info("Payment gateway called", { merchant: "M-1", api_key: "gw-key-1", nested: { password: "gw-pw-2" } });
    log.loggingCustom("Tenant updated", { level: "info", user: "billing", secret: "tenant-secret-3", isActive: "no" });
    const appLog = fileText("app.log");
    expect(appLog).not.toMatch(/gw-key-1|gw-pw-2|tenant-secret-3/);
    expect(appLog).toContain('"merchant": "M-1"');
    expect(appLog).toContain('"isActive": "no"');
  });

  it("are redacted in the query string of an endpoint given to any audit call", () => {
    const entry = logger().log("Login", { endpoint: "/login?user=alice&password=pw-1&user[pin]=pin-2&next=/home" });
    expect(entry.endpoint).toBe("/login?user=alice&password=[REDACTED]&user[pin]=[REDACTED]&next=/home");
  });

  it("stay on unless turned off explicitly, and `keep` spares chosen names", () => {
    logger({ redact: { keep: ["pin_code"] } }).log("Address", { metadata: { pin_code: "11181", pin: "1234" } });
    expect(lines()[0]!.metadata).toEqual({ pin_code: "11181", pin: "[REDACTED]" });
    logger({ redact: { defaults: false, paths: ["metadata.iban"] } }).log("No defaults", {
      metadata: { password: "kept-1", iban: "DE89370400440532013000" },
    });
    expect(lines()[1]!.metadata).toEqual({ password: "kept-1", iban: "[REDACTED]" });
    logger({ redact: false }).log("Off", { metadata: { password: "kept-2" } });
    expect(lines()[2]!.metadata).toEqual({ password: "kept-2" });
  });
});

describe("paths", () => {
  it("start at a field, take wildcards at any depth, and a bare name matches anywhere", () => {
    const log = logger({
      redact: ["metadata.iban", "*.bank.swift", "**.national_id", "employee", "old_values.salary.*", "metadata.*_ref"],
    });
    const entry = log.logChange("Employee updated", {
      oldValues: { salary: { base: 1000, bonus: 50 }, iban: "kept-in-old" },
      newValues: { bank: { swift: "SW-1", name: "KBZ" }, records: [{ deep: { NATIONAL_ID: "NID-2" } }] },
      metadata: { iban: "IB-3", employee: { name: "U Hla" }, invoice_ref: "R-4", ref: "kept" },
    });
    expect(entry.oldValues).toEqual({ salary: { base: "[REDACTED]", bonus: "[REDACTED]" }, iban: "kept-in-old" });
    expect(entry.newValues).toEqual({ bank: { swift: "[REDACTED]", name: "KBZ" }, records: [{ deep: { NATIONAL_ID: "[REDACTED]" } }] });
    expect(entry.metadata).toEqual({ iban: "[REDACTED]", employee: "[REDACTED]", invoice_ref: "[REDACTED]", ref: "kept" });
  });

  it("can name a text field of the entry, and a whole map", () => {
    const entry = logger({ redact: { paths: ["ip", { path: "user", censor: { mask: { keep: 2 } } }, "old_values"] } }).logChange("x", {
      user: "alice-smith",
      ip: "10.1.2.3",
      oldValues: { a: 1 },
      newValues: { a: 2 },
    });
    expect(entry.ip).toBe("[REDACTED]");
    expect(entry.user).toBe("*********th");
    expect(entry.oldValues).toBeUndefined();
    expect(lines()[0]).not.toHaveProperty("old_values");
  });

  it("are checked when the logger is built, with clear errors", () => {
    expect(() => createLogger({ logDir: dir, redact: ["metadata..x"] })).toThrow(AuditConfigError);
    expect(() => createLogger({ logDir: dir, redact: ["user.name"] })).toThrow(/user is a text field/);
    expect(() => createLogger({ logDir: dir, redact: ["*"] })).toThrow(/every field/);
    expect(() => createLogger({ logDir: dir, redact: { censor: { hmac: { key: "short" } } } })).toThrow(/at least 16 bytes/);
    expect(() => createLogger({ logDir: dir, redact: { censor: 42 as unknown as string } })).toThrow(/redact.censor/);
    expect(() => createLogger({ logDir: dir, redact: "password" as unknown as string[] })).toThrow(/redact must be/);
  });
});

describe("censors", () => {
  it("remove the key, replace it, mask it to its last characters, or call a function", () => {
    const entry = logger({
      redact: {
        remove: true,
        paths: [
          { path: "metadata.iban", censor: { mask: { keep: 4 } } },
          { path: "metadata.phone", censor: "[hidden]" },
          { path: "metadata.email", censor: (value) => String(value).replace(/^[^@]+/, "***") },
        ],
      },
    }).log("Customer", {
      metadata: { password: "gone", iban: "DE89370400440532013000", phone: "09-123", email: "a.b@example.com", pin: "1" },
    });
    expect(entry.metadata).toEqual({ iban: "******************3000", phone: "[hidden]", email: "***@example.com" });
  });

  it("never show more than half of a short value when masking", () => {
    const entry = logger({ redact: { censor: { mask: { keep: 4 } } } }).log("x", { metadata: { pin: "1234", otp: "123456" } });
    expect(entry.metadata).toEqual({ pin: "**34", otp: "***456" });
  });

  it("give an HMAC pseudonym: the same value and key give the same pseudonym, another value or key another", () => {
    const key = "k".repeat(32);
    const log = logger({ redact: { paths: [{ path: "**.card_number", censor: { hmac: { key, keyId: "2026" } } }] } });
    const first = log.log("Payment 1", { metadata: { card_number: "4111111111111111" } });
    const second = log.log("Payment 2", { metadata: { card_number: "4111111111111111" } });
    const third = log.log("Payment 3", { metadata: { card_number: "5500000000000004" } });
    const other = logger({ redact: { paths: [{ path: "**.card_number", censor: { hmac: { key: "x".repeat(32) } } }] } }).log("Payment 4", {
      metadata: { card_number: "4111111111111111" },
    });
    const pseudonym = first.metadata!.card_number as string;
    expect(pseudonym).toMatch(/^\[HMAC:2026:[A-Za-z0-9_-]{22}\]$/);
    expect(second.metadata!.card_number).toBe(pseudonym);
    expect(third.metadata!.card_number).not.toBe(pseudonym);
    expect(other.metadata!.card_number).not.toBe(pseudonym);
    expect(JSON.stringify(lines())).not.toContain("4111111111111111");
  });

  it("fail closed: a censor function that throws lets nothing through", () => {
    const entry = logger({
      redact: {
        paths: [
          {
            path: "metadata.secret_note",
            censor: () => {
              throw new Error("broken censor");
            },
          },
        ],
      },
    }).log("x", { metadata: { secret_note: "keep-out" } });
    expect(entry.metadata).toEqual({ secret_note: "[REDACTED]" });
  });
});

describe("a secret that changed", () => {
  it("shows as changed in a before/after entry with neither value; an unchanged one does not", () => {
    const entry = logger().logChange("Password and PIN set", {
      oldValues: { password: "old-secret", pin: "1111", name: "a" },
      newValues: { password: "new-secret", pin: "1111", name: "b" },
    });
    expect(entry.oldValues).toEqual({ password: "[REDACTED]", pin: "[REDACTED]", name: "a" });
    expect(entry.newValues).toEqual({ password: "[REDACTED:changed]", pin: "[REDACTED]", name: "b" });
    expect(JSON.stringify(lines())).not.toMatch(/old-secret|new-secret|1111/);
  });

  it("shows as changed also when the censor removes keys, and with HMAC pseudonyms by their difference", () => {
    const removed = logger({ redact: { remove: true } }).logChange("x", {
      oldValues: { password: "p1", token: "t" },
      newValues: { password: "p2", token: "t" },
    });
    expect(removed.oldValues).toEqual({ password: "[REDACTED]" });
    expect(removed.newValues).toEqual({ password: "[REDACTED:changed]" });
    const hashed = logger({ redact: { censor: { hmac: { key: "h".repeat(16) } } } }).logChange("y", {
      oldValues: { password: "p1" },
      newValues: { password: "p2" },
    });
    expect(hashed.oldValues!.password).toMatch(/^\[HMAC:/);
    expect(hashed.newValues!.password).toMatch(/^\[HMAC:/);
    expect(hashed.newValues!.password).not.toBe(hashed.oldValues!.password);
  });
});

describe("card numbers (pan)", () => {
  const text = "Refund to card 4111 1111 1111 1111, ref 4111111111111112, order 20260000000000001, amex 3782-822463-10005";

  it("are masked to their last four digits in every text value when pan is on, found by length and Luhn check", () => {
    const log = logger({ redact: { pan: true } });
    const entry = log.log(text, { referenceNo: "PAY 5500 0000 0000 0004", metadata: { note: text, list: ["6011111111111117"] } });
    expect(entry.description).toBe(
      "Refund to card **** **** **** 1111, ref 4111111111111112, order 20260000000000001, amex ****-******-*0005",
    );
    expect(entry.referenceNo).toBe("PAY **** **** **** 0004");
    expect(entry.metadata).toEqual({ note: entry.description, list: ["************1117"] });
    log.info(`gateway said ${text}`, { raw: "card=4111111111111111" });
    const appLog = fileText("app.log");
    expect(appLog).not.toContain("4111 1111 1111 1111");
    expect(appLog).toContain("card=************1111");
  });

  it("are left alone when pan is off (the default)", () => {
    const entry = logger().log(text);
    expect(entry.description).toBe(text);
  });
});
