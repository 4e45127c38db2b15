import type { RollingWindow } from './windows.js';

/**
 * The greedy schedule: each request as early as every window allows (request i waits for
 * request i - max of each window to leave it). Returns the time, from the first request, at
 * which the last of `requests` can start: the least drain time any client can reach.
 */
export function idealDrainMs(windows: readonly RollingWindow[], requests: number): number {
  if (requests <= 0 || windows.length === 0) return 0;
  const times = new Float64Array(requests);
  for (let i = 0; i < requests; i++) {
    let t = i > 0 ? (times[i - 1] as number) : 0;
    for (const w of windows) {
      if (i >= w.max) t = Math.max(t, (times[i - w.max] as number) + w.windowMs);
    }
    times[i] = t;
  }
  return times[requests - 1] as number;
}
