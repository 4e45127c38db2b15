import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/limits/backoff.js';

const opts = { baseMs: 5_000, maxMs: 300_000 };

describe('backoffDelay', () => {
  it('doubles per consecutive failure from the base', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, opts, 0))).toEqual([
      5_000, 10_000, 20_000, 40_000,
    ]);
  });

  it('adds up to 25% jitter and never exceeds the cap', () => {
    expect(backoffDelay(1, opts, 0.999)).toBeGreaterThan(6_200);
    expect(backoffDelay(1, opts, 0.999)).toBeLessThanOrEqual(6_250);
    expect(backoffDelay(7, opts, 0)).toBe(300_000);
    expect(backoffDelay(60, opts, 0.5)).toBe(300_000);
  });
});
