/**
 * Records carry the trace context of the active span (AsyncLocalStorage
 * context manager), in the OTLP record and in the trail line alike.
 */
import { join } from "node:path";
import { context, type Span, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../src/index.js";
import { readJsonl, tempDir } from "./support/core-trail.js";
import { OtlpReceiver } from "./support/otlp-receiver.js";

const receiver = new OtlpReceiver();
const contextManager = new AsyncLocalStorageContextManager();
const tracerProvider = new BasicTracerProvider();

beforeAll(async () => {
  await receiver.start();
  context.setGlobalContextManager(contextManager.enable());
  trace.setGlobalTracerProvider(tracerProvider);
});
afterAll(async () => {
  trace.disable();
  context.disable();
  await tracerProvider.shutdown();
  await receiver.stop();
});

describe("trace context", () => {
  it("puts the active span's trace and span ids on the OTLP record and the JSONL line, across awaits", async () => {
    const { dir, cleanup } = tempDir("auditx-otlp-trace-");
    const logger = createLogger({ auditLifecycle: false, logDir: dir, otlp: { url: receiver.url, scheduledDelayMillis: 20 } });
    try {
      const tracer = trace.getTracer("erp-test");
      const ids = await tracer.startActiveSpan("POST /invoices", async (span: Span) => {
        logger.logTransaction("Invoice posted inside a span", { referenceNo: "SI-1" });
        await new Promise((resolve) => setTimeout(resolve, 5));
        // A child span, active after an await: the record follows it.
        const child = await tracer.startActiveSpan("db.insert", async (inner: Span) => {
          await Promise.resolve();
          logger.log("Row inserted inside the child span");
          inner.end();
          return inner.spanContext();
        });
        span.end();
        return { parent: span.spanContext(), child };
      });
      logger.log("Outside any span");
      await logger.flush();

      const byBody = new Map(receiver.records.map((record) => [String(record.body), record]));
      expect(byBody.get("Invoice posted inside a span")).toMatchObject({ traceId: ids.parent.traceId, spanId: ids.parent.spanId });
      expect(byBody.get("Row inserted inside the child span")).toMatchObject({ traceId: ids.parent.traceId, spanId: ids.child.spanId });
      expect(ids.child.spanId).not.toBe(ids.parent.spanId);
      expect(byBody.get("Outside any span")?.traceId).toBeUndefined();

      const lines = new Map(readJsonl(join(dir, "audit.jsonl")).map((line) => [String(line.description), line]));
      expect(lines.get("Invoice posted inside a span")).toMatchObject({ trace_id: ids.parent.traceId, span_id: ids.parent.spanId });
      expect(lines.get("Row inserted inside the child span")).toMatchObject({ trace_id: ids.parent.traceId, span_id: ids.child.spanId });
      expect(lines.get("Outside any span")).not.toHaveProperty("trace_id");
      expect(ids.parent.traceId).toMatch(/^[0-9a-f]{32}$/);
    } finally {
      await logger.shutdown();
      cleanup();
    }
  });
});
