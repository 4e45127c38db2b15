import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { type Config, loadConfig } from '../../src/config.js';
import { deleteByPrefix, type RedisClient } from '../../src/redis.js';

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
