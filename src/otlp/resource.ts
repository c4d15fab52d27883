import { hostname as osHostname } from "node:os";
import type { Attributes } from "@opentelemetry/api";
import {
  type DetectedResourceAttributes,
  defaultResource,
  envDetector,
  processDetector,
  type Resource,
  type ResourceDetector,
  resourceFromAttributes,
} from "@opentelemetry/resources";
import { ATTR_HOST_NAME, ATTR_SERVICE_NAME } from "../entry/attributes.js";
import { VERSION } from "../internal/version.js";

export interface AuditResourceOptions {
  /** service.name; wins over OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES. */
  serviceName?: string;
  /** host.name (default os.hostname()). */
  hostname?: string;
}

/** The service name when neither the option nor the environment gives one. */
export const DEFAULT_SERVICE_NAME = "auditx";

/**
 * Process attributes left off the Resource: command lines often carry
 * secrets (tokens, passwords in flags) and a SIEM keeps them for years.
 */
const WITHHELD_PROCESS_ATTRIBUTES = new Set(["process.command_args"]);

/** host.arch values of the semantic conventions for Node's process.arch. */
const HOST_ARCH: Record<string, string> = { x64: "amd64", arm64: "arm64", ia32: "x86", arm: "arm32", ppc64: "ppc64", s390x: "s390x" };

/** Only attributes already known: the first export must carry them all (no pending async values). */
function settled(attributes: DetectedResourceAttributes | undefined): Attributes {
  const result: Attributes = {};
  for (const [key, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || WITHHELD_PROCESS_ATTRIBUTES.has(key)) continue;
    if (typeof (value as { then?: unknown }).then === "function") continue;
    result[key] = value as Attributes[string];
  }
  return result;
}

function detected(detector: ResourceDetector): Attributes {
  try {
    return settled(detector.detect().attributes);
  } catch {
    // A detector that fails leaves its attributes out; the records still go.
    return {};
  }
}

/**
 * The Resource of auditx's own provider, built synchronously: service.name,
 * host.name, the process (pid, executable, runtime), telemetry.sdk.* and
 * OTEL_RESOURCE_ATTRIBUTES. Precedence, lowest first: defaults, process,
 * the environment (OTEL_RESOURCE_ATTRIBUTES, then OTEL_SERVICE_NAME), the
 * options.
 */
export function createAuditResource(options: AuditResourceOptions = {}): Resource {
  const attributes: Attributes = {
    ...settled(defaultResource().attributes),
    [ATTR_SERVICE_NAME]: DEFAULT_SERVICE_NAME,
    "telemetry.distro.name": "auditx",
    "telemetry.distro.version": VERSION,
    [ATTR_HOST_NAME]: osHostname(),
    "host.arch": HOST_ARCH[process.arch] ?? process.arch,
    ...detected(processDetector),
    ...detected(envDetector),
  };
  if (options.serviceName) attributes[ATTR_SERVICE_NAME] = options.serviceName;
  if (options.hostname) attributes[ATTR_HOST_NAME] = options.hostname;
  return resourceFromAttributes(attributes);
}
