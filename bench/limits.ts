/**
 * Rate-limit benchmark: drain 2,000 jobs with a recipient against the simulator in strict
 * rolling-window mode, with CertCentral's limits scaled 10x faster, and compare sealmail
 * (1 and 3 worker processes) with BullMQ's own limiter and with a plain loop, in one run.
 *
 *   known:  the simulator enforces exactly the configured windows 100/500ms,1000/18s
 *   hidden: it also throttles requests with a recipient to 30 per second, which the
 *           clients are not told (they are configured with the known windows only)
 *
 * Drain time runs from the first to the last delivery the simulator records; the ideal is
 * the greedy schedule under the windows the simulator really enforces. 429 backoff bases are
 * scaled like the windows (500 ms for CertCentral's 5 s). Prints a table and writes
 * bench/results/limits.json. Not a test: figures vary with the machine.
 *
 *   npm run bench:limits
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Queue, RateLimitError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createClient } from '../src/certcentral/client.js';
import { loadConfig } from '../src/config.js';
import { idealDrainMs } from '../src/limits/ideal.js';
import { parseWindows, type RollingWindow } from '../src/limits/windows.js';
import { silentLogger } from '../src/logger.js';
import type { OrderId } from '../src/order-id.js';
import { enqueueBatch } from '../src/queue/producer.js';
import { deleteByPrefix } from '../src/redis.js';
import { openRuntime } from '../src/runtime.js';
import { type Simulator, startSimulator } from '../src/simulator/server.js';

const JOBS = Number(process.env.BENCH_JOBS ?? 2_000);
const KNOWN = '100/500ms,1000/18s';
const HIDDEN = '30/1s';
const BACKOFF_MS = 500;
const KEY = 'bench-limits-key';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const BIN = fileURLToPath(new URL('../../bin/sealmail.js', import.meta.url));

interface Scenario {
  readonly name: 'known' | 'hidden';
  readonly recipientLimits: RollingWindow[];
}

interface Result {
  scenario: string;
  client: string;
  processes: number;
  drain_s: number;
  ideal_s: number;
  ratio: number;
  requests: number;
  answered_429: number;
  share_429_pct: number;
  peaks: string;
}

type Client = (sim: Simulator, tag: string) => Promise<void>;

const CLIENTS: { name: string; processes: number; run: Client }[] = [
  { name: 'sealmail', processes: 1, run: (sim, tag) => sealmail(sim, tag, 1) },
  { name: 'sealmail', processes: 3, run: (sim, tag) => sealmail(sim, tag, 3) },
  { name: 'bullmq limiter 100/500ms + pause on 429', processes: 1, run: bullmqLimiter },
  { name: 'plain loop, 10 at a time, sleep on 429', processes: 1, run: plainLoop },
];

async function main() {
  const known: Scenario = { name: 'known', recipientLimits: [] };
  const hidden: Scenario = { name: 'hidden', recipientLimits: parseWindows(HIDDEN) };
  const results: Result[] = [];
  // Known limits one client at a time (they burst); the hidden throttle is slow and light,
  // so those runs share the machine to keep the whole benchmark under five minutes.
  for (const client of CLIENTS) results.push(await measure(known, client));
  results.push(...(await Promise.all(CLIENTS.map((client) => measure(hidden, client)))));

  console.table(results);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(
    'bench/results/limits.json',
    `${JSON.stringify({ at: new Date().toISOString(), jobs: JOBS, known: KNOWN, hidden: HIDDEN, results }, null, 2)}\n`,
  );
}

async function measure(scenario: Scenario, client: (typeof CLIENTS)[number]): Promise<Result> {
  const known = parseWindows(KNOWN);
  const sim = await startSimulator({
    apiKey: KEY,
    limits: known,
    recipientLimits: scenario.recipientLimits,
    orders: { has: () => true, text: 'all' },
  });
  const tag = `sealbench-${scenario.name}-${client.processes}-${client.name.split(' ')[0]}-${Date.now()}`;
  try {
    await client.run(sim, tag);
    const deliveries = sim.deliveries();
    const stats = sim.stats();
    const first = deliveries[0]?.at ?? 0;
    const last = deliveries[deliveries.length - 1]?.at ?? 0;
    const ideal = idealDrainMs([...known, ...scenario.recipientLimits], JOBS);
    const limited = stats.byStatus['429'] ?? 0;
    if (deliveries.length !== JOBS)
      throw new Error(`${tag}: ${deliveries.length} of ${JOBS} delivered`);
    return {
      scenario: scenario.name,
      client: client.name,
      processes: client.processes,
      drain_s: round((last - first) / 1000),
      ideal_s: round(ideal / 1000),
      ratio: round((last - first) / ideal),
      requests: stats.requests,
      answered_429: limited,
      share_429_pct: round((limited / stats.requests) * 100),
      peaks: [...stats.peaks.all, ...stats.peaks.recipient]
        .map((p) => `${p.peak}/${p.window.max}`)
        .join(' '),
    };
  } finally {
    await dropPrefix(tag);
    await sim.close();
  }
}

function csvOf(jobs: number): string {
  const lines = ['order_id,recipient_email'];
  for (let i = 1; i <= jobs; i++) lines.push(`${i},user${i}@example.com`);
  return `${lines.join('\n')}\n`;
}

/** sealmail: N `sealmail worker` processes, the batch enqueued once they are up. */
async function sealmail(sim: Simulator, prefix: string, processes: number): Promise<void> {
  const env = {
    PATH: process.env.PATH ?? '',
    REDIS_URL,
    SEAL_PREFIX: prefix,
    CERTCENTRAL_API_KEY: KEY,
    CERTCENTRAL_BASE_URL: sim.baseUrl,
    SEAL_LIMITS: KNOWN,
    SEAL_BACKOFF_BASE_MS: String(BACKOFF_MS),
    SEAL_BACKOFF_MAX_MS: '30000',
    LOG_LEVEL: 'info',
  };
  const workers = await Promise.all(Array.from({ length: processes }, () => startWorker(env)));
  const config = loadConfig(env);
  const runtime = await openRuntime(config, silentLogger());
  try {
    const { Readable } = await import('node:stream');
    await enqueueBatch(runtime, {
      input: Readable.from([csvOf(JOBS)]),
      batchId: 'bench',
      source: 'bench',
    });
    for (;;) {
      if ((await runtime.store.get('bench'))?.state === 'done') break;
      await sleep(50);
    }
  } finally {
    await runtime.close();
    await Promise.all(workers.map(stopWorker));
  }
}

