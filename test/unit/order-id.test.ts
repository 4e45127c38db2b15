import { describe, expect, it } from 'vitest';
import { assertOrderId, parseOrderId } from '../../src/order-id.js';

describe('parseOrderId', () => {
  it.each([
    ['1', 1],
    ['123456', 123456],
    [' 42 ', 42],
    ['007', 7],
    ['9007199254740991', 9007199254740991],
  ])('accepts %j as %d', (raw, expected) => {
    expect(parseOrderId(raw)).toEqual({ ok: true, orderId: expected });
  });

  it.each([
    '',
    '0',
    '-1',
    '+5',
    '1e3',
    '0x10',
    '1.5',
    '1,000',
    '../../x',
    '18446744073709551616',
    '9007199254740992',
    '１２',
  ])('rejects %j', (raw) => {
    const parsed = parseOrderId(raw);
    expect(parsed.ok).toBe(false);
  });

  it('refuses anything but a positive safe integer at the URL edge', () => {
    expect(assertOrderId(5)).toBe(5);
    for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 60]) {
      expect(() => assertOrderId(bad)).toThrow(TypeError);
    }
  });
});
