import { hostname } from "node:os";
import { type Resource, resourceFromAttributes } from "@opentelemetry/resources";

export interface AuditResourceOptions {
  serviceName?: string;
  hostname?: string;
}

/** The Resource of auditx's own provider: service.name and host.name (more in a later pass). */
export function createAuditResource(options: AuditResourceOptions = {}): Resource {
  return resourceFromAttributes({
    "service.name": options.serviceName ?? process.env.OTEL_SERVICE_NAME ?? "auditx",
    "host.name": options.hostname ?? hostname(),
  });
}
