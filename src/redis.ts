import { Cluster, Redis } from 'ioredis';
import { displayRedisUrl } from './config.js';
import { RedisUnavailableError } from './errors.js';

/** A single Redis (or Valkey) server, or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

export interface RedisConnectOptions {
  /** Treat the URL as one node of a Redis Cluster. @defaultValue false */
  readonly cluster?: boolean;
  /** How long the first connection may take. @defaultValue 5000 */
  readonly timeoutMs?: number;
}

/**
 * Connects to Redis and checks it answers, or fails with one clear line.
 * Once up, the connection reconnects by itself forever and commands wait for it
 * (`maxRetriesPerRequest: null`, as BullMQ workers require), so a Redis restart
 * pauses the work instead of failing it.
 */
export async function connectRedis(
  url: string,
  options: RedisConnectOptions = {},
): Promise<RedisClient> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const retryStrategy = (times: number) => Math.min(times * 200, 2_000);
  const redis: RedisClient = options.cluster
    ? clusterFromUrl(url, timeoutMs, retryStrategy)
    : new Redis(url, {
        maxRetriesPerRequest: null,
        lazyConnect: true,
        connectTimeout: timeoutMs,
        retryStrategy,
      });
  // Reconnection errors are expected while Redis restarts; the first one explains a failed start.
  let firstError: NodeJS.ErrnoException | undefined;
  redis.on('error', (error: NodeJS.ErrnoException) => {
    firstError ??= error;
  });
  try {
    // A cluster whose first ready check finds `cluster_state:fail` reconnects under a new
    // promise and never settles the one `connect()` returned. The PING waits in the offline
    // queue until the client is ready, however many attempts that takes; the connect promise
    // only counts when it fails.
    const connectFailure = redis.connect().then(() => new Promise<never>(() => {}));
    await withTimeout(Promise.race([connectFailure, redis.ping()]), timeoutMs);
    return redis;
  } catch (error) {
    redis.disconnect();
    const cause = firstError ?? (error as NodeJS.ErrnoException);
    const reason = cause.code ?? cause.message;
    throw new RedisUnavailableError(
      `cannot reach Redis at ${displayRedisUrl(url)} (${reason})`,
      cause,
    );
  }
}

function clusterFromUrl(
  url: string,
  timeoutMs: number,
  retryStrategy: (times: number) => number,
): Cluster {
  const parsed = new URL(url);
  return new Cluster([{ host: parsed.hostname, port: Number(parsed.port || 6379) }], {
    lazyConnect: true,
    clusterRetryStrategy: retryStrategy,
    redisOptions: {
      maxRetriesPerRequest: null,
      connectTimeout: timeoutMs,
      ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
      ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
      ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
    },
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Every key under `prefix:`, on every master of a cluster. */
export async function* scanPrefix(redis: RedisClient, prefix: string): AsyncGenerator<string[]> {
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) yield keys;
    } while (cursor !== '0');
  }
}

/** Deletes every key under `prefix:` (tests, benchmarks, demo clean-up). */
export async function deleteByPrefix(redis: RedisClient, prefix: string): Promise<number> {
  let deleted = 0;
  for await (const keys of scanPrefix(redis, prefix)) {
    // One key at a time on a cluster: keys of different slots cannot share a command.
    if (redis instanceof Cluster) for (const key of keys) deleted += await redis.unlink(key);
    else deleted += await redis.unlink(...keys);
  }
  return deleted;
}
