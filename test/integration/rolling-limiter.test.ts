import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RollingLimiter } from '../../src/limits/rolling-limiter.js';
import type { RollingWindow } from '../../src/limits/windows.js';
import { RollingCounter } from '../../src/simulator/rolling-counter.js';
import { dropPrefix, testPrefix, testRedis } from '../helpers/redis.js';

describe('RollingLimiter on Redis', () => {
  let redis: Redis;
  const prefix = testPrefix('limiter');
  beforeAll(() => {
    redis = testRedis();
  });
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    redis.disconnect();
  });

  it('admits up to max per window and says how long until the next slot', async () => {
    const limiter = new RollingLimiter(redis, `${prefix}:a`);
    const windows = [{ max: 3, windowMs: 400 }];
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await limiter.reserve(`m${i}`, windows));
    expect(results.slice(0, 3).every((r) => r.granted)).toBe(true);
    const refused = results[3];
    expect(refused?.granted).toBe(false);
    if (refused && !refused.granted) {
      expect(refused.waitMs).toBeGreaterThan(300);
      expect(refused.waitMs).toBeLessThanOrEqual(401);
      await sleep(refused.waitMs);
    }
    expect((await limiter.reserve('m4', windows)).granted).toBe(true);
  });

  it('never lets any rolling interval see more than max, for random window sets', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            max: fc.integer({ min: 1, max: 6 }),
            windowMs: fc.integer({ min: 20, max: 150 }),
          }),
          { minLength: 1, maxLength: 3 },
        ),
        fc.integer({ min: 5, max: 25 }),
        async (windows: RollingWindow[], requests: number) => {
          const limiter = new RollingLimiter(redis, `${prefix}:p:${Math.random()}`);
          const observed = new RollingCounter(windows);
          let admitted = 0;
          let turn = 0;
          // Four eager callers competing for slots, as workers would.
          await Promise.all(
            [0, 1, 2, 3].map(async () => {
              while (admitted < requests) {
                const r = await limiter.reserve(`r${turn++}`, windows);
                if (r.granted) {
                  admitted++;
                  observed.record(r.at);
                } else {
                  await sleep(Math.min(r.waitMs, 30));
                }
              }
            }),
          );
          for (const { window, peak } of observed.peak())
            expect(peak).toBeLessThanOrEqual(window.max);
        },
      ),
      { numRuns: 12 },
    );
  });
});