function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'worker', '--lane', 'throttled'], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk) => {
      out += chunk;
      if (out.includes('lane worker started')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker exited early (${code}): ${out}`)));
  });
}

function stopWorker(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** BullMQ's own limiter at the short-term limit, with BullMQ's manual rate limit on a 429. */
async function bullmqLimiter(sim: Simulator, prefix: string): Promise<void> {
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue('bench', { connection, prefix });
  const api = createClient({ baseUrl: sim.baseUrl, apiKey: KEY });
  let done = 0;
  const worker = new Worker(
    'bench',
    async (job) => {
      const outcome = await api.emailSeal(job.data.orderId as OrderId, job.data.recipient);
      if (outcome.kind === 'rateLimited') {
        await queue.rateLimit(BACKOFF_MS);
        throw new RateLimitError();
      }
      if (outcome.kind !== 'sent') throw new Error(outcome.kind);
      done++;
    },
    { connection, prefix, concurrency: 8, limiter: { max: 100, duration: 500 } },
  );
  await queue.addBulk(
    Array.from({ length: JOBS }, (_, i) => ({
      name: 'seal',
      data: { orderId: i + 1, recipient: `user${i + 1}@example.com` },
      opts: { removeOnComplete: true },
    })),
  );
  while (done < JOBS) await sleep(50);
  await worker.close();
  await queue.close();
  api.close();
  connection.disconnect();
}

/** A plain loop: 10 requests at a time, each sleeping on a 429 before trying again. */
async function plainLoop(sim: Simulator): Promise<void> {
  const api = createClient({ baseUrl: sim.baseUrl, apiKey: KEY });
  let next = 1;
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (next <= JOBS) {
        const id = next++;
        for (;;) {
          const outcome = await api.emailSeal(id as OrderId, `user${id}@example.com`);
          if (outcome.kind === 'sent') break;
          await sleep(BACKOFF_MS);
        }
      }
    }),
  );
  api.close();
}

async function dropPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  await deleteByPrefix(redis, prefix);
  redis.disconnect();
}

const round = (n: number) => Math.round(n * 100) / 100;

await main();
