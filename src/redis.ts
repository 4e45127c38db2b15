import { Redis } from 'ioredis';
import { displayRedisUrl } from './config.js';
import { RedisUnavailableError } from './errors.js';

/**
 * Connects to Redis and checks it answers, or fails with one clear line.
 * Once up, the connection reconnects by itself forever and commands wait for it
 * (`maxRetriesPerRequest: null`, as BullMQ workers require), so a Redis restart
 * pauses the work instead of failing it.
 */
export async function connectRedis(url: string, timeoutMs = 5_000): Promise<Redis> {
  const redis = new Redis(url, {
    maxRetriesPerRequest: null,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
  // Reconnection errors are expected while Redis restarts; the first one explains a failed start.
  let firstError: NodeJS.ErrnoException | undefined;
  redis.on('error', (error: NodeJS.ErrnoException) => {
    firstError ??= error;
  });
  try {
    await withTimeout(
      redis.connect().then(() => redis.ping()),
      timeoutMs,
    );
    return redis;
  } catch (error) {
    redis.disconnect();
    const cause = firstError ?? (error as NodeJS.ErrnoException);
    const reason = cause.code ?? cause.message;
    throw new RedisUnavailableError(
      `cannot reach Redis at ${displayRedisUrl(url)} (${reason})`,
      error,
    );
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Deletes every key under `prefix:` (tests, benchmarks, demo clean-up). */
export async function deleteByPrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}
