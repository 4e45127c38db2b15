/** One rolling window: at most `max` requests in any interval of `windowMs` milliseconds. */
export interface RollingWindow {
  readonly max: number;
  readonly windowMs: number;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const WINDOW = /^(\d+)\s*\/\s*(\d+(?:\.\d+)?)?\s*(ms|s|m|h)$/;

/**
 * Parses a limits list such as `100/5s,1000/3m` (units ms, s, m, h; a bare unit means 1).
 * An empty string or `none` means no limits.
 */
export function parseWindows(text: string): RollingWindow[] {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed.toLowerCase() === 'none') return [];
  return trimmed.split(',').map((part) => {
    const match = WINDOW.exec(part.trim());
    if (!match) {
      throw new Error(`"${part.trim()}" is not a window; write it as MAX/DURATION, e.g. 100/5s`);
    }
    const [, maxText = '', amountText, unit = 's'] = match;
    const max = Number(maxText);
    const windowMs = Math.round(Number(amountText ?? '1') * (UNIT_MS[unit] ?? 1));
    if (max < 1) throw new Error(`"${part.trim()}": the maximum must be at least 1`);
    if (windowMs < 1) throw new Error(`"${part.trim()}": the duration must be at least 1ms`);
    return { max, windowMs };
  });
}

export function formatWindows(windows: readonly RollingWindow[]): string {
  if (windows.length === 0) return 'none';
  return windows.map((w) => `${w.max}/${formatDuration(w.windowMs)}`).join(',');
}

function formatDuration(ms: number): string {
  for (const unit of ['h', 'm', 's'] as const) {
    const size = UNIT_MS[unit] ?? 1;
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** Applies a safety margin (a fraction kept free), never going below one request per window. */
export function withMargin(windows: readonly RollingWindow[], margin: number): RollingWindow[] {
  return windows.map((w) => ({ ...w, max: Math.max(1, Math.floor(w.max * (1 - margin))) }));
}
