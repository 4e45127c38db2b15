import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdaptivePolicy } from '../../src/limits/adaptive.js';
import { LaneLimiter } from '../../src/limits/lane-limiter.js';
import type { RollingWindow } from '../../src/limits/windows.js';
import { redisKeys } from '../../src/queue/keys.js';
import { RollingCounter } from '../../src/simulator/rolling-counter.js';
import { dropPrefix, testPrefix, testRedis } from '../helpers/redis.js';

const NEVER_ADAPT: AdaptivePolicy = { windowMs: 1_000, quietMs: 60_000, decrease: 0.5 };
const BACKOFF = { baseMs: 300, maxMs: 1_000 };

describe('LaneLimiter on Redis', () => {
  let redis: Redis;
  const prefixes: string[] = [];
  /** A limiter on a fresh prefix. */
  const limiter = (
    windows: RollingWindow[],
    adaptive = NEVER_ADAPT,
    lane: 'throttled' | 'direct' = 'throttled',
  ) => {
    const prefix = testPrefix('limiter');
    prefixes.push(prefix);
    const keys = redisKeys(prefix);
    return {
      keys,
      limiter: new LaneLimiter(redis, keys, lane, { windows, adaptive, backoff: BACKOFF }),
    };
  };
  beforeAll(() => {
    redis = testRedis();
  });
  afterAll(async () => {
    for (const prefix of prefixes) await dropPrefix(redis, prefix);
    redis.disconnect();
  });

  describe('rolling windows', () => {
    it('admits up to max per window and says how long until the next slot', async () => {
      const { limiter: l } = limiter([{ max: 3, windowMs: 400 }]);
      const results = [];
      for (let i = 0; i < 4; i++) results.push(await l.reserve(`m${i}`));
      expect(results.slice(0, 3).every((r) => r.granted)).toBe(true);
      const refused = results[3];
      expect(refused?.granted).toBe(false);
      if (refused && !refused.granted && 'waitMs' in refused) {
        expect(refused.waitMs).toBeGreaterThan(300);
        expect(refused.waitMs).toBeLessThanOrEqual(401);
        await sleep(refused.waitMs);
      }
      expect((await l.reserve('m4')).granted).toBe(true);
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
            const { limiter: l } = limiter(windows);
            const observed = new RollingCounter(windows);
            let admitted = 0;
            let turn = 0;
            // Four eager callers competing for slots, as workers would.
            await Promise.all(
              [0, 1, 2, 3].map(async () => {
                while (admitted < requests) {
                  const r = await l.reserve(`r${turn++}`);
                  if (r.granted) {
                    admitted++;
                    observed.record(r.at);
                  } else {
                    await sleep(Math.min('waitMs' in r ? r.waitMs : 0, 30));
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

    it('takes no slot for a row sent meanwhile', async () => {
      const { limiter: l, keys } = limiter([{ max: 5, windowMs: 1_000 }]);
      const marker = keys.sent(1 as never, undefined);
      expect((await l.reserve('a', marker)).granted).toBe(true);
      await redis.hset(marker.key, marker.field, Math.floor(Date.now() / 1000) - 1);
      expect((await l.reserve('expired', marker)).granted).toBe(true);
      await redis.hset(marker.key, marker.field, Math.floor(Date.now() / 1000) + 60);
      expect(await l.reserve('b', marker)).toEqual({ granted: false, alreadySent: true });
      expect((await l.reserve('c')).granted).toBe(true);
      expect(await redis.zcard(keys.laneLog('throttled'))).toBe(3);
    });

    it('re-stamps a settled request with the time its answer came back', async () => {
      const { limiter: l, keys } = limiter([{ max: 5, windowMs: 1_000 }]);
      await l.reserve('slow');
      const [, reservedAt] = await redis.zrange(keys.laneLog('throttled'), 0, -1, 'WITHSCORES');
      await sleep(30);
      await l.settle('slow');
      const [, answeredAt] = await redis.zrange(keys.laneLog('throttled'), 0, -1, 'WITHSCORES');
      expect(Number(answeredAt) - Number(reservedAt)).toBeGreaterThanOrEqual(29);
    });
  });

  describe('429 pauses', () => {
    it('pause the whole lane through BullMQ’s limiter key', async () => {
      const { limiter: l, keys } = limiter([]);
      expect(await l.pauseAfter429(undefined, 0)).toMatchObject({
        delayMs: 300,
        streak: 1,
        started: true,
      });
      const ttl = await redis.pttl(keys.bullLimiter('throttled'));
      expect(ttl).toBeGreaterThan(200);
      expect(ttl).toBeLessThanOrEqual(300);
    });

    it('do not escalate for 429s of requests already in flight when the pause began', async () => {
      const { limiter: l } = limiter([]);
      await l.pauseAfter429(undefined, 0);
      expect(await l.pauseAfter429(undefined, 0)).toMatchObject({ started: false, streak: 1 });
    });

    it('double per consecutive 429 up to the cap, honour Retry-After, and never shorten a hold', async () => {
      const { limiter: l, keys } = limiter([]);
      const state = keys.lane('throttled');
      const delays = [];
      for (let i = 0; i < 4; i++) {
        await redis.hset(state, 'pausedUntil', 0);
        delays.push((await l.pauseAfter429(undefined, 0)).delayMs);
      }
      expect(delays).toEqual([300, 600, 1_000, 1_000]);
      await redis.hset(state, 'pausedUntil', 0);
      expect((await l.pauseAfter429(2_500, 0)).delayMs).toBe(2_500);
      await l.hold(10);
      expect(await redis.pttl(keys.bullLimiter('throttled'))).toBeGreaterThan(2_000);
      expect((await l.stats()).rateLimited).toBe(5);
    });
  });

  describe('adaptation to a tighter, unknown throttle', () => {
    const adaptive: AdaptivePolicy = { windowMs: 1_000, quietMs: 300, decrease: 0.5 };

    it('cuts the rate to a share of what the last interval sent, then holds the lane to it', async () => {
      const { limiter: l, keys } = limiter([{ max: 100, windowMs: 1_000 }], adaptive);
      for (let i = 0; i < 20; i++) expect((await l.reserve(`a${i}`)).granted).toBe(true);
      const pause = await l.pauseAfter429(undefined, 0);
      expect(pause.adaptiveMax).toBe(10);
      // Nothing is admitted while the pause lasts, and this process knows how long it has left.
      const refused = await l.reserve('during-pause');
      expect(refused).toMatchObject({ granted: false });
      expect('waitMs' in refused && refused.waitMs).toBeGreaterThan(pause.delayMs - 100);
      expect(l.pausedFor()).toBeGreaterThan(pause.delayMs - 100);
      await redis.hset(keys.lane('throttled'), 'pausedUntil', 0);
      await redis.del(keys.laneLog('throttled'));
      let admitted = 0;
      for (let i = 0; i < 15; i++) if ((await l.reserve(`b${i}`)).granted) admitted++;
      expect(admitted).toBe(10);
      expect((await l.stats()).adaptive).toEqual({ max: 10, windowMs: 1_000 });
    });

    it('cuts again on the next pause, not on 429s of the same burst', async () => {
      const { limiter: l, keys } = limiter([{ max: 100, windowMs: 1_000 }], adaptive);
      for (let i = 0; i < 20; i++) await l.reserve(`a${i}`);
      await l.pauseAfter429(undefined, 0);
      expect((await l.pauseAfter429(undefined, 0)).adaptiveMax).toBe(10);
      await redis.hset(keys.lane('throttled'), 'pausedUntil', 0);
      expect((await l.pauseAfter429(undefined, 0)).adaptiveMax).toBe(5);
      expect((await l.stats()).cuts).toBe(2);
    });

    it('does not invent a limit from a lone 429', async () => {
      const { limiter: l } = limiter([{ max: 100, windowMs: 1_000 }], adaptive);
      await l.reserve('only');
      expect((await l.pauseAfter429(undefined, 0)).adaptiveMax).toBeUndefined();
    });

    it('grows back after quiet stretches and drops the adaptive window at the configured ceiling', async () => {
      const { limiter: l, keys } = limiter([{ max: 12, windowMs: 1_000 }], adaptive);
      await redis.hset(keys.lane('throttled'), 'adaptMax', 8, 'adaptAt', 0);
      await l.reserve('grow'); // long past: many quiet stretches, 8 → 9 → 10 → 11 → 12 = ceiling
      expect((await l.stats()).adaptive).toBeUndefined();
      const state = keys.lane('throttled');
      const [seconds, micros] = (await redis.time()).map(Number) as [number, number];
      const serverNow = seconds * 1000 + Math.floor(micros / 1000);
      await redis.hset(state, 'adaptMax', 5, 'adaptAt', serverNow - 650);
      await l.reserve('grow2'); // two quiet stretches: 5 → 6 → 7
      expect((await l.stats()).adaptive?.max).toBe(7);
    });
  });
});
