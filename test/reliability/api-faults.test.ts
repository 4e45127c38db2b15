import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.js';
import { sealmail } from '../helpers/cli.js';
import { dropPrefix, redisUrl, testPrefix, testRedis } from '../helpers/redis.js';
import { recordFigures } from './figures.js';

const KEY = 'faults-test-key';
const ROWS = 400;
const MAX_ATTEMPTS = 10;

describe('CertCentral misbehaving: 5xx, resets, slow answers and a 429 storm', () => {
  let sim: Simulator;
  let redis: Redis;
  const prefix = testPrefix('faults');
  const dir = mkdtempSync(join(tmpdir(), 'sealmail-faults-'));

  beforeAll(async () => {
    redis = testRedis();
    sim = await startSimulator({
      apiKey: KEY,
      limits: [],
      failRate: 0.1,
      resetRate: 0.05,
      slowRate: 0.02,
      slowMs: 3_000,
      logRequests: true,
    });
  });
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    redis.disconnect();
    await sim.close();
  });

  it('sends every row, within the attempts allowed, and never counts a 429 as an attempt', async () => {
    const file = join(dir, 'orders.csv');
    const lines = ['order_id,recipient_email'];
    for (let id = 1; id <= ROWS; id++) lines.push(`${id},${id % 2 ? `f${id}@example.com` : ''}`);
    writeFileSync(file, `${lines.join('\n')}\n`);
    const report = join(dir, 'report.csv');

    // A storm of 429s that outlasts several lane pauses (base 300 ms, doubling).
    setTimeout(() => sim.storm(2_500), 400);
    const result = await sealmail(['run', file, '--report', report], {
      REDIS_URL: redisUrl(),
      SEAL_PREFIX: prefix,
      CERTCENTRAL_API_KEY: KEY,
      CERTCENTRAL_BASE_URL: sim.baseUrl,
      SEAL_LIMITS: '100/1s',
      SEAL_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
      SEAL_RETRY_BASE_MS: '50',
      SEAL_RETRY_MAX_MS: '400',
      SEAL_BACKOFF_BASE_MS: '300',
      SEAL_REQUEST_TIMEOUT_MS: '1000',
      LOG_LEVEL: 'warn',
    });
    expect(result.code, result.stderr.slice(-2000)).toBe(0);

    const rows = parse(readFileSync(report), { columns: true }) as Record<string, string>[];
    const requests = sim.requests();
    const stats = sim.stats();
    // Attempts as the report counts them must equal the requests CertCentral answered with
    // anything but 429 (a reset or a timeout is an attempt; a 429 is not).
    const nonLimited = new Map<string, number>();
    for (const r of requests) {
      if (r.status !== 429) nonLimited.set(r.orderId, (nonLimited.get(r.orderId) ?? 0) + 1);
    }
    const mismatched = rows.filter((r) => Number(r.attempts) !== nonLimited.get(r.order_id ?? ''));
    const deliveries = sim.deliveries().map((d) => d.orderId);
    const figures = {
      rows: ROWS,
      requests: stats.requests,
      byStatus: stats.byStatus,
      maxAttempts: Math.max(...rows.map((r) => Number(r.attempts))),
      duplicatesFromSlowAnswers: deliveries.length - new Set(deliveries).size,
      attemptsNotMatchingNon429Requests: mismatched.length,
    };
    recordFigures('api-faults', figures);

    expect(rows).toHaveLength(ROWS);
    expect(rows.every((r) => r.status === 'sent')).toBe(true);
    expect(figures.maxAttempts).toBeLessThanOrEqual(MAX_ATTEMPTS);
    expect(stats.byStatus['429']).toBeGreaterThan(5);
    expect(stats.byStatus['500'] ?? 0).toBeGreaterThan(0);
    expect(stats.byStatus.reset ?? 0).toBeGreaterThan(0);
    expect(mismatched).toEqual([]);
    expect(new Set(deliveries).size).toBe(ROWS);
  });
});
