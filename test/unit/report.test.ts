import { describe, expect, it } from 'vitest';
import { csvCell, reportLine } from '../../src/batches/report.js';
import { decodeRow, encodeRow } from '../../src/batches/row-record.js';

describe('report cells', () => {
  it('defuses cells a spreadsheet would run as formulas', () => {
    expect(csvCell('=HYPERLINK("x")')).toBe('"\'=HYPERLINK(""x"")"');
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('-1')).toBe("'-1");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('plain')).toBe('plain');
  });

  it('quotes commas, quotes and line breaks', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('a\nb')).toBe('"a\nb"');
  });

  it('writes a failed row with its CertCentral error', () => {
    const line = reportLine({
      line: 7,
      status: 'failed',
      orderId: '123',
      recipient: 'a@example.com',
      httpStatus: 404,
      errorCode: 'not_found|order',
      errorMessage: 'Order not found.',
      attempts: 1,
      finishedAt: Date.parse('2026-12-03T10:00:00Z'),
    });
    expect(line).toBe(
      '7,123,a@example.com,failed,404,not_found|order,Order not found.,1,2026-12-03T10:00:00.000Z',
    );
  });
});

describe('row records', () => {
  it('survive encoding', () => {
    const row = {
      line: 3,
      status: 'sent' as const,
      orderId: '9',
      recipient: 'x@example.com',
      httpStatus: 204,
      attempts: 2,
      finishedAt: 1_700_000_000_000,
    };
    expect(encodeRow(row)).toBe('s["9","x@example.com",2,1700000000]');
    expect(decodeRow(3, encodeRow(row))).toEqual({
      ...row,
      errorCode: undefined,
      errorMessage: undefined,
    });
  });
});
