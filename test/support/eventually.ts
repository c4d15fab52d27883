/**
 * Resolves with the first result of `probe()` that is neither false nor
 * undefined, calling it again (one call at a time, `intervalMs` apart) until
 * then; rejects after `timeoutMs`, naming `what`. The one way tests wait for
 * something that happens elsewhere (another process, a file, a socket).
 */
export async function eventually<T>(
  probe: () => T | false | undefined | Promise<T | false | undefined>,
  timeoutMs = 20_000,
  what = "a condition",
  intervalMs = 10,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== false && value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
