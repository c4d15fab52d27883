/** One app.log message (an app-level log call, a loggingCustom line or a sink's report), before formatting. */
export interface AppMessage {
  millis: number;
  level: string;
  /** The actor (the call's, the context's or "SYSTEM"); in the line only when `custom`. */
  user: string;
  /** The HTTP method, upper-cased, or "N/A"; in the line only when `custom`. */
  method: string;
  message: string;
  fields?: Record<string, unknown>;
  /**
   * A loggingCustom line, `dd/mm/yyyy hh:mm:ss AM | user | METHOD | LEVEL | message`;
   * otherwise an app message in the original's logging format, `yyyy-mm-dd hh:mm:ss,mmm | LEVEL | message`.
   */
  custom: boolean;
}
