import type { RollingWindow } from './windows.js';

/**
 * How a lane adapts to a throttle tighter than its configured windows: on a 429 it adds (or
 * cuts) an adaptive window of `windowMs`, then grows it back after every quiet stretch.
 */
export interface AdaptivePolicy {
  /** Length of the adaptive window. @defaultValue 1000 */
  readonly windowMs: number;
  /** A stretch this long without a 429 raises the adaptive window by a tenth. @defaultValue 5000 */
  readonly quietMs: number;
  /** A 429 cuts the adaptive window to this share of what it allowed. @defaultValue 0.9 */
  readonly decrease: number;
}

/**
 * The most requests the configured windows let through in any interval of `windowMs`:
 * once the adaptive window has grown back to it, it no longer limits and is dropped.
 * Zero when there is no configured window (no ceiling).
 */
export function adaptiveCeiling(windows: readonly RollingWindow[], windowMs: number): number {
  if (windows.length === 0) return 0;
  return Math.min(
    ...windows.map((w) =>
      w.windowMs >= windowMs ? w.max : w.max * Math.ceil(windowMs / w.windowMs),
    ),
  );
}

/** Requests per second the tightest window allows in the long run. */
export function sustainedRate(windows: readonly RollingWindow[]): number {
  if (windows.length === 0) return Number.POSITIVE_INFINITY;
  return Math.min(...windows.map((w) => (w.max * 1000) / w.windowMs));
}
