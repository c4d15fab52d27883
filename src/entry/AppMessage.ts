/** One app.log message (an app-level log call, a loggingCustom line or a sink's report), before formatting. */
export interface AppMessage {
  millis: number;
  level: string;
  user: string;
  method: string;
  message: string;
  fields?: Record<string, unknown>;
}
