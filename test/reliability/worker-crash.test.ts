import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, vi } from 'vitest';
import { LANES } from '../../src/queue/lanes.js';
import { enqueueBatch } from '../../src/queue/producer.js';
import { collect, csv, waitForBatch } from '../helpers/batch.js';
import { workerRig } from '../helpers/worker-rig.js';
import { recordFigures } from './figures.js';

const ROWS = 1_200;
const KILLS = 5;

describe('a worker killed with SIGKILL in the middle of a batch', () => {
  const rig = workerRig('crash', { latencyMs: 40 });

  it('loses no row, re-sends at most the jobs active at the kills, and leaves no job stuck', async () => {
    const { runtime, sim } = rig;
    const env = {
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

    // Jobs active at a kill: requests in flight, answers not recorded yet, jobs fetched ahead.
    const activeAtKills: number[] = [];
    const requestsInFlightAtKills: number[] = [];
    // Each kill lands mid-work: once the new worker has sent something, at a random moment
    // when it has a request in flight (not while the windows hold the lanes).
    const startWorking = async () => {
      const before = sim.stats().requests;
      await rig.startWorker(env);
      await vi.waitUntil(() => sim.stats().requests > before, { timeout: 30_000, interval: 10 });
      await sleep(100 + Math.random() * 500);
      await vi.waitUntil(() => sim.stats().inFlight > 0, { timeout: 10_000, interval: 1 });
    };
    await startWorking();
    for (let kill = 0; kill < KILLS; kill++) {
      const active = await Promise.all(LANES.map((lane) => runtime.queues[lane].getActiveCount()));
      activeAtKills.push(active.reduce((a, b) => a + b, 0));
      requestsInFlightAtKills.push(sim.stats().inFlight);
      await rig.stopWorker('SIGKILL');
      if (kill < KILLS - 1) await startWorking();
    }
    await rig.startWorker(env);
    const batch = await waitForBatch(runtime, 'crash', 120_000);
    await rig.stopWorker();

    const rows = await collect(runtime.store.rows('crash'));
    const lost = rows.filter((r) => r.status !== 'sent').length;
    const deliveries = sim.deliveries().map((d) => d.orderId);
    const duplicates = deliveries.length - new Set(deliveries).size;
    const stuck = await Promise.all(LANES.map((lane) => runtime.queues[lane].getActiveCount()));
    const figures = {
      rows: ROWS,
      kills: KILLS,
      activeAtKills,
      activeTotal: activeAtKills.reduce((a, b) => a + b, 0),
      requestsInFlightAtKills,
      deliveries: deliveries.length,
      duplicates,
      lost,
      stuckActive: stuck.reduce((a, b) => a + b, 0),
    };
    recordFigures('worker-crash', figures);

    expect(batch.counts).toMatchObject({ sent: ROWS, pending: 0, failed: 0 });
    expect(lost).toBe(0);
    expect(new Set(deliveries).size).toBe(ROWS);
    expect(duplicates).toBeLessThanOrEqual(figures.activeTotal);
    expect(figures.stuckActive).toBe(0);
    // Every kill landed mid-work.
    expect(Math.min(...activeAtKills)).toBeGreaterThan(0);
  });
});
