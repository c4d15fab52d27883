/** A request the viewer cannot answer as asked: bad parameters (400), unknown route (404) ... */
export class ViewerRequestError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = "ViewerRequestError";
  }
}
