/** A command's failure as one line, with the fix when an optional peer dependency is missing. */
export function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as NodeJS.ErrnoException)?.code;
  const missing = /Cannot find (?:package|module) '([^']+)'/.exec(message)?.[1];
  // The viewer runs on express, an optional peer dependency (as `auditX[web]` was an extra).
  if (code === "ERR_MODULE_NOT_FOUND" && missing?.startsWith("express")) {
    return "the viewer needs express: npm install express";
  }
  return message;
}
