import { describe, expect, it } from 'vitest';
import { formatWindows, parseWindows, withMargin } from '../../src/limits/windows.js';

describe('parseWindows', () => {
  it("reads CertCentral's documented limits", () => {
    expect(parseWindows('100/5s,1000/3m')).toEqual([
      { max: 100, windowMs: 5_000 },
      { max: 1000, windowMs: 180_000 },
    ]);
  });

  it('reads every unit, a bare unit and spaces', () => {
    expect(parseWindows(' 10/500ms , 5/s, 2/1h ')).toEqual([
      { max: 10, windowMs: 500 },
      { max: 5, windowMs: 1_000 },
      { max: 2, windowMs: 3_600_000 },
    ]);
    expect(parseWindows('none')).toEqual([]);
    expect(parseWindows('')).toEqual([]);
  });

  it.each(['100', '100/5', '0/5s', 'x/5s', '100/5d', '100/0s'])('rejects %j', (text) => {
    expect(() => parseWindows(text)).toThrow();
  });

  it('round-trips through formatWindows', () => {
    expect(formatWindows(parseWindows('100/5s,1000/3m,7/250ms'))).toBe('100/5s,1000/3m,7/250ms');
  });

  it('keeps a margin free but never goes below one request', () => {
    expect(withMargin(parseWindows('100/5s,1/1s'), 0.02)).toEqual([
      { max: 98, windowMs: 5_000 },
      { max: 1, windowMs: 1_000 },
    ]);
  });
});
