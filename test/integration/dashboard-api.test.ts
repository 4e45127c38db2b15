import { parse } from 'csv-parse/sync';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getBatch } from '../../src/dashboard/handlers/batches.js';
import { buildDashboard } from '../../src/dashboard/server.js';
import { silentLogger } from '../../src/logger.js';
import { startLaneWorkers } from '../../src/queue/lane-workers.js';
import { LANES } from '../../src/queue/lanes.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { parseOrderSet } from '../../src/simulator/order-set.js';
import { type Simulator, startSimulator } from '../../src/simulator/server.js';
import { waitForBatch } from '../helpers/batch.js';
import { dropPrefix, testConfig, testPrefix } from '../helpers/redis.js';

const TOKEN = 'dashboard-test-token-0123456789';
const KEY = 'dashboard-api-key';
const bearer = { authorization: `Bearer ${TOKEN}` };
const CSV =
  'order_id,recipient_email\n1,a@example.com\n2,\n3,not-an-email\n4,d@example.com\n9001,x@example.com\n';

/** Every route, with a method, for the auth and read-only checks. */
const ROUTES: [string, string][] = [
  ['GET', '/'],
  ['GET', '/batches'],
  ['GET', '/batches/b1'],
  ['GET', '/api/batches'],
  ['GET', '/api/batches/b1'],
  ['GET', '/api/batches/b1/report.csv'],
  ['GET', '/api/batches/b1/problems'],
  ['POST', '/api/batches'],
  ['POST', '/api/batches/b1/retry'],
  ['GET', '/metrics'],
  ['GET', '/assets/app.js'],
  ['GET', '/queues'],
  ['GET', '/queues/api/queues'],
  ['PUT', '/queues/api/queues/throttled/pause'],
  ['PUT', '/queues/api/queues/throttled/retry/failed'],
  ['DELETE', '/queues/api/queues/direct/clean/completed'],
];

