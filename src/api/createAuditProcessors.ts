import type { LoggerProvider, LogRecordProcessor } from "@opentelemetry/sdk-logs";
import { AuditPipeline } from "./AuditPipeline.js";
import type { AuditLoggerOptions } from "./options.js";
import { resolveSettings } from "./settings.js";

const PIPELINE = Symbol.for("auditx.pipeline");

/** Processors returned by createAuditProcessors: an array to spread into any LoggerProvider. */
export type AuditProcessors = LogRecordProcessor[] & { readonly [PIPELINE]: AuditPipeline };

/** The pipeline of each processor createAuditProcessors made, to find it inside a provider. */
const pipelineOfProcessor = new WeakMap<LogRecordProcessor, AuditPipeline>();

/**
 * auditx's processors (trail files, onAudit, hub, console, OTLP) for a
 * LoggerProvider of your own or NodeSDK's `logRecordProcessors`; then
 * `configure({ loggerProvider, processors })` makes the audit API emit into it.
 */
export function createAuditProcessors(options: AuditLoggerOptions = {}): AuditProcessors {
  const pipeline = new AuditPipeline(resolveSettings(options));
  const processors = [...pipeline.processors];
  for (const processor of processors) pipelineOfProcessor.set(processor, pipeline);
  Object.defineProperty(processors, PIPELINE, { value: pipeline });
  return processors as AuditProcessors;
}

/** The pipeline behind processors made by createAuditProcessors, if they were. */
export function pipelineOf(processors: readonly LogRecordProcessor[] | undefined): AuditPipeline | undefined {
  return (processors as Partial<AuditProcessors> | undefined)?.[PIPELINE];
}

interface ProviderInternals {
  _sharedState?: { registeredLogRecordProcessors?: unknown };
}

/**
 * The auditx pipeline among the processors a provider runs, when the caller
 * gave only the provider. The SDK keeps a provider's processors in internal
 * state (the exactly pinned sdk-logs): if its shape differs, none is found and
 * the caller is told to pass `processors` too.
 */
export function pipelineInProvider(provider: LoggerProvider): AuditPipeline | undefined {
  const registered = (provider as unknown as ProviderInternals)._sharedState?.registeredLogRecordProcessors;
  if (!Array.isArray(registered)) return undefined;
  for (const processor of registered) {
    const pipeline = pipelineOfProcessor.get(processor as LogRecordProcessor);
    if (pipeline) return pipeline;
  }
  return undefined;
}
