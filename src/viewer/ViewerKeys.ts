/**
 * The viewer's API keys: each with an id (what the trail records as the
 * reader, never the key) and optional scopes, tenants (`company_id` values)
 * and sources (audit, security). Given in code, in a JSON file, or in the
 * environment; `--api-key` / `apiKey` is one unscoped key with id "default".
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { TrailName } from "./TrailSource.js";

export interface ViewerKey {
  /** Who reads with it, as the trail records it: letters, digits, ".", "_", "-", "@" (1-64). */
  id: string;
  /** The key itself; or give `sha256` instead. */
  key?: string;
  /** The SHA-256 of the key as hex, so that the key file holds no key. */
  sha256?: string;
  /** Tenants it may see (`company_id` values); every tenant when absent. */
  companies?: string[];
  /** Trails it may read; both when absent. */
  sources?: TrailName[];
}

/** A key checked and ready: its digest, and what its reader may see. */
export interface ResolvedKey {
  id: string;
  digest: Buffer;
  companies: readonly string[] | undefined;
  sources: ReadonlySet<TrailName>;
}

const ID = /^[A-Za-z0-9._@-]{1,64}$/;
const SOURCES: readonly TrailName[] = ["audit", "security"];
export const SHORTEST_KEY = 8;

export function keyDigest(key: string): Buffer {
  return createHash("sha256").update(key, "utf8").digest();
}

function fail(where: string, message: string): never {
  throw new TypeError(`${where}: ${message}`);
}

/** Checks one key's settings; throws a TypeError naming `where` on a mistake. */
export function resolveKey(value: unknown, where: string): ResolvedKey {
  if (value === null || typeof value !== "object" || Array.isArray(value))
    fail(where, "expected { id, key | sha256, companies?, sources? }");
  const key = value as Record<string, unknown>;
  for (const name of Object.keys(key)) {
    if (!["id", "key", "sha256", "companies", "sources"].includes(name)) fail(where, `unknown setting ${JSON.stringify(name)}`);
  }
  if (typeof key.id !== "string" || !ID.test(key.id)) fail(where, 'id: expected 1-64 letters, digits, ".", "_", "-" or "@"');
  let digest: Buffer;
  if (key.key !== undefined) {
    if (key.sha256 !== undefined) fail(where, "give key or sha256, not both");
    if (typeof key.key !== "string" || key.key.length < SHORTEST_KEY)
      fail(where, `key: expected a string of at least ${SHORTEST_KEY} characters`);
    digest = keyDigest(key.key);
  } else if (typeof key.sha256 === "string" && /^[0-9a-fA-F]{64}$/.test(key.sha256)) {
    digest = Buffer.from(key.sha256, "hex");
  } else fail(where, "expected key (the key) or sha256 (its SHA-256 as 64 hex digits)");
  let companies: string[] | undefined;
  if (key.companies !== undefined) {
    if (!Array.isArray(key.companies) || key.companies.length === 0 || !key.companies.every((c) => typeof c === "string" && c !== "")) {
      fail(where, "companies: expected a non-empty list of company_id values");
    }
    companies = [...new Set(key.companies as string[])];
  }
  let sources = new Set<TrailName>(SOURCES);
  if (key.sources !== undefined) {
    if (!Array.isArray(key.sources) || key.sources.length === 0 || !key.sources.every((s) => SOURCES.includes(s as TrailName))) {
      fail(where, 'sources: expected a non-empty list of "audit" and "security"');
    }
    sources = new Set(key.sources as TrailName[]);
  }
  return { id: key.id, digest, companies, sources };
}

/** The one unscoped key of `apiKey` / `--api-key`, id "default" (any non-empty key, as before keys had ids). */
export function defaultKey(apiKey: string): ResolvedKey {
  return { id: "default", digest: keyDigest(apiKey), companies: undefined, sources: new Set(SOURCES) };
}

/** Checks a list of keys (and ones resolved already): ids and keys unique. */
export function resolveKeys(values: readonly unknown[], where: string, resolved: readonly ResolvedKey[] = []): ResolvedKey[] {
  const keys = [...values.map((value, index) => resolveKey(value, `${where}[${index}]`)), ...resolved];
  const ids = new Set<string>();
  const digests = new Set<string>();
  for (const key of keys) {
    if (ids.has(key.id)) fail(where, `two keys have the id ${JSON.stringify(key.id)}`);
    const hex = key.digest.toString("hex");
    if (digests.has(hex)) fail(where, `the key of ${JSON.stringify(key.id)} is also another key's`);
    ids.add(key.id);
    digests.add(hex);
  }
  return keys;
}

/** The keys of a JSON document: a list, or `{ "keys": [...] }`. */
export function parseKeysJson(text: string, where: string): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The text is not repeated: it holds keys.
    return fail(where, "not valid JSON");
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(list)) fail(where, 'expected a JSON list of keys, or { "keys": [...] }');
  return list;
}

/** The keys of a JSON key file. */
export function readKeysFile(path: string): unknown[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    return fail(`keys file ${path}`, (error as Error).message);
  }
  return parseKeysJson(text, `keys file ${path}`);
}

/**
 * The keys given by the environment: AUDITX_VIEWER_KEYS (the JSON itself),
 * AUDITX_VIEWER_KEYS_FILE (a JSON file) and AUDITX_API_KEY (one unscoped key).
 */
export function keysFromEnvironment(env: NodeJS.ProcessEnv = process.env): { apiKey?: string; apiKeys: unknown[] } {
  const apiKeys: unknown[] = [];
  if (env.AUDITX_VIEWER_KEYS) apiKeys.push(...parseKeysJson(env.AUDITX_VIEWER_KEYS, "AUDITX_VIEWER_KEYS"));
  if (env.AUDITX_VIEWER_KEYS_FILE) apiKeys.push(...readKeysFile(env.AUDITX_VIEWER_KEYS_FILE));
  return { apiKey: env.AUDITX_API_KEY || undefined, apiKeys };
}
