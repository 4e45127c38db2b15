import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOrderSet } from '../../src/simulator/order-set.js';
import { type Simulator, startSimulator } from '../../src/simulator/server.js';
import { sealmail } from '../helpers/cli.js';
import { seeded } from '../helpers/random.js';
import { dropPrefix, dumpPrefix, redisUrl, testPrefix, testRedis } from '../helpers/redis.js';

const KEY = 'e2e-key-7f3a9c';

/** Reads a report into { line → row }. */
function readReport(path: string): Map<number, Record<string, string>> {
  const records = parse(readFileSync(path), { columns: true }) as Record<string, string>[];
  return new Map(records.map((row) => [Number(row.line), row]));
}

describe('sealmail run, end to end against the simulator with faults on', () => {
  let sim: Simulator;
  let redis: Redis;
  const dir = mkdtempSync(join(tmpdir(), 'sealmail-e2e-'));
  const prefix = testPrefix('e2e');
  const env = (extra: Record<string, string> = {}) => ({
    REDIS_URL: redisUrl(),
    SEAL_PREFIX: prefix,
    CERTCENTRAL_API_KEY: KEY,
    CERTCENTRAL_BASE_URL: sim.baseUrl,
    SEAL_RETRY_BASE_MS: '20',
    SEAL_RETRY_MAX_MS: '200',
    SEAL_BACKOFF_BASE_MS: '200',
    SEAL_MAX_ATTEMPTS: '12',
    LOG_LEVEL: 'debug',
    ...extra,
  });

  beforeAll(async () => {
    redis = testRedis();
    sim = await startSimulator({
      apiKey: KEY,
      orders: parseOrderSet('1-10000'),
      failRate: 0.1,
      resetRate: 0.03,
      // Repeatable faults: the first requests always include 500s, 503s and resets.
      random: seeded(7),
      limits: [{ max: 60, windowMs: 1_000 }],
      recipientLimits: [{ max: 25, windowMs: 1_000 }],
    });
  });
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    redis.disconnect();
    await sim.close();
  });

  it('delivers every valid known row exactly once and gives every other row its status', async () => {
    const lines = ['order_id,customer_order_id,recipient_email'];
    for (let id = 1; id <= 60; id++)
      lines.push(`${id},PO-${id},${id % 3 ? `r${id}@example.com` : ''}`);
    lines.push('abc,PO-x,x@example.com'); // line 62: invalid id
    lines.push('61,PO-61,"a@example.com,b@example.com"'); // line 63: two recipients
    lines.push('5,PO-5,r5@example.com'); // line 64: duplicate of line 6
    lines.push('20000,PO-20000,u@example.com'); // line 65: unknown order
    lines.push('20001,PO-20001,'); // line 66: unknown order, no recipient
    const file = join(dir, 'mixed.csv');
    writeFileSync(file, `${lines.join('\r\n')}\r\n`);
    const report = join(dir, 'mixed-report.csv');

    const result = await sealmail(
      ['run', file, '--batch', 'mixed', '--report', report],
      env({ SEAL_LIMITS: '20/1s' }),
    );

    expect(result.code).toBe(3);
    const delivered = sim.deliveries().map((d) => `${d.orderId}:${d.recipient ?? ''}`);
    const expected = Array.from({ length: 60 }, (_, i) => i + 1).map(
      (id) => `${id}:${id % 3 ? `r${id}@example.com` : ''}`,
    );
    expect([...delivered].sort()).toEqual([...expected].sort());
    const rows = readReport(report);
    expect(rows.size).toBe(65);
    for (let line = 2; line <= 61; line++) expect(rows.get(line)?.status).toBe('sent');
    expect(rows.get(62)).toMatchObject({ status: 'rejected', error_code: 'invalid_row' });
    expect(rows.get(63)).toMatchObject({ status: 'rejected', error_code: 'invalid_row' });
    expect(rows.get(64)).toMatchObject({ status: 'rejected', error_code: 'duplicate_row' });
    expect(rows.get(65)).toMatchObject({
      status: 'failed',
      http_status: '404',
      error_code: 'not_found|order',
    });
    expect(rows.get(66)).toMatchObject({ status: 'failed', http_status: '404' });
    expect(sim.stats().byStatus['500'] ?? 0).toBeGreaterThan(0);
    // Debug logging was on: the key still appears nowhere, not even in Redis.
    expect(result.stdout + result.stderr).not.toContain(KEY);
    expect(readFileSync(report, 'utf8')).not.toContain(KEY);
    const dump = await dumpPrefix(redis, prefix);
    expect(dump.text).not.toContain(KEY);
    expect(dump.keys).toBeGreaterThan(5);
  });

  it('sends nothing on a second run of the same file, and sends again with --resend', async () => {
    const file = join(dir, 'clean.csv');
    writeFileSync(file, 'order_id,recipient\n101,a@example.com\n102,\n103,c@example.com\n');
    sim.reset();
    const first = await sealmail(['run', file], env());
    expect(first.code).toBe(0);
    expect(sim.deliveries()).toHaveLength(3);

    const report = join(dir, 'again.csv');
    const again = await sealmail(['run', file, '--report', report], env());
    expect(again.code).toBe(0);
    expect(sim.deliveries()).toHaveLength(3);
    expect([...readReport(report).values()].map((r) => r.status)).toEqual([
      'already_sent',
      'already_sent',
      'already_sent',
    ]);

    const resend = await sealmail(['run', file, '--resend'], env());
    expect(resend.code).toBe(0);
    expect(sim.deliveries()).toHaveLength(6);
  });

  it('exits 4 after a handful of requests with a wrong key; the right key then sends everything', async () => {
    const file = join(dir, 'key.csv');
    const rows = ['order_id,recipient'];
    for (let id = 201; id <= 260; id++) rows.push(`${id},${id % 2 ? `k${id}@example.com` : ''}`);
    writeFileSync(file, `${rows.join('\n')}\n`);
    sim.reset();

    const refused = await sealmail(
      ['run', file, '--batch', 'keyfix'],
      env({ CERTCENTRAL_API_KEY: 'wrong-key-123' }),
    );
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/CertCentral refused the API key \(HTTP 403/);
    expect(refused.stderr).not.toContain('wrong-key-123');
    expect(sim.stats().requests).toBeLessThanOrEqual(20);
    expect(sim.deliveries()).toHaveLength(0);

    const fixed = await sealmail(['run', file, '--batch', 'keyfix'], env());
    expect(fixed.code).toBe(0);
    expect(sim.deliveries()).toHaveLength(60);
  });

  it('prints one clear line, not a stack trace, for mistakes a user can fix', async () => {
    const missing = await sealmail(['run', join(dir, 'nope.csv')], env());
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toMatch(/^sealmail: .*nope\.csv: no such file$/);

    const noKey = await sealmail(['run', join(dir, 'clean.csv')], env({ CERTCENTRAL_API_KEY: '' }));
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/CERTCENTRAL_API_KEY/);
    expect(noKey.stderr).not.toMatch(/\n\s+at /);

    const noRedis = await sealmail(['status', 'x'], env({ REDIS_URL: 'redis://127.0.0.1:1' }));
    expect(noRedis.code).toBe(1);
    expect(noRedis.stderr.trim()).toMatch(
      /^sealmail: cannot reach Redis at redis:\/\/127\.0\.0\.1:1/,
    );

    const badFlag = await sealmail(['worker', '--lane', 'sideways'], env());
    expect(badFlag.code).toBe(2);
  });
});
