import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { LANES } from '../../src/queue/lanes.js';
import { enqueueBatch } from '../../src/queue/producer.js';
import { csv, waitForBatch } from '../helpers/batch.js';
import { workerRig } from '../helpers/worker-rig.js';
import { recordFigures } from './figures.js';

const ROWS = 300;
const GRACE_MS = 5_000;

describe('SIGTERM during a batch', () => {
  // Slow answers, so that the signal always finds requests in flight.
  const rig = workerRig('shutdown', { latencyMs: 400 });

  it('finishes the calls in flight, keeps the rest queued, exits 0, and a restart sends no duplicate', async () => {
    const { runtime, sim } = rig;
    const env = {
      SEAL_LIMITS: 'none',
      SEAL_CONCURRENCY: '8',
      SEAL_SHUTDOWN_GRACE_MS: String(GRACE_MS),
    };
    const lines = ['order_id,recipient_email'];
    for (let id = 1; id <= ROWS; id++) lines.push(`${id},${id % 2 ? `g${id}@example.com` : ''}`);
    await enqueueBatch(runtime, {
      input: csv(`${lines.join('\n')}\n`),
      batchId: 'term',
      source: 't',
    });

    await rig.startWorker(env);
    await sleep(1_500);
    const { inFlight: inFlightAtSignal, requests: requestsAtSignal } = sim.stats();
    const signalledAt = Date.now();
    const code = await rig.stopWorker();
    const exitMs = Date.now() - signalledAt;
    const requestsAfterSignal = sim.stats().requests - requestsAtSignal;

    const afterStop = await runtime.store.get('term');
    const deliveredAtStop = sim.deliveries().length;
    const active = await Promise.all(LANES.map((lane) => runtime.queues[lane].getActiveCount()));

    await rig.startWorker(env);
    const batch = await waitForBatch(runtime, 'term', 60_000);
    await rig.stopWorker();
    const deliveries = sim.deliveries().map((d) => d.orderId);
    const figures = {
      rows: ROWS,
      inFlightAtSignal,
      requestsAfterSignal,
      exitCode: code,
      exitMs,
      sentBeforeStop: afterStop?.counts.sent,
      deliveredBeforeStop: deliveredAtStop,
      activeAfterStop: active.reduce((a, b) => a + b, 0),
      duplicates: deliveries.length - new Set(deliveries).size,
    };
    recordFigures('graceful-shutdown', figures);

    expect(inFlightAtSignal).toBeGreaterThan(0);
    // Nothing new starts once the signal is in, not even the jobs fetched ahead; at most a call
    // freed between reading the count and the signal's arrival.
    expect(requestsAfterSignal).toBeLessThanOrEqual(2);
    expect(code).toBe(0);
    expect(exitMs).toBeLessThan(GRACE_MS + 2_000);
    // Every request CertCentral answered before the stop was recorded as sent: none was cut off.
    expect(afterStop?.counts.sent).toBe(deliveredAtStop);
    expect(afterStop?.counts.pending).toBeGreaterThan(0);
    expect(figures.activeAfterStop).toBe(0);
    expect(batch.counts).toMatchObject({ sent: ROWS, pending: 0 });
    expect(figures.duplicates).toBe(0);
  });
});
