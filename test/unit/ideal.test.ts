import { describe, expect, it } from 'vitest';
import { idealDrainMs } from '../../src/limits/ideal.js';
import { parseWindows } from '../../src/limits/windows.js';

describe('idealDrainMs', () => {
  it('bursts at the short window until the long window is full, then waits for it', () => {
    expect(idealDrainMs(parseWindows('100/500ms,1000/18s'), 2_000)).toBe(22_500);
  });

  it('settles at the tightest rate', () => {
    expect(idealDrainMs(parseWindows('100/500ms,1000/18s,30/1s'), 2_000)).toBe(66_000);
    expect(idealDrainMs(parseWindows('10/1s'), 10)).toBe(0);
    expect(idealDrainMs(parseWindows('10/1s'), 11)).toBe(1_000);
  });
});
