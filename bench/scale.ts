/**
 * Scale benchmark, everything measured side by side in one run, against a private
 * redis-server (so its memory figures are ours alone) and the simulator:
 *
 *   enqueue      rows/s from CSV to queued jobs, 100,000 and 1,000,000 rows, against plain
 *                BullMQ addBulk of the same jobs (1,000 per call, no CSV, no validation, no
 *                de-duplication); peak RSS of each process
 *   footprint    Redis bytes per pending row, and per finished row once a batch is done
 *   direct lane  seals/s from a simulator process with no limits and 5 ms answers, 1 and 3
 *                `sealmail worker` processes (8 in flight each), against as many plain loop
 *                processes with the same client, the same number in flight and no queue
 *
 * Prints tables and writes bench/results/scale.json. Not a test: figures vary by machine.
 *
 *   npm run bench [-- --quick] [-- --only enqueue|footprint|direct]
 *   (--quick: 100,000 rows at most, fewer seals)
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createClient } from '../src/certcentral/client.js';
import { loadConfig } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import type { OrderId } from '../src/order-id.js';
import { buildJob } from '../src/queue/jobs.js';
import { enqueueBatch } from '../src/queue/producer.js';
import { openRuntime } from '../src/runtime.js';
import { startSimulator } from '../src/simulator/server.js';
import { startRedisServer } from '../test/helpers/redis-server.js';

const BIN = fileURLToPath(new URL('../../bin/sealmail.js', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const QUICK = process.argv.includes('--quick');
/** `--only enqueue|footprint|direct` runs one part. */
const ONLY = process.argv[process.argv.indexOf('--only') + 1] ?? '';
const runs = (part: string) => !process.argv.includes('--only') || ONLY === part;
const KEY = 'bench-scale-key';

async function main() {
  if (process.argv[2] === '--child') return child(process.argv[3] ?? '', process.argv.slice(4));
  const dir = mkdtempSync(join(tmpdir(), 'sealmail-scale-'));
  const redis = await startRedisServer({ dir });
  const results: Record<string, unknown> = {};
  try {
    if (runs('enqueue')) {
      results.enqueue = await enqueueBench(
        dir,
        redis.url,
        QUICK ? [100_000] : [100_000, 1_000_000],
      );
    }
    if (runs('footprint'))
      results.footprint = await footprintBench(dir, redis.url, QUICK ? 5_000 : 20_000);
    if (runs('direct')) results.direct = await directBench(dir, redis.url, QUICK ? 5_000 : 20_000);
  } finally {
    await redis.stop();
  }
  // A partial run (--only) replaces its own part of the last results and keeps the others.
  mkdirSync('bench/results', { recursive: true });
  let previous: Record<string, unknown> = {};
  try {
    previous = JSON.parse(readFileSync('bench/results/scale.json', 'utf8')) as Record<
      string,
      unknown
    >;
  } catch {
    // first run
  }
  const at = new Date().toISOString();
  const stamped = Object.fromEntries(
    Object.entries(results).map(([part, value]) => [part, { at, quick: QUICK, value }]),
  );
  writeFileSync(
    'bench/results/scale.json',
    `${JSON.stringify({ ...previous, ...stamped }, null, 2)}\n`,
  );
}

// ---- enqueue ----

async function enqueueBench(dir: string, url: string, sizes: number[]) {
  const rows = [];
  for (const size of sizes) {
    const file = join(dir, `orders-${size}.csv`);
    writeFileSync(file, csvOf(size, 1_000_000));
    await flush(url);
    const ours = runChild(['enqueue', url, file]);
    await flush(url);
    const plain = runChild(['addbulk', url, String(size)]);
    await flush(url);
    rows.push({
      rows: size,
      sealmail_rows_per_s: Math.round(size / ours.seconds),
      plain_addbulk_rows_per_s: Math.round(size / plain.seconds),
      ratio: round(plain.seconds / ours.seconds),
      sealmail_peak_rss_mb: ours.maxRssMb,
      plain_peak_rss_mb: plain.maxRssMb,
    });
  }
  console.log('\nenqueue');
  console.table(rows);
  return rows;
}

// ---- Redis footprint ----

