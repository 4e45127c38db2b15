import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { type Config, loadConfig } from '../../src/config.js';
import { deleteByPrefix, type RedisClient, scanPrefix } from '../../src/redis.js';

export function redisUrl(): string {
  return inject('redisUrl');
}

/** A key prefix no other test uses. */
export function testPrefix(name: string): string {
  return `sealtest-${name}-${randomUUID().slice(0, 8)}`;
}

export function testRedis(): Redis {
  return new Redis(redisUrl(), { maxRetriesPerRequest: null });
}

/** Deletes every key under a prefix. */
export async function dropPrefix(redis: RedisClient, prefix: string): Promise<void> {
  await deleteByPrefix(redis, prefix);
}

/** A config as the environment would give it, with fast timings for tests. */
export function testConfig(env: Record<string, string>): Config {
  return loadConfig({
    REDIS_URL: redisUrl(),
    SEAL_RETRY_BASE_MS: '20',
    SEAL_RETRY_MAX_MS: '200',
    SEAL_BACKOFF_BASE_MS: '200',
    SEAL_BACKOFF_MAX_MS: '2000',
    SEAL_REQUEST_TIMEOUT_MS: '2000',
    SEAL_SHUTDOWN_GRACE_MS: '5000',
    LOG_LEVEL: 'silent',
    ...env,
  });
}

/** Every key under a prefix and its whole content, as text: to search it for what must not be there. */
export async function dumpPrefix(
  redis: Redis,
  prefix: string,
): Promise<{ keys: number; text: string }> {
  const parts: string[] = [];
  let keys = 0;
  for await (const batch of scanPrefix(redis, prefix)) {
    for (const key of batch) {
      keys++;
      parts.push(key, JSON.stringify(await dumpKey(redis, key)));
    }
  }
  return { keys, text: parts.join('\n') };
}

async function dumpKey(redis: Redis, key: string): Promise<unknown> {
  switch (await redis.type(key)) {
    case 'string':
      return redis.get(key);
    case 'hash':
      return redis.hgetall(key);
    case 'list':
      return redis.lrange(key, 0, -1);
    case 'set':
      return redis.smembers(key);
    case 'zset':
      return redis.zrange(key, 0, -1, 'WITHSCORES');
    case 'stream':
      return redis.xrange(key, '-', '+');
    default:
      return null;
  }
}
