/**
 * The `redact` option compiled once, at construction (as pino compiles its
 * paths): it is applied to an entry's fields before the line is built, so
 * that the trail files, OTLP, onAudit, the hub and viewer and the console all
 * receive only the redacted entry.
 */

import { redactUrlQuery } from "../../internal/queryParameters.js";
import { isDefaultSecretName } from "../../internal/secretNames.js";
import { AuditConfigError } from "../errors.js";
import { type AuditEntryFields, ENTRY_FIELDS } from "../fields.js";
import type { JsonObject, JsonValue } from "../json.js";
import { maskCardNumbers } from "./cardNumbers.js";
import { type Censor, compileCensor, REDACTED } from "./censors.js";
import type { RedactCensor, RedactOption, RedactOptions, RedactRule } from "./RedactOptions.js";
import { type PathSegment, parsePath, segmentMatches } from "./RedactPath.js";

/** What the newer side of a before/after pair shows when a redacted secret changed but both sides would read alike. */
export const CHANGED = "[REDACTED:changed]";

/** The map fields a path can start at; `fields` are the extra fields of an app.log message. */
type MapField = "oldValues" | "newValues" | "metadata" | "fields";
const MAP_FIELDS: Record<string, MapField> = {
  old_values: "oldValues",
  oldvalues: "oldValues",
  new_values: "newValues",
  newvalues: "newValues",
  metadata: "metadata",
  fields: "fields",
};
const MAP_FIELD_LIST: readonly MapField[] = ["oldValues", "newValues", "metadata", "fields"];
const MAP_ROOT: Record<MapField, string> = { oldValues: "old_values", newValues: "new_values", metadata: "metadata", fields: "fields" };

type TextField = Exclude<
  {
    [K in keyof AuditEntryFields]: AuditEntryFields[K] extends string ? K : never;
  }[keyof AuditEntryFields],
  "timestamp" | "level" | "traceId" | "spanId" | "id" | "chainId" | "prevHash" | "hash"
>;
/** Text fields a path may name, by snake_case and camelCase name (lower case). */
const TEXT_FIELDS = new Map<string, TextField>();
for (const field of ENTRY_FIELDS) {
  if (field.kind !== "text" || ("trusted" in field && field.trusted) || field.key === "id" || field.key === "chainId") continue;
  TEXT_FIELDS.set(field.name, field.key as TextField);
  TEXT_FIELDS.set(field.key.toLowerCase(), field.key as TextField);
}

/** Text fields that may carry a card number in free text (with `pan`). */
const PAN_TEXT_FIELDS: readonly TextField[] = ["description", "referenceNo", "entityId", "endpoint"];

const MAX_SEGMENTS = 64;
const NAME_CACHE_LIMIT = 8192;
const NO_STATES: readonly number[] = [];

interface PathRule {
  readonly path: string;
  readonly segments: readonly PathSegment[];
  readonly censor: Censor;
}

/** One secret found while redacting an old_values map, to compare with its new_values counterpart. */
interface Hit {
  readonly raw: string;
  readonly censored: JsonValue | undefined;
  readonly container: JsonObject;
  readonly key: string;
}

/**
 * Where a walk is, for censors that take the path and for pairing secrets
 * across old and new values; the common walk (no such censor, no pair) has
 * none and allocates nothing.
 */
interface Walk {
  readonly root: string;
  readonly path: (string | number)[];
  /** record: an old_values map whose secrets new_values is compared with; compare: that new_values map. */
  readonly mode: "record" | "compare" | undefined;
  readonly hits: Map<string, Hit> | undefined;
}