describe('the dashboard API, on a real Redis', () => {
  let runtime: Runtime;
  let app: FastifyInstance;
  let readOnly: FastifyInstance;
  let sim: Simulator;
  const prefix = testPrefix('dashboard');

  beforeAll(async () => {
    sim = await startSimulator({ apiKey: KEY, limits: [], orders: parseOrderSet('1-100') });
    runtime = await openRuntime(
      testConfig({
        SEAL_PREFIX: prefix,
        CERTCENTRAL_API_KEY: KEY,
        CERTCENTRAL_BASE_URL: sim.baseUrl,
        SEAL_LIMITS: 'none',
      }),
      silentLogger(),
    );
    app = await buildDashboard(runtime, { token: TOKEN, readOnly: false });
    readOnly = await buildDashboard(runtime, { token: TOKEN, readOnly: true });
  });
  afterAll(async () => {
    await app.close();
    await readOnly.close();
    await dropPrefix(runtime.redis, prefix);
    await runtime.close();
    await sim.close();
  });

  it('answers /healthz without credentials', async () => {
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('answers 401 on every other route without a token or with a wrong one', async () => {
    for (const [method, url] of ROUTES) {
      for (const headers of [
        {},
        { authorization: 'Bearer wrong-token-0123456789' },
        { authorization: 'Basic eDp3cm9uZw==' },
      ]) {
        const res = await app.inject({ method: method as 'GET', url, headers });
        expect(res.statusCode, `${method} ${url}`).toBe(401);
        expect(res.json()).toEqual({
          errors: [{ code: 'unauthorized', message: 'a valid token is required' }],
        });
      }
    }
  });

  it('accepts the token as a bearer token or as a basic-auth password', async () => {
    const basic = `Basic ${Buffer.from(`anyone:${TOKEN}`).toString('base64')}`;
    expect(
      (await app.inject({ method: 'GET', url: '/api/batches', headers: bearer })).statusCode,
    ).toBe(200);
    expect(
      (await app.inject({ method: 'GET', url: '/api/batches', headers: { authorization: basic } }))
        .statusCode,
    ).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/queues', headers: bearer })).statusCode).toBe(
      200,
    );
  });

  it('starts a batch from a CSV body and returns its id and rejected rows', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/batches?batch=b1&source=issuance.csv',
      headers: { ...bearer, 'content-type': 'text/csv' },
      payload: CSV,
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({
      batchId: 'b1',
      rows: 5,
      queued: { throttled: 3, direct: 1 },
      rejected: 1,
      rejectedRows: [{ line: 4, reason: 'recipient "not-an-email" is not a valid email address' }],
    });
  });

  it('starts a batch from a multipart upload', async () => {
    const boundary = '----sealmail';
    const payload =
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="up.csv"\r\nContent-Type: text/csv\r\n\r\n` +
      `${CSV}\r\n--${boundary}--\r\n`;
    const res = await app.inject({
      method: 'POST',
      url: '/api/batches?batch=b2',
      headers: { ...bearer, 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload,
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ batchId: 'b2', rows: 5, rejected: 1 });
    const batch = await app.inject({ method: 'GET', url: '/api/batches/b2', headers: bearer });
    expect(batch.json()).toMatchObject({ id: 'b2', source: 'up.csv', total: 5 });
  });

  it('refuses a CSV over the upload limit with a 413, as a body or a multipart upload', async () => {
    const small = await buildDashboard(runtime, {
      token: TOKEN,
      readOnly: false,
      maxUploadBytes: 100,
    });
    try {
      const big = `order_id\n${Array.from({ length: 40 }, (_, i) => `${1_000 + i}\n`).join('')}`;
      expect(big.length).toBeGreaterThan(100);
      const boundary = '----sealmail';
      for (const [batch, headers, payload] of [
        ['big-body', { 'content-type': 'text/csv' }, big],
        [
          'big-upload',
          { 'content-type': `multipart/form-data; boundary=${boundary}` },
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\nContent-Type: text/csv\r\n\r\n${big}\r\n--${boundary}--\r\n`,
        ],
      ] as const) {
        const res = await small.inject({
          method: 'POST',
          url: `/api/batches?batch=${batch}`,
          headers: { ...bearer, ...headers },
          payload,
        });
        expect(res.statusCode, batch).toBe(413);
        expect(await runtime.store.get(batch)).toBeUndefined();
      }
    } finally {
      await small.close();
    }
  });

  it('refuses a CSV without an order column with a 400 and leaves no batch behind', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/batches?batch=bad',
      headers: { ...bearer, 'content-type': 'text/csv' },
      payload: 'name,email\nx,y@example.com\n',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0]).toMatchObject({
      code: 'invalid_csv',
      message: expect.stringMatching(/^no order id column/),
    });
    expect(
      (await app.inject({ method: 'GET', url: '/api/batches/bad', headers: bearer })).statusCode,
    ).toBe(404);
  });

  it('sends the batch, reports the right rows, and retries only the failed ones', async () => {
    sim.configure({ failRate: 1 });
    const workers = await startLaneWorkers(runtime, LANES);
    try {
      await waitForBatch(runtime, 'b1');
      // b2 holds the same orders: once it has failed too, nothing else can send them.
      await waitForBatch(runtime, 'b2');
      const report = await app.inject({
        method: 'GET',
        url: '/api/batches/b1/report.csv',
        headers: bearer,
      });
      expect(report.headers['content-type']).toContain('text/csv');
      const rows = parse(report.body, { columns: true }) as Record<string, string>[];
      expect(rows.map((r) => [r.line, r.order_id, r.status])).toEqual([
        ['2', '1', 'failed'],
        ['3', '2', 'failed'],
        ['4', '3', 'rejected'],
        ['5', '4', 'failed'],
        ['6', '9001', 'failed'],
      ]);

      sim.configure({ failRate: 0 });
      const retry = await app.inject({
        method: 'POST',
        url: '/api/batches/b1/retry',
        headers: bearer,
      });
      expect(retry.json()).toEqual({ batchId: 'b1', requeued: 4 });
      const batch = await waitForBatch(runtime, 'b1');
      expect(batch.counts).toMatchObject({ sent: 3, failed: 1, rejected: 1, pending: 0 });
      const deliveredBefore = sim.deliveries().length;
      expect(deliveredBefore).toBe(3);

      const again = await app.inject({
        method: 'POST',
        url: '/api/batches/b1/retry',
        headers: bearer,
      });
      expect(again.json()).toEqual({ batchId: 'b1', requeued: 1 });
      await waitForBatch(runtime, 'b1');
      expect(sim.deliveries()).toHaveLength(deliveredBefore);
    } finally {
      await workers.close();
    }
  });

  it('shows counts, pace, lanes, timeline and problems of a batch', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/batches/b1', headers: bearer });
    const body = res.json();
    expect(body).toMatchObject({ id: 'b1', state: 'done', progress: 1, etaSeconds: 0 });
    expect(body.lanes.throttled).toHaveProperty('effectiveRatePerSecond');
    expect(body.timeline.length).toBeGreaterThan(0);
    expect(body.problems.rows.map((p: { line: number }) => p.line)).toEqual([4, 6]);
    expect(body.problems).toMatchObject({ total: 2, next: null });
  });

  it('pages through every failed and rejected row, in line order', async () => {
    const rows = Array.from({ length: 250 }, (_, i) => `x${i},a${i}@example.com\n`);
    const created = await app.inject({
      method: 'POST',
      url: '/api/batches?batch=many',
      headers: { ...bearer, 'content-type': 'text/csv' },
      payload: `order_id,recipient_email\n${rows.join('')}`,
    });
    expect(created.statusCode).toBe(201);
    const lines: number[] = [];
    const pages: unknown[] = [];
    for (let after: number | null = 0; after !== null; ) {
      const res = await app.inject({
        method: 'GET',
        url: `/api/batches/many/problems?after=${after}&limit=100`,
        headers: bearer,
      });
      expect(res.statusCode).toBe(200);
      const page: { total: number; rows: { line: number }[]; next: number | null } = res.json();
      expect(page.total).toBe(250);
      lines.push(...page.rows.map((r) => r.line));
      pages.push(page.rows.length);
      after = page.next;
    }
    expect(pages).toEqual([100, 100, 50]);
    expect(lines).toEqual(Array.from({ length: 250 }, (_, i) => i + 2));
    for (const query of [
      'after=-1',
      'after=x',
      'after=',
      'after=1e3',
      'after=0x10',
      'limit=0',
      'limit=1001',
      'limit=2.5',
    ]) {
      const res = await app.inject({
        method: 'GET',
        url: `/api/batches/many/problems?${query}`,
        headers: bearer,
      });
      expect(res.statusCode, query).toBe(400);
    }
    const missing = await app.inject({
      method: 'GET',
      url: '/api/batches/nope/problems',
      headers: bearer,
    });
    expect(missing.statusCode).toBe(404);
  });

  it('exposes Prometheus metrics', async () => {
    const res = await app.inject({ method: 'GET', url: '/metrics', headers: bearer });
    expect(res.body).toContain('sealmail_seals_sent_total 3');
    // Order 9001 failed once per retry; the first pass failed all eight rows of b1 and b2 with 5xx.
    expect(res.body).toMatch(/sealmail_rows_failed_total\{code="not_found\|order"\} 2/);
    expect(res.body).toMatch(/sealmail_rows_failed_total\{code="internal_error"\} \d+/);
    expect(res.body).toMatch(/sealmail_queue_jobs\{lane="throttled",state="waiting"\} \d+/);
    expect(res.body).toContain('sealmail_effective_rate{lane="direct"} -1');
  });

  it('rejects every write in read-only mode, bull-board’s included', async () => {
    for (const [method, url] of ROUTES.filter(([m]) => m !== 'GET')) {
      const res = await readOnly.inject({ method: method as 'POST', url, headers: bearer });
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      expect(res.json().errors[0].code).toBe('read_only');
    }
    expect(
      (await readOnly.inject({ method: 'GET', url: '/api/batches/b1', headers: bearer }))
        .statusCode,
    ).toBe(200);
  });

  it('refuses cross-site writes that carry browser credentials', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/batches/b1/retry',
      headers: { ...bearer, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    expect(res.statusCode).toBe(403);
  });

  it('never lets a batch id from the URL reach another Redis key', async () => {
    for (const id of ['..%2F..%2Fx', 'b1%3Arows', 'b1:rows', '%00', 'a'.repeat(65), '*']) {
      const res = await app.inject({ method: 'GET', url: `/api/batches/${id}`, headers: bearer });
      expect(res.statusCode, id).toBe(404);
    }
    // The handler checks the id before any Redis call: a closed connection is never touched.
    const offline = {
      ...runtime,
      store: { get: () => Promise.reject(new Error('touched Redis')) },
    } as unknown as Runtime;
    expect((await getBatch(offline, 'x:y')).status).toBe(404);
  });
});
