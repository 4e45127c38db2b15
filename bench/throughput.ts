/**
 * Throughput of the two ends of the pipeline, against a local Redis and the simulator:
 *   enqueue: rows/s from a CSV file to queued jobs (validation, de-duplication, batch records);
 *   direct lane: seals/s sent by one process with no limits, simulator answering at once.
 * Prints a table and writes bench/results/throughput.json. Not a test: figures vary by machine.
 *
 *   npm run bench:throughput [-- ROWS]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import { startLaneWorkers } from '../src/queue/lane-workers.js';
import { enqueueBatch } from '../src/queue/producer.js';
import { deleteByPrefix } from '../src/redis.js';
import { openRuntime, type Runtime } from '../src/runtime.js';
import { startSimulator } from '../src/simulator/server.js';

const ROWS = Number(process.argv[2] ?? 100_000);
const SEND_ROWS = Math.min(ROWS, 20_000);
const KEY = 'bench-key';

async function main() {
  const dir = join(tmpdir(), 'sealmail-bench');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `orders-${ROWS}.csv`);
  writeFileSync(file, csvOf(ROWS, 1_000_000));
  const sendFile = join(dir, `direct-${SEND_ROWS}.csv`);
  writeFileSync(sendFile, csvOf(SEND_ROWS, 2_000_000, false));

  const sim = await startSimulator({
    apiKey: KEY,
    limits: [],
    orders: { has: () => true, text: 'all' },
  });
  const prefix = `sealbench-${Date.now()}`;
  const config = loadConfig({
    ...process.env,
    SEAL_PREFIX: prefix,
    CERTCENTRAL_API_KEY: KEY,
    CERTCENTRAL_BASE_URL: sim.baseUrl,
    SEAL_CONCURRENCY: process.env.SEAL_CONCURRENCY ?? '32',
  });
  const runtime = await openRuntime(config, silentLogger());
  const results: Record<string, number | string> = {};
  try {
    const t0 = performance.now();
    const summary = await enqueueBatch(runtime, {
      input: file,
      batchId: 'enqueue',
      source: 'bench',
    });
    const enqueueSeconds = (performance.now() - t0) / 1000;
    results.enqueue_rows = summary.rows;
    results.enqueue_rows_per_s = Math.round(summary.rows / enqueueSeconds);
    await runtime.queues.throttled.obliterate({ force: true });
    await runtime.queues.direct.obliterate({ force: true });

    const workers = await startLaneWorkers(runtime, ['direct']);
    const t1 = performance.now();
    await enqueueBatch(runtime, { input: sendFile, batchId: 'direct', source: 'bench' });
    await waitDone(runtime, 'direct');
    const sendSeconds = (performance.now() - t1) / 1000;
    await workers.close();
    results.direct_rows = SEND_ROWS;
    results.direct_concurrency = config.concurrency;
    results.direct_seals_per_s = Math.round(SEND_ROWS / sendSeconds);
    results.simulator_deliveries = sim.stats().deliveries;
  } finally {
    await deleteByPrefix(runtime.redis, prefix);
    await runtime.close();
    await sim.close();
  }

  console.table(results);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(
    'bench/results/throughput.json',
    `${JSON.stringify({ at: new Date().toISOString(), ...results }, null, 2)}\n`,
  );
}

function csvOf(rows: number, firstId: number, withRecipients = true): string {
  const lines = ['order_id,recipient_email'];
  for (let i = 0; i < rows; i++) {
    lines.push(`${firstId + i},${withRecipients && i % 2 === 0 ? `user${i}@example.com` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

async function waitDone(runtime: Runtime, batchId: string) {
  for (;;) {
    if ((await runtime.store.get(batchId))?.state === 'done') return;
    await sleep(20);
  }
}

await main();
