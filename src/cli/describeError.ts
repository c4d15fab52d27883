/** A command's failure as one line, with the fix when a package auditx depends on is missing. */
export function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as NodeJS.ErrnoException)?.code;
  const missing = /Cannot find (?:package|module) '([^']+)'/.exec(message)?.[1];
  // Every package the commands load (the viewer's express included) is a dependency of auditx:
  // one that is missing means an incomplete install.
  if (code === "ERR_MODULE_NOT_FOUND" && missing && !missing.startsWith(".") && !missing.startsWith("/")) {
    return `${message}\nThe installation of auditx is incomplete: run npm install (auditx depends on ${missing.split("/node_modules/").pop()})`;
  }
  return message;
}
