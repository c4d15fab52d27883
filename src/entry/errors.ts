/** A trail line could not be written: the caller must know, since a silent gap is worse than none. */
export class AuditWriteError extends Error {
  override readonly name = "AuditWriteError";
  /** The file that could not be written. */
  readonly path: string;

  constructor(message: string, path: string, options?: { cause?: unknown }) {
    super(message, options);
    this.path = path;
  }
}

/** An option given to configure()/createLogger() (or a viewer) is invalid. */
export class AuditConfigError extends Error {
  override readonly name = "AuditConfigError";
}

/** A log call was given a value that cannot be made safe, such as an unknown level. */
export class AuditInputError extends TypeError {
  override readonly name = "AuditInputError";
}
