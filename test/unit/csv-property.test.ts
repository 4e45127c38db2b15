import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ORDER_COLUMNS, RECIPIENT_COLUMNS } from '../../src/csv/columns.js';
import type { ParsedRow } from '../../src/csv/read-rows.js';
import { recipientProblem } from '../../src/csv/row-schema.js';
import { UsageError } from '../../src/errors.js';
import { type ReadOutcome, readAllRows } from '../helpers/read-rows.js';

/** A small input that takes longer than this to read counts as a hang. */
const HANG_MS = 2_000;

/** Cuts the bytes at the given points, so the parser also sees awkward chunk boundaries. */
function chunksOf(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  if (bytes.length === 0) return [];
  const points = [...new Set(cuts.map((c) => c % bytes.length))].filter((c) => c > 0);
  points.sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  return chunks;
}

/** Reads the bytes, cut into chunks at `cuts`, with readRows; fails on a hang. */
function read(bytes: Buffer, cuts: readonly number[] = []): Promise<ReadOutcome> {
  return readAllRows(
    Readable.from(chunksOf(bytes, cuts)),
    HANG_MS,
    JSON.stringify(bytes.toString()),
  );
}

function checkOutcome({ rows, error }: ReadOutcome): void {
  if (error !== undefined) {
    if (!(error instanceof UsageError)) throw error;
    expect(error.message).not.toMatch(/[\r\n]/);
  }
  for (const row of rows) {
    expect(Number.isInteger(row.line)).toBe(true);
    expect(row.line).toBeGreaterThanOrEqual(2);
    if (row.kind === 'rejected') {
      expect(row.reason.trim()).not.toBe('');
      continue;
    }
    const { orderId, recipient } = row.row;
    expect(Number.isSafeInteger(orderId)).toBe(true);
    expect(orderId).toBeGreaterThan(0);
    expect(String(orderId)).toMatch(/^[1-9][0-9]*$/);
    if (recipient !== undefined) expect(recipientProblem(recipient)).toBeUndefined();
  }
  // A valid row's line is its job id: never shared with another row.
  const validLines = rows.filter((r) => r.kind === 'valid').map((r) => r.line);
  const allLines = rows.map((r) => r.line);
  for (const line of validLines) {
    expect(allLines.filter((l) => l === line)).toHaveLength(1);
  }
}

// ---- headers ----

interface Header {
  readonly cells: string[];
  readonly order: number;
  readonly recipient: number | undefined;
}

const nameVariant = (name: string) =>
  fc.constantFrom(name, name.toUpperCase(), name.toLowerCase(), ` ${name} `);

const headerArb: fc.Arbitrary<Header> = fc
  .record({
    order: fc.constantFrom(...ORDER_COLUMNS).chain(nameVariant),
    recipient: fc.option(fc.constantFrom(...RECIPIENT_COLUMNS).chain(nameVariant), {
      nil: undefined,
    }),
    extras: fc.uniqueArray(
      fc.constantFrom('customer_order_id', 'status', 'note', 'date created', 'c1', 'container'),
      { maxLength: 3 },
    ),
  })
  .chain(({ order, recipient, extras }) => {
    const named = [
      { role: 'order', name: order },
      ...(recipient === undefined ? [] : [{ role: 'recipient', name: recipient }]),
      ...extras.map((name) => ({ role: 'extra', name })),
    ];
    return fc.shuffledSubarray(named, { minLength: named.length, maxLength: named.length });
  })
  .map((named) => {
    const recipient = named.findIndex((n) => n.role === 'recipient');
    return {
      cells: named.map((n) => n.name),
      order: named.findIndex((n) => n.role === 'order'),
      recipient: recipient < 0 ? undefined : recipient,
    };
  });

function escapeCell(cell: string, forceQuotes: boolean): string {
  return forceQuotes || /[",\r\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
}

const eolArb = fc.constantFrom('\n', '\r\n', '\r');

// ---- cells ----

const goodOrderArb = fc
  .record({
    id: fc.oneof(
      fc.integer({ min: 1, max: 1000 }),
      fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      fc.constant(Number.MAX_SAFE_INTEGER),
    ),
    zeros: fc.constantFrom('', '0', '000'),
    lead: fc.constantFrom('', ' ', '  '),
    trail: fc.constantFrom('', ' '),
  })
  .map(({ id, zeros, lead, trail }) => ({ cell: `${lead}${zeros}${id}${trail}`, orderId: id }));

const badOrderArb = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '0',
    '000',
    '-1',
    '+1',
    '1e3',
    '0x10',
    '1.0',
    '1.5',
    '1,000',
    '../../x',
    '18446744073709551616',
    '9007199254740992',
    '１２',
    '١٢',
    'NaN',
    'Infinity',
    '1 2',
    '"',
    '<script>alert(1)</script>',
    '\u0000',
    '1\u0000',
  ),
  fc.bigInt({ min: 2n ** 53n, max: 2n ** 80n }).map(String),
  fc.integer({ min: -1_000_000_000, max: 0 }).map(String),
  fc
    .tuple(
      fc.integer({ min: 1, max: 1_000_000 }),
      fc.constantFrom('.0', 'e2', 'x', '_1', '-', '/..'),
    )
    .map(([n, suffix]) => `${n}${suffix}`),
);

