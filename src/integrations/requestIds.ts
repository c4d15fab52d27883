import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

/** Ids from clients are echoed in a response header and written to the trail, so only a plain token is accepted. */
const SAFE_ID = /^[A-Za-z0-9._~:@/+=-]+$/;

export const MAX_REQUEST_ID_LENGTH = 128;
export const MAX_SESSION_ID_LENGTH = 256;

/** The header's value when it is a safe token of at most `maxLength` characters, else undefined. */
export function safeHeaderId(headers: IncomingHttpHeaders, lowerCaseName: string, maxLength: number): string | undefined {
  let value = headers[lowerCaseName];
  if (Array.isArray(value)) value = value[0];
  if (typeof value !== "string") return undefined;
  const trimmed = value.trim();
  if (trimmed.length === 0 || trimmed.length > maxLength || !SAFE_ID.test(trimmed)) return undefined;
  return trimmed;
}

/** A generated id, checked like a client's so that a faulty generator cannot inject a header either. */
export function generatedId(generate: () => string): string {
  let id: unknown;
  try {
    id = generate();
  } catch {
    id = undefined;
  }
  return typeof id === "string" && id.length > 0 && id.length <= MAX_REQUEST_ID_LENGTH && SAFE_ID.test(id) ? id : randomUUID();
}
