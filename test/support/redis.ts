/** The Redis server of the services tier: REDIS_URL, else 127.0.0.1:6379. A server that does not answer fails the test, with what to do. */
import { Redis } from "ioredis";

export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

/** Resolves with REDIS_URL once the server answers PING; rejects within a few seconds when it does not. */
export async function requireRedis(): Promise<string> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  let cause: Error | undefined;
  client.on("error", (error: Error) => {
    cause ??= error;
  });
  try {
    await client.connect();
    const answer = await client.ping();
    if (answer !== "PONG") throw new Error(`PING answered ${answer}`);
    return REDIS_URL;
  } catch (error) {
    throw new Error(
      `the services tier needs Redis at ${REDIS_URL} (${(cause ?? (error as Error)).message}): ` +
        "install and start one (apt-get install -y redis-server && redis-server --daemonize yes), set REDIS_URL, or run .ci/run",
    );
  } finally {
    client.disconnect();
  }
}
