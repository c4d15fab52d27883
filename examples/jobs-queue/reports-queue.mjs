/** What the API and the worker share: the queue's name and the Redis server (REDIS_URL, default 127.0.0.1:6379). */
export const REPORTS_QUEUE = process.env.REPORTS_QUEUE ?? "reports";

// BullMQ blocks on Redis in its workers: it wants ioredis to retry requests forever (maxRetriesPerRequest null).
export const connection = { url: process.env.REDIS_URL ?? "redis://127.0.0.1:6379", maxRetriesPerRequest: null };
