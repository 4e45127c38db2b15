import { describe, expect, it, vi } from 'vitest';
import { LANES } from '../../src/queue/lanes.js';
import { enqueueBatch } from '../../src/queue/producer.js';
import { collect, csv, waitForBatch } from '../helpers/batch.js';
import { workerRig } from '../helpers/worker-rig.js';
import { recordFigures } from './figures.js';

const MAX_STALLS = 1;

describe('a row whose job keeps dying with its worker', () => {
  // No answer comes back while the test runs: each worker dies with the request in flight.
  const rig = workerRig('stall', { slowRate: 1, slowMs: 120_000 });

  it('ends failed with the reason once it has stalled more than SEAL_MAX_STALLS times', async () => {
    const { runtime, sim } = rig;
    const env = { SEAL_LIMITS: 'none', SEAL_LOCK_MS: '500', SEAL_MAX_STALLS: String(MAX_STALLS) };
    await enqueueBatch(runtime, {
      input: csv('order_id,recipient_email\n42,poison@example.com\n43,\n'),
      batchId: 'stall',
      source: 't',
    });

    // Row 43 is answered never, like row 42; both die with each worker.
    const kills = MAX_STALLS + 1;
    for (let kill = 1; kill <= kills; kill++) {
      await rig.startWorker(env);
      await vi.waitUntil(() => sim.stats().requests >= kill * 2, {
        timeout: 30_000,
        interval: 20,
      });
      await rig.stopWorker('SIGKILL');
    }
    await rig.startWorker(env);
    const batch = await waitForBatch(runtime, 'stall', 60_000);
    await rig.stopWorker();

    const rows = await collect(runtime.store.rows('stall'));
    const active = await Promise.all(LANES.map((lane) => runtime.queues[lane].getActiveCount()));
    recordFigures('stalled-row', {
      kills,
      maxStalls: MAX_STALLS,
      requests: sim.stats().requests,
      counts: batch.counts,
      activeAfter: active.reduce((a, b) => a + b, 0),
    });

    expect(batch.state).toBe('done');
    expect(batch.counts).toMatchObject({ failed: 2, sent: 0, pending: 0 });
    for (const row of rows) {
      expect(row).toMatchObject({
        status: 'failed',
        errorCode: 'job_failed',
        errorMessage: 'job stalled more than allowable limit',
      });
    }
    expect(rows).toHaveLength(2);
    // The last worker failed the jobs without calling CertCentral again.
    expect(sim.stats().requests).toBe(kills * 2);
    expect(active.reduce((a, b) => a + b, 0)).toBe(0);
  });
});
