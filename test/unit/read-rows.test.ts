import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type ParsedRow, readRows } from '../../src/csv/read-rows.js';
import { recipientProblem } from '../../src/csv/row-schema.js';
import { UsageError } from '../../src/errors.js';

async function rowsOf(text: string | Buffer): Promise<ParsedRow[]> {
  const rows: ParsedRow[] = [];
  for await (const row of readRows(Readable.from([Buffer.from(text)]))) rows.push(row);
  return rows;
}

describe('readRows', () => {
  it('reads order ids and recipients with their line numbers', async () => {
    const rows = await rowsOf('order_id,recipient_email\n101,a@example.com\n102,\n');
    expect(rows).toEqual([
      { line: 2, kind: 'valid', row: { orderId: 101, recipient: 'a@example.com' } },
      { line: 3, kind: 'valid', row: { orderId: 102, recipient: undefined } },
    ]);
  });

  it("accepts CertCentral's order report as is: quoted values, extra columns, no recipient", async () => {
    const report =
      '"order_id","customer_order_id","date_created","container_id","container_name","status"\n' +
      '"5001","PO-1","2026-11-30 10:00:00","7","Main","issued"\n';
    const rows = await rowsOf(report);
    expect(rows).toEqual([
      { line: 2, kind: 'valid', row: { orderId: 5001, recipient: undefined } },
    ]);
  });

  it('handles a UTF-8 BOM, CRLF line ends and quoted fields with commas', async () => {
    const rows = await rowsOf('\uFEFFid,note,Recipient\r\n"7","a, b",b@example.org\r\n');
    expect(rows).toEqual([
      { line: 2, kind: 'valid', row: { orderId: 7, recipient: 'b@example.org' } },
    ]);
  });

  it.each([
    ['orderId,email', 'orderId'],
    ['order,recipient', 'order'],
    ['ID,RECIPIENT_EMAIL', 'ID'],
  ])('recognises the header %s', async (header) => {
    const rows = await rowsOf(`${header}\n9,x@example.com\n`);
    expect(rows[0]).toMatchObject({ kind: 'valid', row: { orderId: 9 } });
  });

  it('rejects bad rows with a reason and keeps reading the good ones', async () => {
    const rows = await rowsOf(
      'order_id,recipient\n1,ok@example.com\n-3,ok@example.com\n2,a@example.com;b@example.com\n3,\n',
    );
    expect(rows.map((r) => [r.line, r.kind])).toEqual([
      [2, 'valid'],
      [3, 'rejected'],
      [4, 'rejected'],
      [5, 'valid'],
    ]);
    expect(rows[1]).toMatchObject({ reason: expect.stringContaining('positive integer') });
    expect(rows[2]).toMatchObject({ reason: expect.stringContaining('not a list') });
  });

  it('rejects a row with an unclosed quote and still reads the rows before it', async () => {
    const rows = await rowsOf('order_id\n1\n"2\n');
    expect(rows[0]).toMatchObject({ line: 2, kind: 'valid' });
    expect(rows[1]).toMatchObject({
      kind: 'rejected',
      reason: expect.stringContaining('malformed CSV'),
    });
  });

  it('fails with one clear line when there is no order id column', async () => {
    await expect(rowsOf('name,email\nx,y@example.com\n')).rejects.toThrow(
      /no order id column: the header must name one of order_id, orderId, order, id/,
    );
  });

  it('fails clearly on an empty file and on a missing file', async () => {
    await expect(rowsOf('')).rejects.toBeInstanceOf(UsageError);
    const missing = (async () => {
      for await (const _ of readRows('/nonexistent/orders.csv')) {
        // drain
      }
    })();
    await expect(missing).rejects.toThrow('/nonexistent/orders.csv: no such file');
  });
});

describe('recipientProblem', () => {
  it('accepts one plain address', () => {
    expect(recipientProblem('first.last+tag@sub.example.co.uk')).toBeUndefined();
  });

  it.each([
    ['a@example.com,b@example.com', 'not a list'],
    ['a@example.com b@example.com', 'not a list'],
    ['a b@example.com', 'whitespace'],
    ['a@example.com\r\nBcc: x@example.com', 'control characters'],
    ['<script>@example.com', 'not a valid email'],
    ['no-at-sign', 'not a valid email'],
    [`${'a'.repeat(250)}@example.com`, 'longer than 254'],
  ])('rejects %j', (value, reason) => {
    expect(recipientProblem(value)).toContain(reason);
  });
});
