/** Reading completion entries back from a trail, and raw HTTP requests for the header tests. */
import { request } from "node:http";
import { join } from "node:path";
import { readJsonl } from "./core-trail.js";
import { eventually } from "./eventually.js";

export type TrailEntry = Record<string, unknown> & { metadata?: Record<string, unknown> };

export function auditEntries(dir: string): TrailEntry[] {
  return readJsonl(join(dir, "audit.jsonl")) as TrailEntry[];
}

/** The completion entries (module system, description starting with "HTTP "). */
export function completionEntries(dir: string): TrailEntry[] {
  return auditEntries(dir).filter((entry) => typeof entry.description === "string" && entry.description.startsWith("HTTP "));
}

/** Waits until `count` completion entries are in the trail (they are written when the response has ended). */
export async function waitForCompletions(dir: string, count: number): Promise<TrailEntry[]> {
  await eventually(() => completionEntries(dir).length >= count, 20_000, `${count} completion entries`);
  return completionEntries(dir);
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request with header names exactly as given (fetch would normalise their case). */
export function rawRequest(url: string, headers: Record<string, string>, method = "GET"): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}
