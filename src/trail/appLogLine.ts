/**
 * app.log's text lines, as the original writes them: loggingCustom's
 * `dd/mm/yyyy hh:mm:ss AM | user | METHOD | LEVEL | message[ | {json}]`, and
 * app messages in Python logging's `yyyy-mm-dd hh:mm:ss,mmm | LEVEL |
 * message[ | {json}]`. Every field is made one safe line, so that no value can
 * forge a line of its own.
 */
import type { AppMessage } from "../entry/AppMessage.js";
import type { JsonValue } from "../entry/json.js";
import { DEFAULT_LIMITS, normalizeValue, toText } from "../entry/normalize.js";
import { formatAppLogTime, formatLoggingTime } from "../internal/timestamp.js";

// Every control character (C0 and C1: U+0085 NEL is a line break to many readers), and the
// Unicode line separators, could start a forged line in a text log.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const HAS_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const escapeControl = (char: string) =>
  char === "\n" ? "\\n" : char === "\r" ? "\\r" : char === "\t" ? "\\t" : `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;

/** A text field safe for one line of text: control characters escaped, length capped. */
export function oneLine(value: unknown, maxLength = DEFAULT_LIMITS.maxStringLength): string {
  const text = toText(value, maxLength);
  return HAS_CONTROL.test(text) ? text.replace(CONTROL, escapeControl) : text;
}

/**
 * JSON as Python's json.dumps writes it by default (`{"a": 1, "b": [1, 2]}`:
 * a space after each comma and colon), which the original appends to its text
 * lines; the values are normalised first, so any input prints.
 */
export function pythonJson(value: JsonValue): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(", ")}]`;
  const parts: string[] = [];
  for (const key in value) parts.push(`${JSON.stringify(key)}: ${pythonJson(value[key] as JsonValue)}`);
  return `{${parts.join(", ")}}`;
}

/** The ` | {json}` part of a line, or "" when there are no fields. */
function jsonPart(fields: Record<string, unknown> | undefined): string {
  if (!fields) return "";
  const normalized = normalizeValue(fields, DEFAULT_LIMITS);
  if (!normalized || typeof normalized !== "object" || Object.keys(normalized).length === 0) return "";
  // JSON escapes the C0 controls; the rest (C1, U+2028/9) are escaped here, so the JSON part is one line too.
  return ` | ${pythonJson(normalized).replace(CONTROL, escapeControl)}`;
}

/** The app.log line of a message, newline included. */
export function formatAppLine(message: AppMessage): string {
  const level = oneLine(message.level);
  const text = oneLine(message.message);
  if (message.custom) {
    return `${formatAppLogTime(message.millis)} | ${oneLine(message.user) || "SYSTEM"} | ${oneLine(message.method) || "N/A"} | ${level} | ${text}${jsonPart(message.fields)}\n`;
  }
  return `${formatLoggingTime(message.millis)} | ${level} | ${text}${jsonPart(message.fields)}\n`;
}