function setOwn(target: JsonObject, key: string, value: JsonValue): void {
  if (key === "__proto__") Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

function sameJson(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

function asText(value: JsonValue | undefined): string {
  if (value === undefined || value === null) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

export class Redactor {
  readonly pan: boolean;
  private readonly defaults: boolean;
  private readonly keep: ReadonlySet<string>;
  private readonly censor: Censor;
  private readonly rules: readonly PathRule[];
  private readonly textRules: { readonly key: TextField; readonly name: string; readonly rule: PathRule }[] = [];
  private readonly mapRules: Record<MapField, PathRule[]> = { oldValues: [], newValues: [], metadata: [], fields: [] };
  private readonly removedMaps = new Set<MapField>();
  /** Names redacted wherever they occur: the user's bare names first, then the default list. */
  private readonly nameRules: { readonly segment: PathSegment; readonly censor: Censor }[] = [];
  /** The verdict on each key name seen so far (null: not a secret name); see learnName. */
  private readonly names = new Map<string, Censor | null>();
  /** Whether a censor takes the path (a function): only then is the path of a plain walk kept. */
  private readonly pathCensors: boolean;
  private readonly initialStates: Record<MapField, readonly number[]>;

  private constructor(options: RedactOptions) {
    if (options.remove !== undefined && typeof options.remove !== "boolean") throw new AuditConfigError("redact.remove must be a boolean");
    if (options.remove && options.censor !== undefined) throw new AuditConfigError("redact: give either remove or censor, not both");
    this.censor = compileCensor(options.remove ? { remove: true } : options.censor, "redact.censor");
    this.defaults = options.defaults ?? true;
    if (typeof this.defaults !== "boolean") throw new AuditConfigError("redact.defaults must be a boolean");
    this.pan = options.pan ?? false;
    if (typeof this.pan !== "boolean") throw new AuditConfigError("redact.pan must be a boolean");
    const keep = options.keep ?? [];
    if (!Array.isArray(keep) || !keep.every((name) => typeof name === "string"))
      throw new AuditConfigError("redact.keep must be an array of key names");
    this.keep = new Set(keep.map((name) => name.toLowerCase()));
    const paths = options.paths ?? [];
    if (!Array.isArray(paths)) throw new AuditConfigError("redact.paths must be an array of paths or { path, censor } rules");
    this.rules = paths.map((item, index) => this.compileRule(item, index));
    for (const rule of this.rules) this.place(rule);
    this.pathCensors = this.censor.kind === "function" || this.rules.some((rule) => rule.censor.kind === "function");
    this.initialStates = {
      oldValues: this.mapRules.oldValues.map((_, index) => index * MAX_SEGMENTS),
      newValues: this.mapRules.newValues.map((_, index) => index * MAX_SEGMENTS),
      metadata: this.mapRules.metadata.map((_, index) => index * MAX_SEGMENTS),
      fields: this.mapRules.fields.map((_, index) => index * MAX_SEGMENTS),
    };
  }

  /** The compiled `redact` option: null for `false` (no redaction at all); the default list when undefined. */
  static compile(option: RedactOption | undefined): Redactor | null {
    if (option === false) return null;
    if (option === undefined) return new Redactor({});
    if (Array.isArray(option)) return new Redactor({ paths: option as readonly string[] });
    if (option === null || typeof option !== "object") {
      throw new AuditConfigError(`redact must be an object of options, an array of paths or false, got ${JSON.stringify(option)}`);
    }
    return new Redactor(option as RedactOptions);
  }

  private compileRule(item: string | RedactRule, index: number): PathRule {
    if (typeof item === "string") return { path: item, segments: parsePath(item), censor: this.censor };
    if (item === null || typeof item !== "object" || typeof item.path !== "string") {
      throw new AuditConfigError(`redact.paths[${index}] must be a path or { path, censor }`);
    }
    return {
      path: item.path,
      segments: parsePath(item.path),
      censor: compileCensor(item.censor as RedactCensor, `redact.paths[${index}].censor`),
    };
  }

  /** Files a rule under the field it starts at, or as a name redacted anywhere. */
  private place(rule: PathRule): void {
    const [first, ...rest] = rule.segments;
    if (rule.segments.length >= MAX_SEGMENTS) throw new AuditConfigError(`redact: ${JSON.stringify(rule.path)} is too deep`);
    const field = first!.kind === "key" ? first!.name : undefined;
    const textField = field === undefined ? undefined : TEXT_FIELDS.get(field);
    const mapField = field === undefined ? undefined : MAP_FIELDS[field];
    if (textField) {
      if (rest.length > 0) throw new AuditConfigError(`redact: ${JSON.stringify(rule.path)}: ${field} is a text field, it has no keys`);
      this.textRules.push({ key: textField, name: field!, rule });
    } else if (mapField) {
      if (rest.length === 0) this.removedMaps.add(mapField);
      else this.mapRules[mapField].push({ ...rule, segments: rest });
    } else if (first!.kind === "any" || first!.kind === "deep") {
      if (rule.segments.length === 1) throw new AuditConfigError(`redact: ${JSON.stringify(rule.path)} would redact every field`);
      // `*` is the field itself; `**` may also take no key at all.
      const segments = first!.kind === "any" ? rest : rule.segments;
      for (const map of MAP_FIELD_LIST) this.mapRules[map].push({ ...rule, segments });
    } else if (rule.segments.length === 1) {
      this.nameRules.push({ segment: first!, censor: rule.censor });
    } else {
      // A path that does not start at a field matches at any depth.
      for (const map of MAP_FIELD_LIST) this.mapRules[map].push({ ...rule, segments: [{ kind: "deep" }, ...rule.segments] });
    }
  }

  private nameVerdict(name: string): Censor | null {
    const lower = name.toLowerCase();
    for (const rule of this.nameRules) if (segmentMatches(rule.segment, lower)) return rule.censor;
    if (this.defaults && !this.keep.has(lower) && isDefaultSecretName(name)) return this.censor;
    return null;
  }

  /** Redacts the fields of an entry being built, in place (its maps are its own, freshly normalised). */
  redactEntry(f: AuditEntryFields): void {
    for (const { key, name, rule } of this.textRules) {
      if (f[key] !== "") f[key] = asText(rule.censor.apply(f[key], name));
    }
    if (f.endpoint !== "" && f.endpoint.includes("?")) f.endpoint = this.redactEndpoint(f.endpoint);
    if (this.pan) for (const key of PAN_TEXT_FIELDS) if (f[key] !== "") f[key] = maskCardNumbers(f[key]);
    if (this.removedMaps.size > 0) {
      if (this.removedMaps.has("oldValues")) f.oldValues = undefined;
      if (this.removedMaps.has("newValues")) f.newValues = undefined;
      if (this.removedMaps.has("metadata")) f.metadata = undefined;
    }
    const hits = f.oldValues !== undefined && f.newValues !== undefined ? new Map<string, Hit>() : undefined;
    if (f.oldValues !== undefined) this.redactMap(f.oldValues, "oldValues", hits && "record", hits);
    if (f.newValues !== undefined) this.redactMap(f.newValues, "newValues", hits && "compare", hits);
    if (f.metadata !== undefined) this.redactMap(f.metadata, "metadata");
  }

  /** Redacts the extra fields of an app.log message (already normalised), in place; undefined when the whole map goes. */
  redactFields(fields: JsonObject): JsonObject | undefined {
    if (this.removedMaps.has("fields")) return undefined;
    this.redactMap(fields, "fields");
    return fields;
  }

  /** Free text (an app.log message, a description): card numbers masked when `pan` is on. */
  redactText(text: string): string {
    return this.pan ? maskCardNumbers(text) : text;
  }

  /** The secret-name verdict on a key or parameter name: its censor, or null. */
  censorOfName(name: string): Censor | null {
    const known = this.names.get(name);
    return known === undefined ? this.learnName(name) : known;
  }

  /** The verdict on a key name not seen before, remembered (up to a bound: keys of an ERP repeat). */
  private learnName(name: string): Censor | null {
    const verdict = this.nameVerdict(name);
    if (this.names.size >= NAME_CACHE_LIMIT) this.names.clear();
    this.names.set(name, verdict);
    return verdict;
  }

  /** An endpoint with the values of secret query parameters censored. */
  redactEndpoint(endpoint: string): string {
    return redactUrlQuery(
      endpoint,
      (name) => this.censorOfName(name),
      (censor, value) => {
        const censored = censor.apply(value, "endpoint");
        return censored === undefined ? undefined : asText(censored);
      },
    );
  }

  /** The rules in effect, for the logger's start entry (never a censor's key). */
  describe(): JsonObject {
    // "maskCards", not "pan": the entry carrying this description is redacted too, and "pan" is a secret name.
    const description: JsonObject = { defaults: this.defaults, censor: this.censor.kind, maskCards: this.pan };
    if (this.keep.size > 0) description.keep = [...this.keep];
    if (this.rules.length > 0) description.paths = this.rules.map((rule) => ({ path: rule.path, censor: rule.censor.kind }));
    return description;
  }

  private redactMap(map: JsonObject, field: MapField, mode?: "record" | "compare", hits?: Map<string, Hit>): void {
    const walk: Walk | null = mode || this.pathCensors ? { root: MAP_ROOT[field], path: [], mode, hits } : null;
    this.redactObject(map, this.initialStates[field], this.mapRules[field], walk, MAP_ROOT[field]);
  }

  private redactObject(object: JsonObject, states: readonly number[], rules: readonly PathRule[], walk: Walk | null, root: string): void {
    const names = this.names;
    for (const key in object) {
      let censor: Censor | null = null;
      let next = NO_STATES;
      if (states.length > 0) {
        const step = this.step(states, rules, key);
        censor = step.match;
        next = step.next;
      }
      if (censor === null) {
        censor = names.get(key) as Censor | null;
        if (censor === undefined) censor = this.learnName(key);
      }
      const value = object[key] as JsonValue;
      if (censor !== null) {
        walk?.path.push(key);
        this.censorAt(object, key, value, censor, walk, root);
        walk?.path.pop();
      } else if (typeof value === "object" && value !== null) {
        walk?.path.push(key);
        if (Array.isArray(value)) this.redactArray(value, next, rules, walk, root);
        else this.redactObject(value, next, rules, walk, root);
        walk?.path.pop();
      } else if (this.pan && typeof value === "string") {
        const masked = maskCardNumbers(value);
        if (masked !== value) setOwn(object, key, masked);
      }
    }
  }

  /** Arrays are looked through: each item is at the array's own place in a path. */
  private redactArray(array: JsonValue[], states: readonly number[], rules: readonly PathRule[], walk: Walk | null, root: string): void {
    for (let i = 0; i < array.length; i++) {
      const item = array[i] as JsonValue;
      if (item !== null && typeof item === "object") {
        walk?.path.push(i);
        if (Array.isArray(item)) this.redactArray(item, states, rules, walk, root);
        else this.redactObject(item, states, rules, walk, root);
        walk?.path.pop();
      } else if (this.pan && typeof item === "string") {
        array[i] = maskCardNumbers(item);
      }
    }
  }

  /** Moves every path state over one key: the first rule that ends here, and the states that go on below. */
  private step(states: readonly number[], rules: readonly PathRule[], key: string): { match: Censor | null; next: number[] } {
    const lower = key.toLowerCase();
    const next: number[] = [];
    let match: Censor | null = null;
    const consider = (rule: number, index: number): void => {
      const segments = rules[rule]!.segments;
      const segment = segments[index]!;
      if (segment.kind === "deep") {
        if (index + 1 === segments.length) {
          match ??= rules[rule]!.censor;
          return;
        }
        // `**` takes this key and stays, or takes nothing and lets the next segment try it.
        const state = rule * MAX_SEGMENTS + index;
        if (!next.includes(state)) next.push(state);
        consider(rule, index + 1);
        return;
      }
      if (!segmentMatches(segment, lower)) return;
      if (index + 1 === segments.length) match ??= rules[rule]!.censor;
      else {
        const state = rule * MAX_SEGMENTS + index + 1;
        if (!next.includes(state)) next.push(state);
      }
    };
    for (const state of states) consider(Math.floor(state / MAX_SEGMENTS), state % MAX_SEGMENTS);
    return { match, next };
  }

  private censorAt(container: JsonObject, key: string, value: JsonValue, censor: Censor, walk: Walk | null, root: string): void {
    if (walk === null) {
      const censored = censor.apply(value, root);
      if (censored === undefined) delete container[key];
      else setOwn(container, key, censored);
      return;
    }
    const relative = walk.path.join(".");
    let censored = censor.apply(value, `${walk.root}.${relative}`);
    if (walk.mode === "record") {
      walk.hits!.set(relative, { raw: JSON.stringify(value), censored, container, key });
    } else if (walk.mode === "compare") {
      const before = walk.hits!.get(relative);
      // A changed secret whose two sides would read alike shows as changed, with neither value.
      if (before !== undefined && before.raw !== JSON.stringify(value) && sameJson(before.censored, censored)) {
        censored = CHANGED;
        if (before.censored === undefined) setOwn(before.container, before.key, REDACTED);
      }
    }
    if (censored === undefined) delete container[key];
    else setOwn(container, key, censored);
  }
}
