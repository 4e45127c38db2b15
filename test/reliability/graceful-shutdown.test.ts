import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, vi } from 'vitest';
import { LANES } from '../../src/queue/lanes.js';
import { enqueueBatch } from '../../src/queue/producer.js';
import { collect, csv, waitForBatch } from '../helpers/batch.js';
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

describe('SIGTERM with calls that outlast the grace period', () => {
  // Every answer takes 10 s; CertCentral has sent the email when the request arrives.
  const rig = workerRig('cutoff', { slowRate: 1, slowMs: 10_000 });
  const CUT_GRACE_MS = 300;

  it('cuts them off when the grace period ends, exits 0, and a restart loses nothing', async () => {
    const { runtime, sim } = rig;
    const env = { SEAL_LIMITS: 'none', SEAL_SHUTDOWN_GRACE_MS: String(CUT_GRACE_MS) };
    const lines = ['order_id,recipient_email'];
    for (let id = 1; id <= 40; id++) lines.push(`${id},${id % 2 ? `k${id}@example.com` : ''}`);
    await enqueueBatch(runtime, {
      input: csv(`${lines.join('\n')}\n`),
      batchId: 'cut',
      source: 't',
    });

    await rig.startWorker(env);
    await vi.waitUntil(() => sim.stats().inFlight >= 16, { timeout: 20_000, interval: 20 });
    const inFlightAtSignal = sim.stats().inFlight;
    const signalledAt = Date.now();
    const code = await rig.stopWorker();
    const exitMs = Date.now() - signalledAt;
    const afterStop = await runtime.store.get('cut');
    const active = await Promise.all(LANES.map((lane) => runtime.queues[lane].getActiveCount()));

    sim.configure({ slowRate: 0 });
    await rig.startWorker(env);
    const batch = await waitForBatch(runtime, 'cut', 60_000);
    await rig.stopWorker();
    const rows = await collect(runtime.store.rows('cut'));
    const deliveries = sim.deliveries().map((d) => d.orderId);
    const figures = {
      rows: 40,
      graceMs: CUT_GRACE_MS,
      inFlightAtSignal,
      exitCode: code,
      exitMs,
      activeAfterStop: active.reduce((a, b) => a + b, 0),
      duplicates: deliveries.length - new Set(deliveries).size,
      maxAttempts: Math.max(...rows.map((r) => r.attempts ?? 0)),
    };
    recordFigures('grace-cutoff', figures);

    expect(inFlightAtSignal).toBe(16);
    expect(code).toBe(0);
    // Well before the 10 s answers: the calls were cut off, not waited for.
    expect(exitMs).toBeLessThan(CUT_GRACE_MS + 3_000);
    expect(afterStop?.counts).toMatchObject({ sent: 0, failed: 0, pending: 40 });
    expect(figures.activeAfterStop).toBe(0);
    expect(batch.counts).toMatchObject({ sent: 40, failed: 0, pending: 0 });
    // A cut-off call is not an attempt; CertCentral had sent those, so they are sent again.
    expect(figures.maxAttempts).toBe(1);
    expect(figures.duplicates).toBeLessThanOrEqual(inFlightAtSignal);
  });
});