async function footprintBench(dir: string, url: string, size: number) {
  const sim = await startSimulator({
    apiKey: KEY,
    limits: [],
    orders: { has: () => true, text: 'all' },
  });
  await flush(url);
  const probe = new Redis(url);
  const before = await usedMemory(probe);
  const file = join(dir, `footprint-${size}.csv`);
  writeFileSync(file, csvOf(size, 5_000_000));
  runChild(['enqueue', url, file, 'footprint']);
  const pending = await usedMemory(probe);
  const worker = await startWorker(url, sim.baseUrl, 32);
  while ((await probe.hget('sealmail:batch:footprint', 'state')) !== 'done') await sleep(100);
  await stop(worker);
  const finished = await usedMemory(probe);
  probe.disconnect();
  await sim.close();
  const result = {
    rows: size,
    bytes_per_pending_row: Math.round((pending - before) / size),
    bytes_per_finished_row: Math.round((finished - before) / size),
  };
  console.log('\nRedis footprint (used_memory, after a full batch of completed jobs is trimmed)');
  console.table([result]);
  return result;
}

// ---- direct lane ----

/**
 * Both sides run the same way: the simulator in a process of its own, and N processes with 8
 * requests in flight each (N `sealmail worker`s, or N plain loops over the same client), timed
 * from spawning them until the last row is answered. The simulator reports the most requests
 * it had in flight at once on each side; CPU per seal sums every process taking part (workers
 * or loops, the simulator, and Redis for sealmail), start-up included.
 */
async function directBench(dir: string, url: string, size: number) {
  const sim = await startSimulatorProcess();
  const rows = [];
  try {
    for (const processes of [1, 3]) {
      await flush(url);
      const file = join(dir, `direct-${size}.csv`);
      writeFileSync(file, csvOf(size, FIRST_ORDER, false));
      runChild(['enqueue', url, file, 'direct']);
      const probe = new Redis(url);
      await simulatorControl(sim.baseUrl, 'reset');
      const cpu0 = { redis: await redisCpuSeconds(probe), sim: cpuSeconds(sim.child) };
      const t0 = performance.now();
      const workers = await Promise.all(
        Array.from({ length: processes }, () => startWorker(url, sim.baseUrl, IN_FLIGHT)),
      );
      while ((await probe.hget('sealmail:batch:direct', 'state')) !== 'done') await sleep(20);
      const ours = (performance.now() - t0) / 1000;
      const oursCpu =
        workers.reduce((sum, worker) => sum + cpuSeconds(worker), 0) +
        (await redisCpuSeconds(probe)) -
        cpu0.redis +
        cpuSeconds(sim.child) -
        cpu0.sim;
      const oursPeak = (await simulatorControl(sim.baseUrl, 'stats')).peakInFlight;
      const sent = Number(await probe.hget('sealmail:batch:direct', 's'));
      await Promise.all(workers.map(stop));
      probe.disconnect();
      if (sent !== size) throw new Error(`direct lane: ${sent} of ${size} rows sent`);

      await simulatorControl(sim.baseUrl, 'reset');
      const sim1 = cpuSeconds(sim.child);
      const t1 = performance.now();
      const loops = await Promise.all(
        Array.from({ length: processes }, (_, i) => {
          const share = Math.ceil(size / processes);
          const first = FIRST_ORDER + i * share;
          const count = Math.min(share, size - i * share);
          return runChildAsync(['loop', sim.baseUrl, String(first), String(count)]);
        }),
      );
      const loop = (performance.now() - t1) / 1000;
      const loopCpu =
        loops.reduce((sum, child) => sum + child.cpuSeconds, 0) + cpuSeconds(sim.child) - sim1;
      const loopPeak = (await simulatorControl(sim.baseUrl, 'stats')).peakInFlight;
      rows.push({
        processes,
        in_flight: processes * IN_FLIGHT,
        sealmail_seals_per_s: Math.round(size / ours),
        plain_loop_seals_per_s: Math.round(size / loop),
        ratio: round(loop / ours),
        sealmail_peak_in_flight: oursPeak,
        plain_peak_in_flight: loopPeak,
        sealmail_cpu_us_per_seal: Math.round((oursCpu * 1e6) / size),
        plain_cpu_us_per_seal: Math.round((loopCpu * 1e6) / size),
      });
    }
  } finally {
    await stop(sim.child);
  }
  console.log('\ndirect lane (no limits, 5 ms answers; process start-up included on both sides)');
  console.table(rows);
  return rows;
}

const FIRST_ORDER = 7_000_000;
const IN_FLIGHT = 8;

/** One plain loop process: `count` orders from `first`, IN_FLIGHT at a time, no queue. */
async function plainLoop(baseUrl: string, first: number, count: number): Promise<void> {
  const api = createClient({ baseUrl, apiKey: KEY, maxSockets: IN_FLIGHT * 2 });
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < count) {
        const id = first + next++;
        const outcome = await api.emailSeal(id as OrderId, undefined);
        if (outcome.kind !== 'sent') throw new Error(`plain loop: ${outcome.kind}`);
      }
    }),
  );
  api.close();
}

