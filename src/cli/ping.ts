import { loadConfig } from '../config.js';
import { connectRedis } from '../redis.js';

/** `sealmail ping`: is Redis reachable? For container health checks. */
export async function pingCommand(): Promise<number> {
  const config = loadConfig();
  const redis = await connectRedis(config.redisUrl, {
    cluster: config.redisCluster,
    timeoutMs: 3_000,
  });
  redis.disconnect();
  process.stdout.write('ok\n');
  return 0;
}
