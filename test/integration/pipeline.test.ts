import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { readLaneStats } from '../../src/limits/lane-limiter.js';
import { silentLogger } from '../../src/logger.js';
import { startLaneWorkers } from '../../src/queue/lane-workers.js';
import { LANES } from '../../src/queue/lanes.js';
import { enqueueBatch } from '../../src/queue/producer.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { parseOrderSet } from '../../src/simulator/order-set.js';
import {
  type Simulator,
  type SimulatorOptions,
  startSimulator,
} from '../../src/simulator/server.js';
import { collect, csv, waitForBatch } from '../helpers/batch.js';
import { seeded } from '../helpers/random.js';
import { dropPrefix, testConfig, testPrefix } from '../helpers/redis.js';

const KEY = 'pipeline-test-key';

function ordersCsv(count: number, { from = 1, recipientEvery = 2 } = {}): string {
  const lines = ['order_id,recipient_email'];
  for (let i = 0; i < count; i++) {
    const id = from + i;
    lines.push(`${id},${i % recipientEvery === 0 ? `user${id}@example.com` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

describe('the pipeline: producer → lanes → CertCentral (simulator)', () => {
  let sim: Simulator;
  let runtime: Runtime;
  let prefix: string;
  const runtimes: Runtime[] = [];

  async function setup(simOptions: Partial<SimulatorOptions>, env: Record<string, string> = {}) {
    sim = await startSimulator({
      apiKey: KEY,
      orders: parseOrderSet('1-100000'),
      limits: [],
      random: seeded(42),
      ...simOptions,
    });
    runtime = await open({ CERTCENTRAL_API_KEY: KEY, ...env });
  }
  async function open(env: Record<string, string>) {
    const config: Config = testConfig({
      SEAL_PREFIX: prefix,
      CERTCENTRAL_BASE_URL: sim.baseUrl,
      SEAL_LIMITS: 'none',
      ...env,
    });
    const rt = await openRuntime(config, silentLogger());
    runtimes.push(rt);
    return rt;
  }

  beforeEach(() => {
    prefix = testPrefix('pipeline');
  });
  afterEach(async () => {
    await dropPrefix(runtime.redis, prefix);
    for (const rt of runtimes.splice(0)) await rt.close();
    await sim.close();
  });

  it('sends each valid row exactly once through 500s, 503s and resets', async () => {
    await setup({ failRate: 0.15, resetRate: 0.05 }, { SEAL_MAX_ATTEMPTS: '20' });
    const workers = await startLaneWorkers(runtime, LANES);
    await enqueueBatch(runtime, { input: csv(ordersCsv(150)), batchId: 'faults', source: 't' });
    const batch = await waitForBatch(runtime, 'faults');
    await workers.close();
    expect(batch.counts).toMatchObject({ sent: 150, failed: 0, pending: 0 });
    const delivered = sim.deliveries().map((d) => d.orderId);
    expect(new Set(delivered).size).toBe(150);
    expect(delivered).toHaveLength(150);
    expect(sim.stats().byStatus['500'] ?? 0).toBeGreaterThan(0);
  });

  it('fetches jobs ahead but never has more than SEAL_CONCURRENCY requests in flight per lane', async () => {
    await setup({ latencyMs: 20 }, { SEAL_CONCURRENCY: '3', SEAL_PREFETCH: '5' });
    const workers = await startLaneWorkers(runtime, ['direct']);
    const ids = Array.from({ length: 80 }, (_, i) => `${i + 1}\n`);
    await enqueueBatch(runtime, {
      input: csv(`order_id\n${ids.join('')}`),
      batchId: 'ahead',
      source: 't',
    });
    let mostActive = 0;
    let batch = await runtime.store.get('ahead');
    while (batch?.state !== 'done') {
      mostActive = Math.max(mostActive, await runtime.queues.direct.getActiveCount());
      await sleep(5);
      batch = await runtime.store.get('ahead');
    }
    await workers.close();
    expect(batch.counts).toMatchObject({ sent: 80, pending: 0 });
    expect(mostActive).toBeGreaterThan(3);
    expect(sim.stats().peakInFlight).toBe(3);
  });

  it('sends nothing while the lane is paused, not even jobs that checked before they waited', async () => {
    await setup(
      { latencyMs: 400 },
      {
        SEAL_CONCURRENCY: '2',
        SEAL_PREFETCH: '6',
        SEAL_BACKOFF_BASE_MS: '1500',
        SEAL_BACKOFF_MAX_MS: '1500',
      },
    );
    const workers = await startLaneWorkers(runtime, ['direct']);
    // Two requests in the storm, 200 ms apart: the first 429 pauses the lane while the second
    // is still in flight; when it comes back, jobs fetched ahead are waiting for its slot.
    sim.storm(300);
    await enqueueBatch(runtime, { input: csv('order_id\n1\n'), batchId: 'paused', source: 't' });
    await sleep(200);
    const more = Array.from({ length: 20 }, (_, i) => `${i + 2}\n`).join('');
    await enqueueBatch(runtime, {
      input: csv(`order_id\n1\n${more}`),
      batchId: 'paused',
      source: 't',
    });
    const batch = await waitForBatch(runtime, 'paused');
    await workers.close();

    expect(batch.counts).toMatchObject({ sent: 21, pending: 0 });
    expect(sim.stats().byStatus['429']).toBeGreaterThanOrEqual(2);
    const lane = await runtime.redis.hgetall(runtime.keys.lane('direct'));
    const pauseEnd = Number(lane.pausedUntil);
    const pauseStart = pauseEnd - Number(lane.lastPauseMs);
    // A request that passed its check as the pause began may arrive just after it.
    const during = sim.deliveries().filter((d) => d.at > pauseStart + 30 && d.at < pauseEnd);
    expect(during).toEqual([]);
  });

  it('does not count a 429 as an attempt, and pauses the lane until the storm passes', async () => {
    await setup({}, { SEAL_MAX_ATTEMPTS: '1', SEAL_BACKOFF_BASE_MS: '150' });
    sim.storm(700);
    const workers = await startLaneWorkers(runtime, LANES);
    await enqueueBatch(runtime, { input: csv(ordersCsv(20)), batchId: 'storm', source: 't' });
    const batch = await waitForBatch(runtime, 'storm');
    await workers.close();
    expect(batch.counts).toMatchObject({ sent: 20, failed: 0 });
    const rows = await collect(runtime.store.rows('storm'));
    expect(rows.every((r) => r.attempts === 1)).toBe(true);
    expect(sim.stats().byStatus['429']).toBeGreaterThan(0);
    const stats = await readLaneStats(runtime.redis, runtime.keys, 'throttled', 1_000);
    expect(stats.pauses).toBeGreaterThan(0);
  });

  it('retries transient failures up to the configured attempts, then fails with the last error', async () => {
    await setup({ failRate: 1 }, { SEAL_MAX_ATTEMPTS: '3' });
    const workers = await startLaneWorkers(runtime, LANES);
    await enqueueBatch(runtime, { input: csv(ordersCsv(4)), batchId: 'down', source: 't' });
    const batch = await waitForBatch(runtime, 'down');
    await workers.close();
    expect(batch.counts).toMatchObject({ failed: 4, sent: 0 });
    const rows = await collect(runtime.store.rows('down'));
    for (const row of rows) {
      expect(row.attempts).toBe(3);
      expect([500, 503]).toContain(row.httpStatus);
      expect(row.errorCode).toMatch(/internal_error|service_unavailable/);
    }
    expect(sim.stats().requests).toBe(12);
  });

  it('fails unknown orders permanently with CertCentral’s error, without retrying', async () => {
    await setup({ orders: parseOrderSet('1-5') });
    const workers = await startLaneWorkers(runtime, LANES);
    await enqueueBatch(runtime, { input: csv(ordersCsv(8)), batchId: 'unknown', source: 't' });
    const batch = await waitForBatch(runtime, 'unknown');
    await workers.close();
    expect(batch.counts).toMatchObject({ sent: 5, failed: 3 });
    const failed = (await collect(runtime.store.rows('unknown'))).filter(
      (r) => r.status === 'failed',
    );
    expect(failed.map((r) => [r.orderId, r.httpStatus, r.errorCode, r.attempts])).toEqual([
      ['6', 404, 'not_found|order', 1],
      ['7', 404, 'not_found|order', 1],
      ['8', 404, 'not_found|order', 1],
    ]);
    expect(sim.stats().requests).toBe(8);
  });

  it('stops every lane on a refused key, keeps the jobs, and resumes with the right key', async () => {
    await setup({}, { CERTCENTRAL_API_KEY: 'wrong-key', SEAL_CONCURRENCY: '2' });
    const bad = await startLaneWorkers(runtime, LANES);
    await enqueueBatch(runtime, { input: csv(ordersCsv(40)), batchId: 'key', source: 't' });
    const { halt } = await bad.halted;
    await bad.close();
    expect(halt).toMatchObject({ status: 403, code: 'access_denied|access_denied_invalid_key' });
    // Only the requests already in flight at the first refusal: 2 lanes × SEAL_CONCURRENCY.
    expect(sim.stats().requests).toBeLessThanOrEqual(4);
    expect(await runtime.queues.throttled.isPaused()).toBe(true);
    expect(await runtime.queues.direct.isPaused()).toBe(true);
    const waiting = [
      ...(await runtime.queues.throttled.getWaiting()),
      ...(await runtime.queues.direct.getWaiting()),
    ];
    expect(waiting).toHaveLength(40);
    expect(waiting.every((job) => job.attemptsMade === 0)).toBe(true);
    expect((await runtime.store.get('key'))?.counts).toMatchObject({ pending: 40, failed: 0 });

    const fixed = await open({ CERTCENTRAL_API_KEY: KEY });
    const good = await startLaneWorkers(fixed, LANES);
    const batch = await waitForBatch(fixed, 'key');
    await good.close();
    expect(batch.counts).toMatchObject({ sent: 40, failed: 0 });
    expect(sim.deliveries()).toHaveLength(40);
  });
});
