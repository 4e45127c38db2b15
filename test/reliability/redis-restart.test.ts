import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.js';
import { sealmail } from '../helpers/cli.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { recordFigures } from './figures.js';

const KEY = 'redis-restart-key';
const ROWS = 3_000;

/** AOF as in docker-compose.yml. */
const AOF = ['--appendonly', 'yes', '--appendfsync', 'everysec'];

describe('Redis killed with SIGKILL and restarted mid-batch', () => {
  let sim: Simulator;
  let redis: RedisServer;

  beforeAll(async () => {
    redis = await startRedisServer({ args: AOF });
    sim = await startSimulator({ apiKey: KEY, limits: [], latencyMs: 5 });
  });
  afterAll(async () => {
    await redis.stop('SIGKILL');
    await sim.close();
  });

  it('loses no row: the producer and the workers reconnect by themselves', async () => {
    const file = join(redis.dir, 'orders.csv');
    const lines = ['order_id,recipient_email'];
    for (let id = 1; id <= ROWS; id++) lines.push(`${id},${id % 3 ? '' : `r${id}@example.com`}`);
    writeFileSync(file, `${lines.join('\n')}\n`);
    const report = join(redis.dir, 'report.csv');

    const outages: { at: number; downMs: number }[] = [];
    const started = Date.now();
    const run = sealmail(
      ['run', file, '--batch', 'restart', '--report', report],
      {
        REDIS_URL: redis.url,
        CERTCENTRAL_API_KEY: KEY,
        CERTCENTRAL_BASE_URL: sim.baseUrl,
        SEAL_LIMITS: '300/1s',
        SEAL_DIRECT_LIMITS: '300/1s',
        SEAL_LOCK_MS: '2000',
        SEAL_RETRY_BASE_MS: '100',
        LOG_LEVEL: 'error',
      },
      150_000,
    );
    const observer = new Redis(redis.url, { maxRetriesPerRequest: null, retryStrategy: () => 100 });
    observer.on('error', () => undefined);
    const outage = async (when: (batch: Record<string, string>) => boolean) => {
      while (!when(await observer.hgetall('sealmail:batch:restart'))) await sleep(10);
      const down = Date.now();
      await redis.stop('SIGKILL');
      await sleep(1_000);
      // Same port and data directory: it reloads the AOF.
      redis = await startRedisServer({ port: redis.port, dir: redis.dir, args: AOF });
      outages.push({ at: down - started, downMs: Date.now() - down });
    };
    // First while the file is still being read and queued, then while rows are being sent.
    // (If the file is already queued by the time the first rows show, it happens while sending.)
    await outage((batch) => Number(batch.total ?? 0) > 0);
    await outage((batch) => Number(batch.s ?? 0) > ROWS / 3);
    observer.disconnect();
    const result = await run;

    const deliveries = sim.deliveries().map((d) => d.orderId);
    const unique = new Set(deliveries);
    const lost = Array.from({ length: ROWS }, (_, i) => i + 1).filter(
      (id) => !unique.has(id),
    ).length;
    const check = new Redis(redis.url);
    const batch = await check.hgetall('sealmail:batch:restart');
    check.disconnect();
    const figures = {
      rows: ROWS,
      outages,
      exitCode: result.code,
      deliveries: deliveries.length,
      duplicates: deliveries.length - unique.size,
      lost,
      batchTotal: Number(batch.total),
      batchSent: Number(batch.s),
    };
    recordFigures('redis-restart', figures);

    expect(result.code, result.stderr.slice(-3000)).toBe(0);
    expect(lost).toBe(0);
    expect(figures.batchTotal).toBe(ROWS);
    expect(figures.batchSent).toBe(ROWS);
  });
});
