/**
 * app.log's text line: `dd/mm/yyyy hh:mm:ss AM | user | METHOD | LEVEL |
 * message[ | {json}]`, with every field made one safe line, so that no value
 * can forge a line of its own.
 */
import type { AppMessage } from "../entry/AppMessage.js";
import { DEFAULT_LIMITS, normalizeValue, toText } from "../entry/normalize.js";
import { formatAppLogTime } from "../internal/timestamp.js";

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

/** The app.log line of a message, newline included. */
export function formatAppLine(message: AppMessage): string {
  let line = `${formatAppLogTime(message.millis)} | ${oneLine(message.user) || "SYSTEM"} | ${oneLine(message.method) || "N/A"} | ${oneLine(message.level)} | ${oneLine(message.message)}`;
  if (message.fields) {
    const fields = normalizeValue(message.fields, DEFAULT_LIMITS);
    // JSON.stringify escapes every control character, so the JSON part is one line too.
    if (fields && typeof fields === "object" && Object.keys(fields).length > 0)
      line += ` | ${JSON.stringify(fields).replace(CONTROL, escapeControl)}`;
  }
  return `${line}\n`;
}
