import { Queue } from 'bullmq';
import { BatchStore } from './batches/store.js';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { type RedisKeys, redisKeys } from './queue/keys.js';
import { LANES, type Lane } from './queue/lanes.js';
import { connectRedis, type RedisClient } from './redis.js';

/** What every command that touches Redis needs, opened once and closed once. */
export interface Runtime {
  readonly config: Config;
  readonly logger: Logger;
  readonly redis: RedisClient;
  readonly keys: RedisKeys;
  readonly store: BatchStore;
  readonly queues: Record<Lane, Queue>;
  close(): Promise<void>;
}

export async function openRuntime(config: Config, logger: Logger): Promise<Runtime> {
  const redis = await connectRedis(config.redisUrl, { cluster: config.redisCluster });
  const keys = redisKeys(config.prefix);
  const queues = Object.fromEntries(
    LANES.map((lane) => [
      lane,
      new Queue(lane, {
        connection: redis,
        prefix: config.prefix,
        streams: { events: { maxLen: 1_000 } },
      }),
    ]),
  ) as Record<Lane, Queue>;
  return {
    config,
    logger,
    redis,
    keys,
    store: new BatchStore(redis, keys, config.batchTtlSeconds),
    queues,
    async close() {
      await Promise.all(Object.values(queues).map((q) => q.close()));
      redis.disconnect();
    },
  };
}
