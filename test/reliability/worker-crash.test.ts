import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { LANES } from '../../src/queue/lanes.js';
import { enqueueBatch } from '../../src/queue/producer.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { type Simulator, startSimulator } from '../../src/simulator/server.js';
import { collect, csv, waitForBatch } from '../helpers/batch.js';
import { startWorkerProcess, stopProcess } from '../helpers/cli.js';
import { dropPrefix, redisUrl, testConfig, testPrefix } from '../helpers/redis.js';
import { recordFigures } from './figures.js';

const KEY = 'crash-test-key';
const ROWS = 1_200;
const KILLS = 5;

describe('a worker killed with SIGKILL in the middle of a batch', () => {
  let sim: Simulator;
  let runtime: Runtime;
  const prefix = testPrefix('crash');
  let worker: ChildProcess | undefined;

  beforeAll(async () => {
    sim = await startSimulator({ apiKey: KEY, limits: [], latencyMs: 40 });
    runtime = await openRuntime(testConfig({ SEAL_PREFIX: prefix }), silentLogger());
  });
  afterAll(async () => {
    if (worker) await stopProcess(worker, 'SIGKILL');
    await dropPrefix(runtime.redis, prefix);
    await runtime.close();
    await sim.close();
  });

  it('loses no row, re-sends at most what was in flight, and leaves no job stuck', async () => {
    const env = {
      REDIS_URL: redisUrl(),
      SEAL_PREFIX: prefix,
      CERTCENTRAL_API_KEY: KEY,
      CERTCENTRAL_BASE_URL: sim.baseUrl,
      SEAL_LIMITS: '80/1s',
      SEAL_DIRECT_LIMITS: '80/1s',
      SEAL_CONCURRENCY: '8',
      // A dead worker's jobs are taken back after about two lock periods.
      SEAL_LOCK_MS: '1500',
      SEAL_RETRY_BASE_MS: '50',
    };
    const lines = ['order_id,recipient_email'];
    for (let id = 1; id <= ROWS; id++) lines.push(`${id},${id % 2 ? `c${id}@example.com` : ''}`);
    await enqueueBatch(runtime, {
      input: csv(`${lines.join('\n')}\n`),
      batchId: 'crash',
      source: 't',
    });

    const inFlightAtKills: number[] = [];
    worker = await startWorkerProcess(env);
    for (let kill = 0; kill < KILLS; kill++) {
      await sleep(600 + Math.random() * 900);
      const active = await Promise.all(LANES.map((lane) => runtime.queues[lane].getActiveCount()));
      inFlightAtKills.push(active.reduce((a, b) => a + b, 0));
      await stopProcess(worker, 'SIGKILL');
      worker = await startWorkerProcess(env);
    }
    const batch = await waitForBatch(runtime, 'crash', 120_000);
    await stopProcess(worker);
    worker = undefined;

    const rows = await collect(runtime.store.rows('crash'));
    const lost = rows.filter((r) => r.status !== 'sent').length;
    const deliveries = sim.deliveries().map((d) => d.orderId);
    const duplicates = deliveries.length - new Set(deliveries).size;
    const stuck = await Promise.all(LANES.map((lane) => runtime.queues[lane].getActiveCount()));
    const figures = {
      rows: ROWS,
      kills: KILLS,
      inFlightAtKills,
      inFlightTotal: inFlightAtKills.reduce((a, b) => a + b, 0),
      deliveries: deliveries.length,
      duplicates,
      lost,
      stuckActive: stuck.reduce((a, b) => a + b, 0),
    };
    recordFigures('worker-crash', figures);

    expect(batch.counts).toMatchObject({ sent: ROWS, pending: 0, failed: 0 });
    expect(lost).toBe(0);
    expect(new Set(deliveries).size).toBe(ROWS);
    expect(duplicates).toBeLessThanOrEqual(figures.inFlightTotal);
    expect(figures.stuckActive).toBe(0);
    // The kills landed mid-batch: something was in flight at least once.
    expect(figures.inFlightTotal).toBeGreaterThan(0);
  });
});