const goodEmailArb = fc
  .record({
    local: fc.stringMatching(/^[a-z0-9_+-]{1,12}(\.[a-z0-9]{1,5})?$/),
    labels: fc.array(fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/), {
      minLength: 1,
      maxLength: 3,
    }),
    tld: fc.stringMatching(/^[a-z]{2,6}$/),
    upper: fc.boolean(),
  })
  .map(({ local, labels, tld, upper }) => {
    const address = `${local}@${labels.join('.')}.${tld}`;
    return upper ? address.toUpperCase() : address;
  });

/** A recipient cell the rules accept, with the value it must come out as. */
const goodRecipientArb = fc.oneof(
  fc
    .tuple(goodEmailArb, fc.constantFrom('', ' ', '  '), fc.constantFrom('', ' '))
    .map(([address, lead, trail]) => ({ cell: `${lead}${address}${trail}`, value: address })),
  fc.constantFrom('', ' ', '   ').map((cell) => ({ cell, value: undefined })),
);

const badRecipientArb = fc.oneof(
  fc.constantFrom(
    'a@example.com,b@example.com',
    'a@example.com;b@example.com',
    'a@example.com b@example.com',
    'a b@example.com',
    'a@example.com\tb',
    'a\u0000@example.com',
    '<script>alert(1)</script>',
    'no-at-sign',
    'a@b@example.com',
    'a@example',
    '@example.com',
    'a@.com',
    'a@example.c',
    'ｕ@example.com',
    'a@example.com\u2028',
    '"a"@example.com',
    'a@example.com\u00a0',
    // Quoted line breaks: the row then spans lines and is numbered by the line it ends on.
    'a@example.com\nBcc: b@example.com',
    '\nuser@example.com',
    'user@example.com\n',
  ),
  goodEmailArb.map((address) => `${'x'.repeat(255)}${address}`),
  fc.tuple(goodEmailArb, goodEmailArb).map(([a, b]) => `${a},${b}`),
  fc.tuple(goodEmailArb, goodEmailArb).map(([a, b]) => `${a}; ${b}`),
);

const extraCellArb = fc.string({
  unit: fc.constantFrom('a', 'Z', ' ', ',', '"', ';', '1', 'é', '\u0000', '@'),
  maxLength: 8,
});

type RowSpec =
  | { readonly kind: 'blank' }
  | {
      readonly kind: 'row';
      readonly orderCell: string;
      /** Undefined when the order cell is bad. */
      readonly orderId: number | undefined;
      readonly recipientCell: string;
      readonly recipientOk: boolean;
      readonly recipient: string | undefined;
      readonly extras: string[];
      readonly quote: boolean;
    };

const rowArb: fc.Arbitrary<RowSpec> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ kind: 'blank' } as const) },
  {
    weight: 8,
    arbitrary: fc
      .record({
        order: fc.oneof(
          { weight: 3, arbitrary: goodOrderArb },
          { weight: 1, arbitrary: badOrderArb.map((cell) => ({ cell, orderId: undefined })) },
        ),
        recipient: fc.oneof(
          { weight: 3, arbitrary: goodRecipientArb.map((r) => ({ ...r, ok: true })) },
          {
            weight: 1,
            arbitrary: badRecipientArb.map((cell) => ({ cell, value: undefined, ok: false })),
          },
        ),
        extras: fc.array(extraCellArb, { maxLength: 4 }),
        quote: fc.boolean(),
      })
      .map(({ order, recipient, extras, quote }) => ({
        kind: 'row' as const,
        orderCell: order.cell,
        orderId: order.orderId,
        recipientCell: recipient.cell,
        recipientOk: recipient.ok,
        recipient: recipient.value,
        extras,
        quote,
      })),
  },
);

function rowText(header: Header, spec: RowSpec): string {
  if (spec.kind === 'blank') return '';
  const cells = header.cells.map((_, i) => spec.extras[i % Math.max(spec.extras.length, 1)] ?? '');
  cells[header.order] = spec.orderCell;
  if (header.recipient !== undefined) cells[header.recipient] = spec.recipientCell;
  return cells.map((cell) => escapeCell(cell, spec.quote)).join(',');
}

