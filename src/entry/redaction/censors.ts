import { createHmac } from "node:crypto";
import { AuditConfigError } from "../errors.js";
import type { JsonValue } from "../json.js";
import { DEFAULT_LIMITS, normalizeValue } from "../normalize.js";
import type { RedactCensor } from "./RedactOptions.js";

export const REDACTED = "[REDACTED]";

/** A censor compiled once: the value that replaces `value` found at `path`, or undefined to leave the key out. */
export interface Censor {
  /** How the censor is described in the logger's start entry (never its key). */
  readonly kind: string;
  apply(value: JsonValue, path: string): JsonValue | undefined;
}

const SHORTEST_HMAC_KEY = 16;

/** The text a censor works on: a string as it is, anything else as its JSON. */
function textOf(value: JsonValue): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function replaceWith(text: string): Censor {
  return { kind: `replace with ${JSON.stringify(text)}`, apply: () => text };
}

const REMOVE: Censor = { kind: "remove", apply: () => undefined };

function mask(keep: number, char: string): Censor {
  return {
    kind: `mask (keep last ${keep})`,
    apply(value) {
      const text = textOf(value);
      const chars = [...text];
      // Never more than half: a short secret must not be shown whole.
      const shown = Math.min(keep, Math.floor(chars.length / 2));
      return char.repeat(chars.length - shown) + chars.slice(chars.length - shown).join("");
    },
  };
}

function hmac(key: string | Uint8Array, keyId: string | undefined): Censor {
  const bytes = typeof key === "string" ? Buffer.from(key, "utf8") : Buffer.from(key);
  if (bytes.length < SHORTEST_HMAC_KEY) {
    throw new AuditConfigError(`redact: an hmac censor's key must be at least ${SHORTEST_HMAC_KEY} bytes`);
  }
  const prefix = keyId ? `[HMAC:${keyId}:` : "[HMAC:";
  return {
    kind: keyId ? `hmac (key ${keyId})` : "hmac",
    apply: (value) => `${prefix}${createHmac("sha256", bytes).update(textOf(value), "utf8").digest("base64url").slice(0, 22)}]`,
  };
}

function custom(fn: (value: JsonValue, path: string) => unknown): Censor {
  return {
    kind: "function",
    apply(value, path) {
      let result: unknown;
      try {
        result = fn(value, path);
      } catch {
        // A censor that fails must not let the value through.
        return REDACTED;
      }
      return result === undefined ? undefined : (normalizeValue(result, DEFAULT_LIMITS) ?? null);
    },
  };
}

/** Compiles a censor option; throws AuditConfigError naming `where` when it is not one. */
export function compileCensor(option: RedactCensor | undefined, where: string): Censor {
  if (option === undefined) return replaceWith(REDACTED);
  if (typeof option === "string") return replaceWith(option);
  if (typeof option === "function") return custom(option);
  if (option !== null && typeof option === "object") {
    if ("remove" in option && option.remove === true) return REMOVE;
    if ("mask" in option && option.mask !== null && typeof option.mask === "object") {
      const keep = option.mask.keep ?? 4;
      const char = option.mask.char ?? "*";
      if (!Number.isInteger(keep) || keep < 0) throw new AuditConfigError(`${where}: mask.keep must be a whole number >= 0`);
      if (typeof char !== "string" || [...char].length !== 1) throw new AuditConfigError(`${where}: mask.char must be one character`);
      return mask(keep, char);
    }
    if ("hmac" in option && option.hmac !== null && typeof option.hmac === "object") {
      const { key, keyId } = option.hmac;
      if (typeof key !== "string" && !(key instanceof Uint8Array))
        throw new AuditConfigError(`${where}: hmac.key must be a string or bytes`);
      if (keyId !== undefined && (typeof keyId !== "string" || !/^[A-Za-z0-9._-]{1,32}$/.test(keyId))) {
        throw new AuditConfigError(`${where}: hmac.keyId must be 1-32 letters, digits, ".", "_" or "-"`);
      }
      return hmac(key, keyId);
    }
  }
  throw new AuditConfigError(
    `${where}: expected a string, { remove: true }, { mask: { keep } }, { hmac: { key } } or a function, got ${JSON.stringify(option)}`,
  );
}
