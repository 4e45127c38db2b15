import type { ChildProcess } from 'node:child_process';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseWindows } from '../../src/limits/windows.js';
import { silentLogger } from '../../src/logger.js';
import { enqueueBatch } from '../../src/queue/producer.js';
import { openRuntime } from '../../src/runtime.js';
import { type Simulator, startSimulator } from '../../src/simulator/server.js';
import { csv, waitForBatch } from '../helpers/batch.js';
import { startWorkerProcess, stopProcess } from '../helpers/cli.js';
import { dropPrefix, redisUrl, testConfig, testPrefix, testRedis } from '../helpers/redis.js';

const KEY = 'multi-process-key';
const LIMITS = '20/300ms,90/2s';
const ROWS = 300;

describe('three worker processes on one Redis', () => {
  let sim: Simulator;
  let redis: Redis;
  const prefix = testPrefix('multi');
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    redis = testRedis();
    // The simulator enforces exactly the windows the workers are configured with:
    // one request too many, summed over the processes, would be answered 429.
    sim = await startSimulator({ apiKey: KEY, limits: [], recipientLimits: parseWindows(LIMITS) });
    const env = {
      REDIS_URL: redisUrl(),
      SEAL_PREFIX: prefix,
      CERTCENTRAL_API_KEY: KEY,
      CERTCENTRAL_BASE_URL: sim.baseUrl,
      SEAL_LIMITS: LIMITS,
      LOG_LEVEL: 'info',
    };
    workers.push(...(await Promise.all([1, 2, 3].map(() => startWorkerProcess(env)))));
  });
  afterAll(async () => {
    await Promise.all(workers.map((child) => stopProcess(child)));
    await dropPrefix(redis, prefix);
    redis.disconnect();
    await sim.close();
  });

  it('sends every row once and holds every rolling window over the sum of the processes', async () => {
    const runtime = await openRuntime(
      testConfig({ SEAL_PREFIX: prefix, SEAL_LIMITS: LIMITS }),
      silentLogger(),
    );
    const lines = ['order_id,recipient_email'];
    for (let id = 1; id <= ROWS; id++) lines.push(`${id},${id % 10 ? `m${id}@example.com` : ''}`);
    try {
      await enqueueBatch(runtime, {
        input: csv(`${lines.join('\n')}\n`),
        batchId: 'multi',
        source: 't',
      });
      const batch = await waitForBatch(runtime, 'multi', 60_000);
      expect(batch.counts).toMatchObject({ sent: ROWS, failed: 0, pending: 0 });
    } finally {
      await runtime.close();
    }
    const ids = sim.deliveries().map((d) => d.orderId);
    expect(ids).toHaveLength(ROWS);
    expect(new Set(ids).size).toBe(ROWS);
    const stats = sim.stats();
    expect(stats.byStatus['429'] ?? 0).toBe(0);
    // Each window was filled to its maximum, and never beyond it.
    expect(stats.peaks.recipient.map((p) => [p.peak, p.window.max])).toEqual([
      [20, 20],
      [90, 90],
    ]);
  });
});