type Expected =
  | { line: number; kind: 'valid'; orderId: number; recipient: string | undefined }
  | { line: number; kind: 'rejected' };

/** What the documented rules say each line of a file built from these rows must give. */
function expectedRows(header: Header, rows: readonly RowSpec[]): Expected[] {
  let next = 2; // the line the next row starts on
  return rows.flatMap((spec): Expected[] => {
    const text = rowText(header, spec);
    // Only LF appears inside a cell here (see badRecipientArb): one more line per LF.
    const line = next + (text.match(/\n/g)?.length ?? 0);
    next = line + 1;
    if (spec.kind === 'blank' || text === '') return []; // an empty line is skipped
    const recipientOk = header.recipient === undefined || spec.recipientOk;
    if (spec.orderId === undefined || !recipientOk) return [{ line, kind: 'rejected' }];
    return [
      {
        line,
        kind: 'valid',
        orderId: spec.orderId,
        recipient: header.recipient === undefined ? undefined : spec.recipient,
      },
    ];
  });
}

function summary(rows: readonly ParsedRow[]) {
  return rows.map((row) =>
    row.kind === 'valid'
      ? { line: row.line, kind: row.kind, orderId: row.row.orderId, recipient: row.row.recipient }
      : { line: row.line, kind: row.kind },
  );
}

const cutsArb = fc.array(fc.nat(), { maxLength: 6 });

// Characters that trouble CSV parsers and validators, mixed with anything at all.
const nastyUnit = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '"',
      ',',
      '\r',
      '\n',
      '\r\n',
      '\u0000',
      ';',
      ' ',
      '\t',
      '@',
      '\uFEFF',
      '\u2028',
      '\u202e',
      '\u00a0',
      '１',
      '٣',
      '-',
      'e',
      'x',
      '.',
    ),
  },
  { weight: 3, arbitrary: fc.constantFrom(...'0123456789') },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);

describe('readRows on arbitrary CSV-ish input (fast-check)', () => {
  it('never throws anything but a one-line UsageError, never hangs, yields only sound rows', async () => {
    await fc.assert(
      fc.asyncProperty(
        headerArb,
        fc.boolean(),
        eolArb,
        fc.array(
          fc.oneof(
            fc.string({ unit: nastyUnit, maxLength: 60 }),
            rowArb.map((spec) => ({ spec })),
          ),
          { maxLength: 12 },
        ),
        fc.array(eolArb, { minLength: 12, maxLength: 12 }),
        cutsArb,
        async (header, quoteHeader, headerEol, body, eols, cuts) => {
          const lines = body.map((item) =>
            typeof item === 'string' ? item : rowText(header, item.spec),
          );
          const text =
            header.cells.map((cell) => escapeCell(cell, quoteHeader)).join(',') +
            headerEol +
            lines.map((line, i) => line + (eols[i] ?? '\n')).join('');
          checkOutcome(await read(Buffer.from(text), cuts));
        },
      ),
      { numRuns: 800 },
    );
  });

  it('survives arbitrary bytes after a valid header, and arbitrary bytes alone', async () => {
    await fc.assert(
      fc.asyncProperty(
        headerArb,
        fc.boolean(),
        fc.uint8Array({ maxLength: 400 }),
        cutsArb,
        async (header, withHeader, noise, cuts) => {
          const bytes = Buffer.concat([
            Buffer.from(withHeader ? `${header.cells.join(',')}\n` : ''),
            Buffer.from(noise),
          ]);
          checkOutcome(await read(bytes, cuts));
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('readRows on files built from known rows (fast-check)', () => {
  it('gives every good row as valid, on its own line, and every bad row as rejected', async () => {
    await fc.assert(
      fc.asyncProperty(
        headerArb,
        fc.boolean(),
        fc.boolean(),
        eolArb,
        fc.array(rowArb, { maxLength: 15 }),
        fc.boolean(),
        cutsArb,
        async (header, bom, quoteHeader, eol, rows, finalEol, cuts) => {
          const body = rows.map((spec) => rowText(header, spec));
          const text =
            (bom ? '\uFEFF' : '') +
            header.cells.map((cell) => escapeCell(cell, quoteHeader)).join(',') +
            (rows.length > 0 || finalEol ? eol : '') +
            body.join(eol) +
            (rows.length > 0 && finalEol ? eol : '');
          const outcome = await read(Buffer.from(text), cuts);
          if (outcome.error !== undefined) throw outcome.error;
          checkOutcome(outcome);
          expect(summary(outcome.rows)).toEqual(expectedRows(header, rows));
        },
      ),
      { numRuns: 800 },
    );
  });
});