async function startSimulatorProcess(): Promise<{ child: ChildProcess; baseUrl: string }> {
  const child = spawn(
    process.execPath,
    [
      BIN,
      'simulate',
      '--port',
      '0',
      '--key',
      KEY,
      '--orders',
      `${FIRST_ORDER}-${FIRST_ORDER + 10_000_000}`,
      '--limits',
      'none',
      '--latency-ms',
      '5',
    ],
    {
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const baseUrl = await new Promise<string>((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk;
      const found = /"baseUrl":"([^"]+)"/.exec(out);
      if (found?.[1]) {
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolve(found[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`simulator exited (${code})`)));
  });
  return { child, baseUrl };
}

// ---- children: one process per measurement, so peak RSS is its own ----

async function child(mode: string, args: string[]) {
  const [url = '', what = '', batch = 'bench'] = args;
  if (mode === 'loop') {
    await plainLoop(url, Number(what), Number(batch));
    const { user, system } = process.cpuUsage();
    process.stdout.write(`${JSON.stringify({ cpuSeconds: (user + system) / 1e6 })}\n`);
    return;
  }
  const config = loadConfig({ REDIS_URL: url, SEAL_LIMITS: 'none', LOG_LEVEL: 'silent' });
  const t0 = performance.now();
  if (mode === 'enqueue') {
    const runtime = await openRuntime(config, silentLogger());
    await enqueueBatch(runtime, { input: what, batchId: batch, source: 'bench' });
    await runtime.close();
  } else if (mode === 'addbulk') {
    const connection = new Redis(url, { maxRetriesPerRequest: null });
    const queue = new Queue('direct', { connection, prefix: 'sealmail' });
    const size = Number(what);
    for (let i = 0; i < size; i += 1_000) {
      const jobs = [];
      for (let j = i; j < Math.min(i + 1_000, size); j++) {
        jobs.push(
          buildJob(config, {
            batch,
            line: j + 2,
            orderId: (1_000_000 + j) as OrderId,
            recipient: undefined,
          }).job,
        );
      }
      await queue.addBulk(jobs);
    }
    await queue.close();
    connection.disconnect();
  }
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(
    `${JSON.stringify({ seconds, maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`,
  );
}

function runChildAsync(args: string[]): Promise<{ cpuSeconds: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SELF, '--child', ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk;
    });
    child.once('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}'))
        : reject(new Error(`${args[0]} exited (${code})`)),
    );
  });
}

function runChild(args: string[]): { seconds: number; maxRssMb: number } {
  const out = execFileSync(process.execPath, [SELF, '--child', ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out.trim().split('\n').pop() ?? '{}');
}

// ---- plumbing ----

function startWorker(url: string, baseUrl: string, concurrency: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'worker', '--lane', 'all'], {
    env: {
      PATH: process.env.PATH ?? '',
      REDIS_URL: url,
      CERTCENTRAL_API_KEY: KEY,
      CERTCENTRAL_BASE_URL: baseUrl,
      SEAL_LIMITS: 'none',
      SEAL_CONCURRENCY: String(concurrency),
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk;
      if (out.split('lane worker started').length > 2) {
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`worker exited (${code})`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** `GET /_sim/stats` or `POST /_sim/reset` of a simulator process. */
async function simulatorControl(
  baseUrl: string,
  what: 'stats' | 'reset',
): Promise<{ peakInFlight: number }> {
  const response = await fetch(new URL(`/_sim/${what}`, baseUrl), {
    method: what === 'reset' ? 'POST' : 'GET',
  });
  return (await response.json()) as { peakInFlight: number };
}

/** CPU time a running child has used so far (Linux: /proc/PID/stat, in clock ticks of 10 ms). */
function cpuSeconds(child: ChildProcess): number {
  const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return field('used_cpu_user') + field('used_cpu_sys');
}

async function flush(url: string) {
  const redis = new Redis(url);
  await redis.flushall();
  redis.disconnect();
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

function csvOf(rows: number, firstId: number, withRecipients = true): string {
  const lines = ['order_id,recipient_email'];
  for (let i = 0; i < rows; i++) {
    lines.push(`${firstId + i},${withRecipients && i % 2 === 0 ? `user${i}@example.com` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

const round = (n: number) => Math.round(n * 100) / 100;

await main();
