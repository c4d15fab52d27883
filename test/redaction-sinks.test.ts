/**
 * Redaction happens once, before every sink: the trail files, a real OTLP
 * receiver, onAudit, the viewer's WebSocket and SSE push (through the hub),
 * the console, and a record emitted by other code into a provider that runs
 * auditx's processors.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { LoggerProvider } from "@opentelemetry/sdk-logs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AuditEntry, AuditHub, type AuditLogger, attributes, createAuditProcessors, createLogger } from "../src/index.js";
import { startViewer } from "../src/viewer/index.js";
import { tempDir } from "./support/core-trail.js";
import { eventually } from "./support/eventually.js";
import { OtlpReceiver } from "./support/otlp-receiver.js";
import { openWebSocket, SseReader } from "./support/viewer-server.js";

const SECRETS = ["pw-zq1", "tok-zq2", "ak-zq3", "4111111111111111", "pin-zq5", "cookie-zq6", "app-secret-zq7", "query-pw-zq8"];

function assertClean(text: string, where: string): void {
  for (const secret of SECRETS) expect(text, `${where} holds ${secret}`).not.toContain(secret);
}

/** One of each kind of call, every one carrying secrets. */
function writeSecrets(logger: AuditLogger): AuditEntry[] {
  const change = logger.logChange("Password changed", {
    user: "alice",
    endpoint: "/users/7?password=query-pw-zq8",
    oldValues: { password: "pw-zq1" },
    newValues: { password: "pw-zq1x", profile: { api_key: "ak-zq3" } },
  });
  const payment = logger.logTransaction("Card payment", {
    amount: 1000,
    metadata: { card_number: "4111111111111111", session: { cookie: "cookie-zq6" }, gateway: "kbz" },
  });
  const login = logger.logSecurity("Login", { level: "SECURITY", metadata: { access_token: "tok-zq2", pin: "pin-zq5" } });
  logger.info("Gateway configured", { client_secret: "app-secret-zq7", region: "ygn" });
  return [change, payment, login];
}

describe("redaction before every sink", () => {
  let dir: string;
  let cleanup: () => void;
  let receiver: OtlpReceiver;

  beforeEach(async () => {
    ({ dir, cleanup } = tempDir("auditx-redact-sinks-"));
    receiver = await new OtlpReceiver().start();
  });
  afterEach(async () => {
    await receiver.stop();
    cleanup();
  });

  it("the files, OTLP, onAudit, the viewer's WebSocket and SSE, and the console see only the redacted entry", async () => {
    const received: AuditEntry[] = [];
    const console: string[] = [];
    const hub = new AuditHub();
    const logger = createLogger({
      logDir: dir,
      otlp: { url: receiver.url, scheduledDelayMillis: 50 },
      onAudit: (entry) => {
        received.push(entry);
      },
      console: { write: (text: string) => console.push(text) },
    });
    const viewer = await startViewer({ logDir: dir, host: "127.0.0.1", port: 0, hub, logger, pollIntervalMs: 100 });
    try {
      const ws = await openWebSocket(`${viewer.url.replace("http", "ws")}api/ws`);
      const sse = new SseReader(`${viewer.url}api/stream`);
      await eventually(() => sse.events.length > 0, 10_000, "the SSE connected event");
      const returned = writeSecrets(logger);
      await logger.flush();
      await receiver.waitForRecords(4);
      await eventually(() => ws.messages.filter((message) => message.type === "entry").length >= 4, 10_000, "WebSocket entries");
      await eventually(() => sse.entries().length >= 4, 10_000, "SSE entries");

      const files = ["audit.jsonl", "security.jsonl", "app.log"].map((name) => readFileSync(join(dir, name), "utf8")).join("\n");
      assertClean(files, "the trail files");
      expect(files).toContain("[REDACTED]");
      expect(files).toContain("[REDACTED:changed]");
      assertClean(JSON.stringify(receiver.records), "the OTLP receiver");
      const otlpMetadata = receiver.records.find((record) => record.body === "Card payment")?.attributes[attributes.ATTR_METADATA];
      expect(otlpMetadata).toEqual({ card_number: "[REDACTED]", session: { cookie: "[REDACTED]" }, gateway: "kbz" });
      assertClean(JSON.stringify(received), "onAudit");
      expect(received.map((entry) => entry.id)).toEqual(expect.arrayContaining(returned.map((entry) => entry.id)));
      assertClean(JSON.stringify(returned), "the entries the calls return");
      assertClean(JSON.stringify(ws.messages), "the WebSocket");
      assertClean(JSON.stringify(sse.events), "SSE");
      assertClean(console.join(""), "the console");
      const hubRecent = JSON.stringify(hub.recent("audit", 100));
      assertClean(hubRecent, "the hub's recent entries");
      const page = await (await fetch(`${viewer.url}api/entries?limit=50`)).text();
      assertClean(page, "the viewer's REST API");
      expect(page).toContain("[REDACTED]");
      ws.socket.close();
      sse.close();
    } finally {
      await viewer.close();
      await logger.shutdown();
    }
  });

  it("a record emitted by other code into a provider with auditx's processors is redacted for every processor after the trail", async () => {
    const received: AuditEntry[] = [];
    const processors = createAuditProcessors({
      logDir: dir,
      redact: { pan: true },
      otlp: { url: receiver.url, scheduledDelayMillis: 50 },
      onAudit: (entry) => {
        received.push(entry);
      },
    });
    const provider = new LoggerProvider({ processors });
    provider.getLogger("billing").emit({
      severityText: "AUDIT",
      body: "Stored card 4111111111111111 updated",
      attributes: {
        [attributes.ATTR_STREAM]: "audit",
        [attributes.ATTR_USER_ID]: "billing-job",
        [attributes.ATTR_METADATA]: { password: "pw-zq1", gateway: "kbz" },
        [attributes.ATTR_URL_PATH]: "/cards",
        [attributes.ATTR_URL_QUERY]: "token=tok-zq2",
      },
    });
    await provider.forceFlush();
    await receiver.waitForRecords(1);
    await provider.shutdown();
    const line = readFileSync(join(dir, "audit.jsonl"), "utf8");
    expect(line).toContain('"metadata":{"password":"[REDACTED]","gateway":"kbz"}');
    expect(line).toContain('"endpoint":"/cards?token=[REDACTED]"');
    assertClean(line, "the trail");
    assertClean(JSON.stringify(received), "onAudit");
    assertClean(JSON.stringify(receiver.records), "the OTLP receiver");
    expect(receiver.records[0]!.attributes[attributes.ATTR_URL_QUERY]).toBe("token=[REDACTED]");
    expect(receiver.records[0]!.body).toBe("Stored card ************1111 updated");
  });
});
