/**
 * A real OTLP/HTTP logs receiver on 127.0.0.1 for tests: it decodes what
 * OTLPLogExporter sends (OTLP JSON, gunzipped when Content-Encoding is gzip)
 * and can play a collector that is healthy, failing (5xx) or hanging.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";

export type ReceiverMode = "ok" | "fail" | "hang";

/** One decoded log record with the resource and scope it came with. */
export interface ReceivedRecord {
  resource: Record<string, unknown>;
  scope: string;
  body: unknown;
  severityText?: string;
  severityNumber?: number;
  /** The OTel event name of the record. */
  eventName?: string;
  timeUnixNano?: string;
  traceId?: string;
  spanId?: string;
  attributes: Record<string, unknown>;
  /** The attribute values as they were on the wire (stringValue, intValue, ...). */
  rawAttributes: Record<string, Record<string, unknown>>;
}

export interface ReceivedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  json: OtlpLogsRequest;
}

interface OtlpKeyValue {
  key: string;
  value: Record<string, unknown>;
}

export interface OtlpLogsRequest {
  resourceLogs?: {
    resource?: { attributes?: OtlpKeyValue[] };
    scopeLogs?: {
      scope?: { name?: string };
      logRecords?: {
        timeUnixNano?: string;
        severityNumber?: number;
        severityText?: string;
        eventName?: string;
        body?: Record<string, unknown>;
        attributes?: OtlpKeyValue[];
        traceId?: string;
        spanId?: string;
      }[];
    }[];
  }[];
}

/** The JS value of an OTLP JSON AnyValue. */
export function anyValue(value: Record<string, unknown> | undefined): unknown {
  if (value === undefined || value === null) return undefined;
  if ("stringValue" in value) return value.stringValue;
  if ("boolValue" in value) return value.boolValue;
  if ("intValue" in value) return Number(value.intValue);
  if ("doubleValue" in value) return Number(value.doubleValue);
  if ("bytesValue" in value) return value.bytesValue;
  if ("arrayValue" in value) {
    const values = (value.arrayValue as { values?: Record<string, unknown>[] }).values ?? [];
    return values.map((item) => anyValue(item));
  }
  if ("kvlistValue" in value) return keyValues((value.kvlistValue as { values?: OtlpKeyValue[] }).values);
  return null;
}

function keyValues(list: OtlpKeyValue[] | undefined): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const { key, value } of list ?? []) result[key] = anyValue(value);
  return result;
}

/** OTLP JSON carries ids as hex (the JSON encoding of the spec) or base64 (protobuf-JSON): give hex. */
function hexId(id: string | undefined): string | undefined {
  if (id === undefined || id === "") return undefined;
  return /^[0-9a-f]+$/i.test(id) ? id.toLowerCase() : Buffer.from(id, "base64").toString("hex");
}

export function recordsOf(request: OtlpLogsRequest): ReceivedRecord[] {
  const records: ReceivedRecord[] = [];
  for (const resourceLogs of request.resourceLogs ?? []) {
    const resource = keyValues(resourceLogs.resource?.attributes);
    for (const scopeLogs of resourceLogs.scopeLogs ?? []) {
      for (const record of scopeLogs.logRecords ?? []) {
        const rawAttributes: Record<string, Record<string, unknown>> = {};
        for (const { key, value } of record.attributes ?? []) rawAttributes[key] = value;
        records.push({
          resource,
          scope: scopeLogs.scope?.name ?? "",
          body: anyValue(record.body),
          severityText: record.severityText,
          severityNumber: record.severityNumber,
          eventName: record.eventName,
          timeUnixNano: record.timeUnixNano,
          traceId: hexId(record.traceId),
          spanId: hexId(record.spanId),
          attributes: keyValues(record.attributes),
          rawAttributes,
        });
      }
    }
  }
  return records;
}

export class OtlpReceiver {
  readonly requests: ReceivedRequest[] = [];
  /** Paths of requests for other signals (traces, metrics). */
  readonly otherRequests: string[] = [];
  /** Requests answered with an error or left hanging, counted. */
  rejected = 0;
  mode: ReceiverMode = "ok";
  private server?: Server;
  private readonly hanging = new Set<ServerResponse>();
  private port = 0;
  private waiters: { count: number; resolve: () => void }[] = [];

  /** Starts listening (on a free port the first time, on the same port after stop()). */
  async start(): Promise<this> {
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => this.handle(request.url ?? "", request.headers, Buffer.concat(chunks), response));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/v1/logs`;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get records(): ReceivedRecord[] {
    return this.requests.flatMap((request) => recordsOf(request.json));
  }

  /** Resolves once `count` records in all have been accepted. */
  waitForRecords(count: number, timeoutMillis = 15_000): Promise<void> {
    if (this.records.length >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`receiver got ${this.records.length} of ${count} records`)), timeoutMillis);
      this.waiters.push({
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  /** Stops listening and cuts every open connection (a collector going down). */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const response of this.hanging) response.destroy();
    this.hanging.clear();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(path: string, headers: IncomingHttpHeaders, body: Buffer, response: ServerResponse): void {
    if (!path.split("?")[0]!.endsWith("/logs")) {
      // Other signals (a NodeSDK's traces) are accepted and not decoded.
      this.otherRequests.push(path);
      response.writeHead(200).end();
      return;
    }
    if (this.mode === "hang") {
      this.rejected++;
      this.hanging.add(response);
      return;
    }
    if (this.mode === "fail") {
      this.rejected++;
      response.writeHead(503, { "content-type": "application/json" }).end('{"code":14,"message":"unavailable"}');
      return;
    }
    let json: OtlpLogsRequest;
    try {
      const raw = headers["content-encoding"] === "gzip" ? gunzipSync(body) : body;
      json = JSON.parse(raw.toString("utf8")) as OtlpLogsRequest;
    } catch (error) {
      response.writeHead(400).end(String(error));
      return;
    }
    this.requests.push({ path, headers, json });
    response.writeHead(200, { "content-type": "application/json" }).end("{}");
    const received = this.records.length;
    this.waiters = this.waiters.filter((waiter) => {
      if (received < waiter.count) return true;
      waiter.resolve();
      return false;
    });
  }
}
