import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LaneState } from '../../src/limits/lane-state.js';
import { redisKeys } from '../../src/queue/keys.js';
import { dropPrefix, testPrefix, testRedis } from '../helpers/redis.js';

describe('LaneState', () => {
  let redis: Redis;
  const prefix = testPrefix('lane');
  const keys = redisKeys(prefix);
  const backoff = { baseMs: 300, maxMs: 1_000 };
  beforeAll(() => {
    redis = testRedis();
  });
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    redis.disconnect();
  });

  it('pauses the whole lane on a 429 through BullMQ’s limiter key', async () => {
    const lane = new LaneState(redis, keys, 'throttled');
    const first = await lane.pauseAfter429(undefined, backoff, 0);
    expect(first).toEqual({ delayMs: 300, streak: 1, started: true });
    const ttl = await redis.pttl(keys.bullLimiter('throttled'));
    expect(ttl).toBeGreaterThan(200);
    expect(ttl).toBeLessThanOrEqual(300);
  });

  it('does not escalate for 429s of requests already in flight when the pause began', async () => {
    const lane = new LaneState(redis, keys, 'throttled');
    const again = await lane.pauseAfter429(undefined, backoff, 0);
    expect(again.started).toBe(false);
    expect(again.streak).toBe(1);
  });

  it('doubles the pause per consecutive 429, up to the cap, and resets after a success', async () => {
    const lane = new LaneState(redis, keys, 'direct');
    const delays = [];
    for (let i = 0; i < 4; i++) {
      await redis.hset(keys.lane('direct'), 'pausedUntil', 0);
      delays.push((await lane.pauseAfter429(undefined, backoff, 0)).delayMs);
    }
    expect(delays).toEqual([300, 600, 1_000, 1_000]);
    await lane.recordSuccess();
    await redis.hset(keys.lane('direct'), 'pausedUntil', 0);
    expect((await lane.pauseAfter429(undefined, backoff, 0)).delayMs).toBe(300);
    expect((await lane.stats()).rateLimited).toBe(5);
  });

  it('honours Retry-After when CertCentral sends one', async () => {
    const lane = new LaneState(redis, keys, 'direct');
    await redis.hset(keys.lane('direct'), 'pausedUntil', 0);
    expect((await lane.pauseAfter429(2_500, backoff, 0)).delayMs).toBe(2_500);
  });

  it('never shortens a longer hold', async () => {
    const lane = new LaneState(redis, keys, 'throttled');
    await lane.hold(5_000);
    await lane.hold(10);
    expect(await redis.pttl(keys.bullLimiter('throttled'))).toBeGreaterThan(4_000);
  });
});
