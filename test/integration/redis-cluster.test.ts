import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { startLaneWorkers } from '../../src/queue/lane-workers.js';
import { LANES } from '../../src/queue/lanes.js';
import { enqueueBatch } from '../../src/queue/producer.js';
import { connectRedis, deleteByPrefix } from '../../src/redis.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { type Simulator, startSimulator } from '../../src/simulator/server.js';
import { csv, waitForBatch } from '../helpers/batch.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';

const KEY = 'cluster-test-key';

function installed(command: string): boolean {
  try {
    execFileSync(command, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const haveRedis = installed('redis-server') && installed('redis-cli');
if (!haveRedis)
  console.warn('redis-cluster test skipped: redis-server or redis-cli is not installed');

describe.skipIf(!haveRedis)('connecting to a Redis Cluster', () => {
  it('waits for a cluster that is not ready yet instead of hanging on the first attempt', async () => {
    const node = await startRedisServer({
      // A lone node never meets another one to learn its own address.
      args: ['--cluster-enabled', 'yes', '--cluster-announce-ip', '127.0.0.1'],
    });
    const cli = (...args: string[]) =>
      execFileSync('redis-cli', ['-p', String(node.port), ...args], { encoding: 'utf8' });
    try {
      // Half the slots unassigned: the node says cluster_state:fail until the rest arrive.
      cli('cluster', 'addslotsrange', '0', '8191');
      expect(cli('cluster', 'info')).toContain('cluster_state:fail');
      const connecting = connectRedis(node.url, { cluster: true, timeoutMs: 15_000 });
      await sleep(500);
      cli('cluster', 'addslotsrange', '8192', '16383');
      const redis = await connecting;
      try {
        expect(await redis.set('{t}:k', 'v')).toBe('OK');
      } finally {
        redis.disconnect();
      }
    } finally {
      await node.stop('SIGKILL');
    }
  });
});

describe.skipIf(!haveRedis)('a real 3-master Redis Cluster, started from redis-server', () => {
  const nodes: RedisServer[] = [];
  let sim: Simulator;
  let runtime: Runtime;

  beforeAll(async () => {
    // A cluster node answers PING before its slots are assigned: redis-cli does that next.
    for (let i = 0; i < 3; i++) {
      nodes.push(await startRedisServer({ args: ['--cluster-enabled', 'yes'] }));
    }
    execFileSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      {
        stdio: 'ignore',
      },
    );
    for (let tries = 0; ; tries++) {
      const info = execFileSync('redis-cli', ['-p', String(nodes[0]?.port), 'cluster', 'info'], {
        encoding: 'utf8',
      });
      if (info.includes('cluster_state:ok')) break;
      if (tries > 100) throw new Error('cluster did not reach cluster_state:ok');
      await sleep(100);
    }
    sim = await startSimulator({ apiKey: KEY, limits: [] });
    runtime = await openRuntime(
      loadConfig({
        REDIS_URL: nodes[0]?.url ?? '',
        REDIS_CLUSTER: 'true',
        SEAL_PREFIX: 'sealcluster',
        CERTCENTRAL_API_KEY: KEY,
        CERTCENTRAL_BASE_URL: sim.baseUrl,
        SEAL_LIMITS: '40/500ms',
        LOG_LEVEL: 'silent',
      }),
      silentLogger(),
    );
  });
  afterAll(async () => {
    if (runtime) {
      await deleteByPrefix(runtime.redis, runtime.config.prefix);
      await runtime.close();
    }
    await sim?.close();
    await Promise.all(nodes.map((node) => node.stop('SIGKILL')));
  });

  it('puts every key of the batch and the queues in one slot and runs a batch end to end', async () => {
    expect(runtime.config.prefix).toBe('{sealcluster}');
    const lines = ['order_id,recipient_email'];
    for (let id = 1; id <= 200; id++) lines.push(`${id},${id % 2 ? `k${id}@example.com` : ''}`);
    lines.push('bad,x@example.com');
    const workers = await startLaneWorkers(runtime, LANES);
    try {
      await enqueueBatch(runtime, {
        input: csv(`${lines.join('\n')}\n`),
        batchId: 'cluster',
        source: 't',
      });
      const batch = await waitForBatch(runtime, 'cluster', 60_000);
      expect(batch.counts).toMatchObject({ sent: 200, rejected: 1, pending: 0 });
    } finally {
      await workers.close();
    }
    const delivered = sim.deliveries().map((d) => d.orderId);
    expect(new Set(delivered).size).toBe(200);
    expect(delivered).toHaveLength(200);
    // Every key the run wrote hashes to the prefix's slot.
    const slots = new Set<number>();
    for (const { port } of nodes) {
      const node = new Redis(port, '127.0.0.1');
      const keys = await node.keys('{sealcluster}:*');
      for (const key of keys.slice(0, 50)) slots.add(Number(await node.cluster('KEYSLOT', key)));
      node.disconnect();
    }
    expect(slots.size).toBe(1);
  });
});
