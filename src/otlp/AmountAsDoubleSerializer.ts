import type { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { type IExportLogsServiceResponse, type ISerializer, JsonLogsSerializer } from "@opentelemetry/otlp-transformer";
import type { ReadableLogRecord } from "@opentelemetry/sdk-logs";
import { ATTR_AMOUNT } from "../entry/attributes.js";

// JSON.stringify's exact output for the attribute when the transformer typed it
// by Number.isInteger. Inside a string value every quote is escaped, so record
// content cannot produce this text.
const AMOUNT_KEY = `"key":${JSON.stringify(ATTR_AMOUNT)}`;
const WHOLE_AMOUNT = new RegExp(`${AMOUNT_KEY.replaceAll(".", "\\.")},"value":\\{"intValue":`, "g");
const DOUBLE_AMOUNT = `${AMOUNT_KEY},"value":{"doubleValue":`;

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * The OTLP JSON logs serializer, with `auditx.amount` always a double as the
 * attribute contract says. The OTel JS transformer types a number by
 * Number.isInteger, so 1250000 would travel as intValue and 1250000.5 as
 * doubleValue, and a SIEM would see one field with two types.
 */
export const AmountAsDoubleSerializer: ISerializer<ReadableLogRecord[], IExportLogsServiceResponse> = {
  serializeRequest(records) {
    const json = JsonLogsSerializer.serializeRequest(records);
    if (json === undefined) return undefined;
    const text = decoder.decode(json);
    return text.includes(AMOUNT_KEY) ? encoder.encode(text.replace(WHOLE_AMOUNT, DOUBLE_AMOUNT)) : json;
  },
  deserializeResponse: (data) => JsonLogsSerializer.deserializeResponse(data),
};

interface ExporterInternals {
  _delegate?: { _serializer?: unknown };
}

/**
 * Puts AmountAsDoubleSerializer in place of the exporter's JSON serializer.
 * No public hook exists, so this reaches into the internals of the exactly
 * pinned exporter; if their shape differs, the exporter is left as it is and
 * false is returned.
 */
export function sendAmountsAsDouble(exporter: OTLPLogExporter): boolean {
  const delegate = (exporter as unknown as ExporterInternals)._delegate;
  if (!delegate || delegate._serializer !== JsonLogsSerializer) return false;
  delegate._serializer = AmountAsDoubleSerializer;
  return true;
}
