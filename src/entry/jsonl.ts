/**
 * An entry as an audit.jsonl line and as its JSON object: the original
 * auditX's snake_case fields, in order, empty values left out, `status` and
 * `success` always kept. Both writers are compiled once, at load, from
 * ENTRY_FIELDS (as fast-json-stringify compiles a schema): the line is built
 * in one pass without an intermediate object, which is most of what a log
 * call costs besides its write(2).
 */
import { type AuditEntryDict, type AuditEntryFields, ENTRY_FIELDS, type FieldSpec } from "./fields.js";
import type { JsonObject } from "./json.js";

// Most field values need no escaping: quoting them directly skips a JSON.stringify call each.
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** A string as a JSON string literal: the same text as JSON.stringify(text). */
export function jsonString(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`;
}

export function isEmptyMap(value: JsonObject | undefined): value is undefined {
  if (value === undefined) return true;
  for (const _ in value) return false;
  return true;
}

const CHAIN_ID = ENTRY_FIELDS.find((field) => field.key === "chainId") as FieldSpec;

/** JS source of "this field of `e` holds a value" (empty values are left out). */
function holdsValue(field: FieldSpec): string {
  const value = `e.${field.key}`;
  switch (field.kind) {
    case "number":
    case "status":
      return `${value} !== null`;
    case "map":
      return `!isEmptyMap(${value})`;
    case "seq":
      return `${value} > 0`;
    case "flag":
      return "true";
    default:
      return value;
  }
}

/** JS source of the condition under which a line carries the field, or "" for always. */
function presenceTest(field: FieldSpec): string {
  switch (field.presence) {
    case "always":
      return "";
    case "sealed":
      return holdsValue(CHAIN_ID);
    default:
      return holdsValue(field);
  }
}

/**
 * JS source that appends the field, its name and its value, to `s`: a text
 * value is quoted in the same concatenation as its name, and tested for
 * escaping inline, so that the line is built from as few strings as possible
 * (each one more costs an allocation, and a step when the line is flattened
 * to be hashed and written).
 */
function appendSource(field: FieldSpec, index: number): string {
  const name = `${index === 0 ? "{" : ","}"${field.name}":`;
  const value = `e.${field.key}`;
  switch (field.kind) {
    case "map":
      return `s += '${name}' + JSON.stringify(${value});`;
    case "text":
    case "level":
      if (field.trusted) return `s += '${name}"' + ${value} + '"';`;
      return `s += NEEDS_ESCAPE.test(${value}) ? '${name}' + JSON.stringify(${value}) : '${name}"' + ${value} + '"';`;
    default:
      // Numbers, null and booleans print as JSON does.
      return `s += '${name}' + ${value};`;
  }
}

/** Compiles a writer of `fields` as one JSON object's text, followed by `ending`. */
function compileLineWriter(name: string, fields: readonly FieldSpec[], ending: string): (e: AuditEntryFields) => string {
  const lines = fields.map((field, index) => {
    const append = appendSource(field, index);
    const test = presenceTest(field);
    return test ? `if (${test}) ${append}` : append;
  });
  if (presenceTest(fields[0] as FieldSpec) !== "") throw new Error("the first trail field must always be present");
  const source = `let s = "";\n${lines.join("\n")}\nreturn s + ${JSON.stringify(ending)};`;
  return new Function("NEEDS_ESCAPE", "isEmptyMap", `return function ${name}(e) {\n${source}\n}`)(NEEDS_ESCAPE, isEmptyMap);
}

function compileDictWriter(): (e: AuditEntryFields) => AuditEntryDict {
  const lines = ENTRY_FIELDS.map((field) => {
    const assign = `d.${field.name} = e.${field.key};`;
    const test = presenceTest(field);
    return test ? `if (${test}) ${assign}` : assign;
  });
  const source = `const d = {};\n${lines.join("\n")}\nreturn d;`;
  return new Function("isEmptyMap", `return function entryToDict(e) {\n${source}\n}`)(isEmptyMap);
}

/**
 * The audit.jsonl line of an entry, newline included: the same text as
 * JSON.stringify(entryToDict(e)).
 */
export const entryToJsonLine: (e: AuditEntryFields) => string = compileLineWriter("entryToJsonLine", ENTRY_FIELDS, "}\n");

if (ENTRY_FIELDS.at(-1)?.key !== "hash") throw new Error("a sealed line's hash must be its last field");

/**
 * What the hash of a sealed entry covers: its line without the `hash` field
 * and without the newline, `{...,"prev_hash":"…"}`. Its integrity fields
 * must be set (all but `hash`).
 */
export const entryToSealedContent: (e: AuditEntryFields) => string = compileLineWriter(
  "entryToSealedContent",
  ENTRY_FIELDS.slice(0, -1),
  "}",
);

/** The JSONL object of an entry. */
export const entryToDict: (e: AuditEntryFields) => AuditEntryDict = compileDictWriter();
