import type { RollingWindow } from '../limits/windows.js';

/**
 * Strict rolling-window admission, as a server counts: a request is admitted when, for every
 * window, fewer than `max` admitted requests arrived in the last `windowMs` milliseconds.
 * Also tracks the most requests any rolling interval of each window's length has seen.
 */
export class RollingCounter {
  private readonly times: number[][];
  private readonly heads: number[];
  private readonly peaks: number[];

  constructor(readonly windows: readonly RollingWindow[]) {
    this.times = windows.map(() => []);
    this.heads = windows.map(() => 0);
    this.peaks = windows.map(() => 0);
  }

  /** Admits and counts a request at `now`, or refuses it without counting it. */
  tryAdmit(now: number): boolean {
    for (let i = 0; i < this.windows.length; i++) {
      if (this.countSince(i, now) >= (this.windows[i] as RollingWindow).max) return false;
    }
    this.record(now);
    return true;
  }

  /** Counts a request without checking the limits (to observe a client's own pacing). */
  record(now: number): void {
    for (let i = 0; i < this.windows.length; i++) {
      const times = this.times[i] as number[];
      times.push(now);
      this.peaks[i] = Math.max(this.peaks[i] as number, this.countSince(i, now));
    }
  }

  /** The highest count seen in any rolling interval, per window. */
  peak(): { window: RollingWindow; peak: number }[] {
    return this.windows.map((window, i) => ({ window, peak: this.peaks[i] as number }));
  }

  private countSince(i: number, now: number): number {
    const times = this.times[i] as number[];
    const windowMs = (this.windows[i] as RollingWindow).windowMs;
    let head = this.heads[i] as number;
    while (head < times.length && (times[head] as number) <= now - windowMs) head++;
    if (head > 4096 && head * 2 > times.length) {
      times.splice(0, head);
      head = 0;
    }
    this.heads[i] = head;
    return times.length - head;
  }
}
