import { describe, expect, it } from 'vitest';
import { SeenRows } from '../../src/csv/seen-rows.js';

describe('SeenRows', () => {
  it('answers the first line of a repeated identity and nothing for a new one', () => {
    const seen = new SeenRows();
    expect(seen.firstLine('1|a@example.com', 2)).toBeUndefined();
    expect(seen.firstLine('2|', 3)).toBeUndefined();
    expect(seen.firstLine('1|a@example.com', 4)).toBe(2);
    expect(seen.firstLine('1|a@example.com', 9)).toBe(2);
    expect(seen.firstLine('1|b@example.com', 5)).toBeUndefined();
    expect(seen.size).toBe(3);
  });

  it('keeps every identity apart while it grows far past its first capacity', () => {
    const seen = new SeenRows(16);
    for (let i = 0; i < 200_000; i++)
      expect(seen.firstLine(`${i}|u${i}@example.com`, i + 2)).toBeUndefined();
    for (let i = 0; i < 200_000; i += 997)
      expect(seen.firstLine(`${i}|u${i}@example.com`, 1)).toBe(i + 2);
    expect(seen.firstLine('200000|u200000@example.com', 5)).toBeUndefined();
    expect(seen.size).toBe(200_001);
  });
});
