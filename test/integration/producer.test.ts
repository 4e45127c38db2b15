import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatch } from '../../src/dashboard/handlers/batches.js';
import { silentLogger } from '../../src/logger.js';
import { jobIdFor } from '../../src/queue/keys.js';
import { enqueueBatch } from '../../src/queue/producer.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { collect, csv } from '../helpers/batch.js';
import { dropPrefix, testConfig, testPrefix } from '../helpers/redis.js';

const FILE = [
  'order_id,recipient_email',
  '11,a@example.com',
  '12,',
  '13,not-an-email',
  '11,A@Example.com',
  '14,b@example.com',
  '',
].join('\n');

describe('enqueueBatch', () => {
  let runtime: Runtime;
  const prefix = testPrefix('producer');
  beforeAll(async () => {
    runtime = await openRuntime(testConfig({ SEAL_PREFIX: prefix }), silentLogger());
  });
  afterAll(async () => {
    await dropPrefix(runtime.redis, prefix);
    await runtime.close();
  });

  it('queues each valid row once, in the lane its recipient calls for', async () => {
    const summary = await enqueueBatch(runtime, {
      input: csv(FILE),
      batchId: 'b1',
      source: 'f.csv',
    });
    expect(summary).toMatchObject({
      rows: 5,
      queued: { throttled: 2, direct: 1 },
      rejected: 2,
      alreadySent: 0,
    });
    expect(await runtime.queues.throttled.getWaitingCount()).toBe(2);
    expect(await runtime.queues.direct.getWaitingCount()).toBe(1);
    const job = await runtime.queues.throttled.getJob(jobIdFor('b1', 2));
    expect(job?.data).toEqual({ batch: 'b1', line: 2, orderId: 11, recipient: 'a@example.com' });
    expect(JSON.stringify(job?.data)).not.toMatch(/key/i);
  });

  it('records every row, rejected ones with their reason', async () => {
    const rows = await collect(runtime.store.rows('b1'));
    expect(rows.map((r) => [r.line, r.status, r.errorCode ?? ''])).toEqual([
      [2, 'pending', ''],
      [3, 'pending', ''],
      [4, 'rejected', 'invalid_row'],
      [5, 'rejected', 'duplicate_row'],
      [6, 'pending', ''],
    ]);
    expect(rows[3]?.errorMessage).toBe('same order and recipient as line 2: sent once');
    const batch = await runtime.store.get('b1');
    expect(batch).toMatchObject({ state: 'queued', total: 5, counts: { pending: 3, rejected: 2 } });
  });

  it('adds nothing when the same batch is enqueued again', async () => {
    await enqueueBatch(runtime, { input: csv(FILE), batchId: 'b1', source: 'f.csv' });
    expect(await runtime.queues.throttled.getWaitingCount()).toBe(2);
    expect(await runtime.store.get('b1')).toMatchObject({ total: 5, counts: { pending: 3 } });
  });

  it('reports rows sent by an earlier batch as already_sent, unless resending', async () => {
    const marker = runtime.keys.sent(11 as never, 'a@example.com');
    await runtime.redis.hset(marker.key, marker.field, Math.floor(Date.now() / 1000) + 3_600);
    const again = await enqueueBatch(runtime, { input: csv(FILE), batchId: 'b2', source: 'f.csv' });
    expect(again).toMatchObject({ queued: { throttled: 1, direct: 1 }, alreadySent: 1 });
    const resent = await enqueueBatch(runtime, {
      input: csv(FILE),
      batchId: 'b3',
      source: 'f.csv',
      resend: true,
    });
    expect(resent).toMatchObject({ queued: { throttled: 2, direct: 1 }, alreadySent: 0 });
    const job = await runtime.queues.throttled.getJob(jobIdFor('b3', 2));
    expect(job?.data.resend).toBe(true);
  });
});

describe('when Redis loses rows while a batch is queued', () => {
  const ROWS = 20_000;
  let runtime: Runtime;
  const prefix = testPrefix('lost');
  const text = `order_id\n${Array.from({ length: ROWS }, (_, i) => `${i + 1}\n`).join('')}`;
  beforeAll(async () => {
    runtime = await openRuntime(testConfig({ SEAL_PREFIX: prefix }), silentLogger());
  });
  afterAll(async () => {
    await dropPrefix(runtime.redis, prefix);
    await runtime.close();
  });

  /**
   * What a Redis restarted from an AOF missing its last second looks like to the producer: the
   * batch's record and rows written so far are gone while it goes on queueing.
   */
  async function loseRowsWhileQueueing(batchId: string, enqueue: () => Promise<unknown>) {
    const keys = runtime.keys;
    let lost = false;
    const loser = (async () => {
      while (Number((await runtime.redis.hget(keys.batch(batchId), 'total')) ?? 0) < 2_000) {
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      await runtime.redis.del(keys.batch(batchId), keys.batchRows(batchId));
      lost = true;
    })();
    await enqueue();
    await loser;
    expect(lost).toBe(true);
    const batch = await runtime.store.get(batchId);
    expect(batch?.total).toBe(ROWS);
    expect(batch?.counts.pending).toBe(ROWS);
    expect(await runtime.redis.hlen(keys.batchRows(batchId))).toBe(ROWS);
  }

  it('reads a file again and restores every row', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sealmail-lost-')), 'orders.csv');
    writeFileSync(file, text);
    await loseRowsWhileQueueing('from-file', () =>
      enqueueBatch(runtime, { input: file, batchId: 'from-file', source: 'f.csv' }),
    );
  });

  it('restores every row of an upload too', async () => {
    await loseRowsWhileQueueing('from-upload', async () => {
      const result = await createBatch(runtime, { csv: csv(text), batchId: 'from-upload' });
      expect(result.status).toBe(201);
    });
  });
});

describe('batch retention', () => {
  it('keeps a finished batch for the retention period, and for good while rows are pending', async () => {
    const prefix = testPrefix('retention');
    const runtime = await openRuntime(
      testConfig({ SEAL_PREFIX: prefix, SEAL_BATCH_TTL_DAYS: '2' }),
      silentLogger(),
    );
    try {
      await enqueueBatch(runtime, { input: csv('order_id\nnope\n'), batchId: 'r1', source: 't' });
      const ttl = await runtime.redis.ttl(runtime.keys.batch('r1'));
      expect(ttl).toBeGreaterThan(2 * 86_400 - 10);
      expect(await runtime.redis.ttl(runtime.keys.batchRows('r1'))).toBeGreaterThan(0);
      await enqueueBatch(runtime, { input: csv('order_id\n5\n'), batchId: 'r2', source: 't' });
      expect(await runtime.redis.ttl(runtime.keys.batch('r2'))).toBe(-1);
    } finally {
      await dropPrefix(runtime.redis, prefix);
      await runtime.close();
    }
  });
});
