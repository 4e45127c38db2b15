export interface BackoffOptions {
  readonly baseMs: number;
  readonly maxMs: number;
}

/** Share of the delay added at random, so workers that failed together come back apart. */
export const JITTER = 0.25;

/**
 * Exponential backoff with jitter: the n-th consecutive failure (n >= 1) waits
 * base * 2^(n-1) plus up to 25% at random, never more than max.
 * The lane-pause script (lane-state.ts) computes the same formula inside Redis.
 *
 * @param random - a number in [0, 1), injectable for tests
 */
export function backoffDelay(
  n: number,
  options: BackoffOptions,
  random: number = Math.random(),
): number {
  const exponent = Math.max(0, Math.min(n - 1, 52));
  const delay = options.baseMs * 2 ** exponent * (1 + JITTER * random);
  return Math.round(Math.min(options.maxMs, delay));
}
