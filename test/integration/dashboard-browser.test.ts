import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboard } from '../../src/dashboard/server.js';
import { silentLogger } from '../../src/logger.js';
import { type LaneWorkers, startLaneWorkers } from '../../src/queue/lane-workers.js';
import { LANES } from '../../src/queue/lanes.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { type Simulator, startSimulator } from '../../src/simulator/server.js';
import { dropPrefix, testConfig, testPrefix } from '../helpers/redis.js';

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'browser-test-token-0123456789';
const KEY = 'browser-test-key';
const SCREENSHOT = fileURLToPath(new URL('../../docs/dashboard.png', import.meta.url));
const RUNNING = fileURLToPath(new URL('../../docs/dashboard-running.png', import.meta.url));

describe('the batch page in a real browser', () => {
  let sim: Simulator;
  let runtime: Runtime;
  let app: FastifyInstance;
  let workers: LaneWorkers;
  let browser: Browser;
  let base: string;
  const prefix = testPrefix('browser');

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does it)`);
    }
    sim = await startSimulator({ apiKey: KEY, orders: { has: (id) => id < 9000, text: '1-8999' } });
    runtime = await openRuntime(
      testConfig({
        SEAL_PREFIX: prefix,
        CERTCENTRAL_API_KEY: KEY,
        CERTCENTRAL_BASE_URL: sim.baseUrl,
        // Slow enough to watch: 48 rows at 6 per second.
        SEAL_LIMITS: '6/1s',
        SEAL_DIRECT_LIMITS: '6/1s',
      }),
      silentLogger(),
    );
    app = await buildDashboard(runtime, { token: TOKEN, readOnly: false });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    workers = await startLaneWorkers(runtime, LANES);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await workers?.close();
    await app?.close();
    if (runtime) {
      await dropPrefix(runtime.redis, prefix);
      await runtime.close();
    }
    await sim?.close();
  });

  it('refuses the page without credentials', async () => {
    const context = await browser.newContext();
    const response = await context.request.get(`${base}/batches`);
    expect(response.status()).toBe(401);
    expect(response.headers()['www-authenticate']).toContain('Basic');
    await context.close();
  });

  it('logs in, watches a batch started through the API move, and sees it finish', async () => {
    const lines = ['order_id,recipient_email'];
    for (let id = 1; id <= 48; id++) lines.push(`${id},${id % 4 ? `buyer${id}@example.com` : ''}`);
    lines.push('x12,bad@example.com', '9001,ghost@example.com');
    const created = await fetch(`${base}/api/batches?batch=browser-1&source=issuance.csv`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/csv' },
      body: `${lines.join('\n')}\n`,
    });
    expect(created.status).toBe(201);

    const context = await browser.newContext({
      httpCredentials: { username: 'ops', password: TOKEN },
      viewport: { width: 1100, height: 900 },
    });
    const page = await context.newPage();
    await page.goto(`${base}/batches/browser-1`);
    await expect.poll(() => page.textContent('#batch-id')).toBe('browser-1');
    const sentAtFirst = Number(await page.textContent('#count-sent'));
    // The page refreshes itself: the count moves without a reload.
    await expect
      .poll(async () => Number(await page.textContent('#count-sent')), { timeout: 20_000 })
      .toBeGreaterThan(sentAtFirst);
    await page.screenshot({ path: RUNNING, fullPage: true });
    await expect
      .poll(() => page.textContent('#state'), { timeout: 45_000, interval: 500 })
      .toBe('done');

    expect(await page.textContent('#count-sent')).toBe('48');
    expect(await page.textContent('#count-failed')).toBe('1');
    expect(await page.textContent('#count-rejected')).toBe('1');
    const problems = await page.$$eval('#problems tr', (rows) => rows.map((r) => r.textContent));
    expect(problems).toHaveLength(2);
    expect(problems.join(' ')).toContain('not_found|order');
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    const href = await page.getAttribute('#report', 'href');
    const download = await (await context.request.get(`${base}${href}`)).text();
    expect(download.trim().split('\n')).toHaveLength(51);

    await page.goto(`${base}/batches`);
    await expect.poll(() => page.textContent('#batches')).toContain('browser-1');
    await context.close();
  });

  it('pages through the failed and rejected rows', async () => {
    const rows = Array.from({ length: 150 }, (_, i) => `bad${i},r${i}@example.com`);
    const created = await fetch(`${base}/api/batches?batch=browser-pages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/csv' },
      body: `order_id,recipient_email\n${rows.join('\n')}\n`,
    });
    expect(created.status).toBe(201);
    const context = await browser.newContext({
      httpCredentials: { username: 'ops', password: TOKEN },
    });
    const page = await context.newPage();
    await page.goto(`${base}/batches/browser-pages`);
    await expect.poll(() => page.textContent('#problems-total')).toBe('(150)');
    const firstLines = () =>
      page.$$eval('#problems tr td:first-child', (c) => c.map((td) => td.textContent));
    expect(await page.textContent('#problems-range')).toBe('lines 2–101 (100 of 150)');
    expect(await firstLines()).toHaveLength(100);
    expect(await page.isDisabled('#problems-first')).toBe(true);

    await page.click('#problems-next');
    await expect.poll(() => page.textContent('#problems-range')).toBe('lines 102–151 (50 of 150)');
    expect(await firstLines()).toHaveLength(50);
    expect(await page.isDisabled('#problems-next')).toBe(true);

    await page.click('#problems-first');
    await expect.poll(() => page.textContent('#problems-range')).toBe('lines 2–101 (100 of 150)');
    await context.close();
  });
});
