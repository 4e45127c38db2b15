import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import got from 'got';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { buildDashboard } from '../../src/dashboard/server.js';
import { createLogger, silentLogger } from '../../src/logger.js';
import { openRuntime } from '../../src/runtime.js';
import { type Simulator, startSimulator } from '../../src/simulator/server.js';
import { sealmail } from '../helpers/cli.js';
import { seeded } from '../helpers/random.js';
import { dropPrefix, dumpPrefix, redisUrl, testPrefix, testRedis } from '../helpers/redis.js';
import { freePort } from '../helpers/redis-server.js';
import { recordFigures } from './figures.js';

const KEY = 'SECRET-apikey-4f9d2c7e1b';
const TOKEN = 'SECRET-dashboard-token-77aa';

describe('the API key and the dashboard token never leak', () => {
  let sim: Simulator;
  let redis: Redis;
  const prefix = testPrefix('secrets');
  const dir = mkdtempSync(join(tmpdir(), 'sealmail-secrets-'));

  beforeAll(async () => {
    redis = testRedis();
    sim = await startSimulator({
      apiKey: KEY,
      limits: [],
      failRate: 0.2,
      resetRate: 0.05,
      // Repeatable faults, so the run logs as much every time.
      random: seeded(9),
      orders: { has: (id) => id < 90, text: '1-89' },
    });
  });
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    redis.disconnect();
    await sim.close();
  });

  it('appears in no log line, Redis key or value, report, metric or dashboard answer', async () => {
    const file = join(dir, 'orders.csv');
    const lines = ['order_id,recipient_email'];
    for (let id = 1; id <= 100; id++) lines.push(`${id},${id % 2 ? `s${id}@example.com` : ''}`);
    lines.push('x1,bad', '95,unknown@example.com');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const report = join(dir, 'report.csv');
    const env = {
      REDIS_URL: redisUrl(),
      SEAL_PREFIX: prefix,
      CERTCENTRAL_API_KEY: KEY,
      CERTCENTRAL_BASE_URL: sim.baseUrl,
      DASHBOARD_TOKEN: TOKEN,
      SEAL_RETRY_BASE_MS: '20',
      SEAL_MAX_ATTEMPTS: '10',
      LOG_LEVEL: 'trace',
    };
    const run = await sealmail(['run', file, '--batch', 'secret', '--report', report], env);
    // A wrong key too: the refusal is logged and reported without the key it was sent with.
    const wrong = await sealmail(['run', file, '--batch', 'secret-2'], {
      ...env,
      CERTCENTRAL_API_KEY: `${KEY}-wrong`,
    });
    const status = await sealmail(['status', 'secret', '--json'], env);

    const runtime = await openRuntime(loadConfig(env), silentLogger());
    const app = await buildDashboard(runtime, { token: TOKEN, readOnly: false });
    const auth = { authorization: `Bearer ${TOKEN}` };
    const answers: string[] = [];
    for (const url of [
      '/metrics',
      '/api/batches',
      '/api/batches/secret',
      '/api/batches/secret/report.csv',
      '/batches/secret',
      '/queues/api/queues?activeQueue=throttled&status=failed',
      '/queues/api/queues?activeQueue=direct&status=completed',
      '/healthz',
      '/nope',
    ]) {
      const res = await app.inject({ method: 'GET', url, headers: auth });
      answers.push(`${url} ${res.statusCode} ${JSON.stringify(res.headers)} ${res.body}`);
    }
    await app.close();
    const dump = await dumpPrefix(redis, prefix);
    await runtime.close();

    const logs =
      run.stdout + run.stderr + wrong.stdout + wrong.stderr + status.stdout + status.stderr;
    const places = {
      logs,
      redis: dump.text,
      report: readFileSync(report, 'utf8'),
      dashboard: answers.join('\n'),
    };
    const leaks = Object.entries(places).flatMap(([where, text]) =>
      [KEY, TOKEN]
        .filter((secret) => text.includes(secret.slice(0, 12)) && text.includes(secret))
        .map((s) => `${where}: ${s.slice(0, 10)}…`),
    );
    recordFigures('secrets', {
      logBytes: logs.length,
      logLines: logs.split('\n').length,
      redisKeysScanned: dump.keys,
      dashboardAnswers: answers.length,
      leaks: leaks.length,
    });

    expect(run.code).toBe(3);
    expect(wrong.code).toBe(4);
    expect(logs.split('\n').length).toBeGreaterThan(200);
    expect(dump.keys).toBeGreaterThan(10);
    expect(leaks).toEqual([]);
  });

  it('logs an error thrown by got with the request headers attached, redacted', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger({ level: 'debug', secrets: [KEY], destination });
    const port = await freePort();
    const error = await got
      .post(`http://127.0.0.1:${port}/x`, { headers: { 'x-dc-devkey': KEY }, retry: { limit: 0 } })
      .catch((e: unknown) => e);
    expect(JSON.stringify((error as { options: { headers: unknown } }).options.headers)).toContain(
      KEY,
    );
    logger.error(
      { err: error, options: (error as { options: unknown }).options },
      'request failed',
    );
    logger.error({ error }, 'request failed again');
    expect(lines.join('')).not.toContain(KEY);
    expect(lines.join('')).toContain('[redacted]');
  });
});
