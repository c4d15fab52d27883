/** A request the viewer cannot answer as asked: bad parameters (400), unknown route (404) ... */
export class ViewerRequestError extends Error {
  constructor(
    message: string,
    readonly status = 400,
    /** The query parameter at fault, for a validation error. */
    readonly parameter?: string,
    /** What the parameter held. */
    readonly input?: unknown,
  ) {
    super(message);
    this.name = "ViewerRequestError";
  }

  /**
   * The JSON answer, shaped as auditX's (FastAPI's) errors: `{"detail": ...}`,
   * for a bad parameter a list of `{type, loc, msg, input}` naming it.
   */
  get body(): { detail: unknown } {
    if (this.parameter === undefined) return { detail: this.message };
    const input = typeof this.input === "string" && this.input.length > 200 ? `${this.input.slice(0, 200)}…` : this.input;
    return { detail: [{ type: "value_error", loc: ["query", this.parameter], msg: this.message, input: input ?? null }] };
  }
}
