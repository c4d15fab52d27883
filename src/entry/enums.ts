/**
 * The original auditX's enums, as const objects so that a value is a plain
 * string in the trail and a literal type in TypeScript.
 */

export const LogLevel = {
  DEBUG: "DEBUG",
  INFO: "INFO",
  NORMAL: "NORMAL",
  WARNING: "WARNING",
  ERROR: "ERROR",
  CRITICAL: "CRITICAL",
  AUDIT: "AUDIT",
  SECURITY: "SECURITY",
} as const;
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];

export const BusinessModule = {
  AUTH: "auth",
  SALES: "sales",
  PURCHASE: "purchase",
  INVENTORY: "inventory",
  ACCOUNTING: "accounting",
  SERVICE: "service",
  CRM: "crm",
  HR: "hr",
  REPORTING: "reporting",
  SYSTEM: "system",
} as const;
export type BusinessModule = (typeof BusinessModule)[keyof typeof BusinessModule];

export const AuditAction = {
  CREATE: "CREATE",
  READ: "READ",
  UPDATE: "UPDATE",
  DELETE: "DELETE",
  APPROVE: "APPROVE",
  REJECT: "REJECT",
  VOID: "VOID",
  POST: "POST",
  PAYMENT: "PAYMENT",
  REFUND: "REFUND",
  TRANSFER: "TRANSFER",
  ADJUST: "ADJUST",
  LOGIN: "LOGIN",
  LOGOUT: "LOGOUT",
  EXPORT: "EXPORT",
  IMPORT: "IMPORT",
} as const;
export type AuditAction = (typeof AuditAction)[keyof typeof AuditAction];

/** Levels whose records also go to security.jsonl. */
export const SECURITY_LEVELS: ReadonlySet<string> = new Set([LogLevel.SECURITY, LogLevel.CRITICAL]);

/** OTel severity numbers of each level (DESIGN.md, "OTel attribute mapping"). */
export const SEVERITY_NUMBER: Readonly<Record<LogLevel, number>> = {
  DEBUG: 5,
  INFO: 9,
  NORMAL: 10,
  AUDIT: 11,
  WARNING: 13,
  ERROR: 17,
  SECURITY: 18,
  CRITICAL: 21,
};

const LEVEL_BY_NAME = new Map<string, LogLevel>(
  [...Object.values(LogLevel), "WARN"].map((name) => [name, name === "WARN" ? LogLevel.WARNING : (name as LogLevel)]),
);

/** Resolves a level given in any case ("info", "Warning", "WARN"); undefined when unknown. */
export function parseLevel(value: unknown): LogLevel | undefined {
  if (typeof value !== "string") return undefined;
  return LEVEL_BY_NAME.get(value) ?? LEVEL_BY_NAME.get(value.toUpperCase());
}

/** The level of the record with the given OTel severity number (nearest at or below). */
export function levelFromSeverity(severityNumber: number | undefined): LogLevel {
  if (severityNumber === undefined) return LogLevel.INFO;
  let best: LogLevel = LogLevel.DEBUG;
  for (const [level, number] of Object.entries(SEVERITY_NUMBER) as [LogLevel, number][]) {
    if (number <= severityNumber && number >= SEVERITY_NUMBER[best]) best = level;
  }
  return best;
}
