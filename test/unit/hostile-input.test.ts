import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_RECORD_BYTES, type ParsedRow } from '../../src/csv/read-rows.js';
import { recipientProblem } from '../../src/csv/row-schema.js';
import { UsageError } from '../../src/errors.js';
import { type PlannedRow, planRows } from '../../src/queue/producer.js';
import { type ReadOutcome, readAllRows } from '../helpers/read-rows.js';

/**
 * The hostile corpus: test/fixtures/hostile/*.csv, written by test/fixtures/make-hostile.mjs
 * together with EXPECTED.json. Regenerate with `node test/fixtures/make-hostile.mjs`.
 */
const HOSTILE = fileURLToPath(new URL('../fixtures/hostile/', import.meta.url));

type Expectation =
  | { fatal: string; note?: string }
  | {
      valid: number[];
      rejected: number[];
      /** Order ids of the valid rows, in line order. */
      orderIds?: number[];
      /** Recipients of the valid rows, in line order; null is "no recipient". */
      recipients?: (string | null)[];
      note?: string;
    };

const EXPECTED: Record<string, Expectation> = JSON.parse(
  readFileSync(join(HOSTILE, 'EXPECTED.json'), 'utf8'),
);
const FILES = readdirSync(HOSTILE)
  .filter((name) => name.endsWith('.csv'))
  .sort();

/** Long enough for a 10 MB file, short enough that a hang fails instead of stalling the run. */
const HANG_MS = 20_000;

function drain(path: string): Promise<ReadOutcome> {
  return readAllRows(path, HANG_MS, path);
}

// Built from a string: a control-character class is the point here (as in row-schema.ts).
const CONTROL_CLASS = '[\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029]';
const CONTROL = new RegExp(CONTROL_CLASS);

/** What must hold for every row readRows yields, whatever the input. */
function checkRows(rows: readonly ParsedRow[]): void {
  let previous = 1;
  for (const row of rows) {
    expect(Number.isInteger(row.line), `line ${row.line} is an integer`).toBe(true);
    expect(row.line, 'a data row is never on the header line').toBeGreaterThanOrEqual(2);
    // One row per line, in file order: the line is the row's identity (report, job id).
    expect(row.line, `line ${row.line} comes after line ${previous}, once`).toBeGreaterThan(
      previous,
    );
    previous = row.line;
    if (row.kind === 'rejected') {
      expect(typeof row.reason).toBe('string');
      expect(row.reason.trim(), `line ${row.line} has a reason`).not.toBe('');
      expect(row.reason, `the reason of line ${row.line} is one line`).not.toMatch(/[\r\n]/);
      expect(row.orderCell, 'the order cell is shown printable').not.toMatch(CONTROL);
      expect(row.recipientCell, 'the recipient cell is shown printable').not.toMatch(CONTROL);
      continue;
    }
    expect(row.kind).toBe('valid');
    const { orderId, recipient } = row.row;
    expect(Number.isSafeInteger(orderId), `order id ${orderId} is a safe integer`).toBe(true);
    expect(orderId).toBeGreaterThan(0);
    // Only a positive integer in plain decimal may reach the URL path.
    expect(String(orderId)).toMatch(/^[1-9][0-9]*$/);
    if (recipient !== undefined) {
      expect(recipientProblem(recipient), `recipient ${JSON.stringify(recipient)}`).toBeUndefined();
    }
  }
}

function linesOf(rows: readonly ParsedRow[], kind: ParsedRow['kind']): number[] {
  return rows.filter((row) => row.kind === kind).map((row) => row.line);
}

function checkFatal(error: unknown, path: string, substring: string): void {
  expect(error, 'a fatal input throws').toBeInstanceOf(UsageError);
  const message = (error as UsageError).message;
  expect(message, 'one line').not.toMatch(/[\r\n]/);
  expect(message, 'no stack trace').not.toMatch(/\bat .+:\d+:\d+|node:internal|\.ts:\d+/);
  expect(message, 'names the file').toContain(path);
  expect(message).toContain(substring);
}

describe('the hostile corpus', () => {
  it('has at least 32 files, each small and described in EXPECTED.json', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(32);
    expect(Object.keys(EXPECTED).sort()).toEqual(FILES);
    for (const name of FILES) {
      expect(statSync(join(HOSTILE, name)).size, name).toBeLessThan(20 * 1024);
    }
  });
});

describe('readRows over the hostile corpus', () => {
  it.each(FILES)(
    'hostile/%s: fails or reads as EXPECTED.json says, never anything but a UsageError',
    async (name) => {
      const path = join(HOSTILE, name);
      const expected = EXPECTED[name] as Expectation;
      const { rows, error } = await drain(path);
      if ('fatal' in expected) {
        checkFatal(error, path, expected.fatal);
        return;
      }
      if (error !== undefined) throw error; // any exception here is a failure, shown as is
      checkRows(rows);
      expect({ valid: linesOf(rows, 'valid'), rejected: linesOf(rows, 'rejected') }).toEqual({
        valid: expected.valid,
        rejected: expected.rejected,
      });
      const valid = rows.flatMap((row) => (row.kind === 'valid' ? [row.row] : []));
      if (expected.orderIds) expect(valid.map((r) => r.orderId)).toEqual(expected.orderIds);
      if (expected.recipients) {
        expect(valid.map((r) => r.recipient ?? null)).toEqual(expected.recipients);
      }
    },
    HANG_MS + 5_000,
  );
});

describe('a 10 MB line between good rows (generated at run time)', () => {
  let dir: string;
  const header = 'order_id,recipient_email\n';
  const cases: [string, number][] = [
    ['ten-mb-line.csv', 10 * 1024 * 1024],
    ['just-over-the-limit.csv', MAX_RECORD_BYTES + 1],
  ];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sealmail-hostile-'));
    for (const [name, size] of cases) {
      writeFileSync(
        join(dir, name),
        `${header}1,user1@example.com\n2,${'a'.repeat(size)}\n3,user3@example.com\n4,user4@example.com\n`,
      );
    }
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(
    'ten-mb-line.csv: the long row is rejected once, the rows around it stay valid',
    async () => {
      const { rows, error } = await drain(join(dir, 'ten-mb-line.csv'));
      if (error !== undefined) throw error;
      // The rows after the long one first: losing them silently is the worst outcome.
      expect(linesOf(rows, 'valid'), 'the good rows around the long one').toEqual([2, 4, 5]);
      expect(rows.flatMap((row) => (row.kind === 'valid' ? [row.row.orderId] : []))).toEqual([
        1, 3, 4,
      ]);
      expect(linesOf(rows, 'rejected'), 'the long row, reported once').toEqual([3]);
      expect(rows.find((row) => row.line === 3)).toMatchObject({
        reason: expect.stringContaining('longer than 254'),
      });
      checkRows(rows);
    },
    HANG_MS + 5_000,
  );

  it(
    'just-over-the-limit.csv: a row longer than any CSV of orders refuses the file, naming the line',
    async () => {
      const { error } = await drain(join(dir, 'just-over-the-limit.csv'));
      expect(error).toBeInstanceOf(UsageError);
      expect((error as Error).message).toMatch(/line 3 is malformed: longer than 16 MiB/);
      expect((error as Error).message).not.toContain('\n');
    },
    HANG_MS + 5_000,
  );
});

describe('planRows over hostile input (no Redis: nothing is already sent)', () => {
  const notSent = async (rows: readonly unknown[]) => rows.map(() => false);

  async function plan(name: string): Promise<{ planned: PlannedRow[]; asked: number }> {
    const planned: PlannedRow[] = [];
    let asked = 0;
    for await (const chunk of planRows(join(HOSTILE, name), async (rows) => {
      asked += rows.length;
      return notSent(rows);
    })) {
      planned.push(...chunk);
    }
    planned.sort((a, b) => a.line - b.line);
    return { planned, asked };
  }

  it('settles repeated (order, recipient) pairs as duplicate_row and sends each pair once', async () => {
    const { planned, asked } = await plan('duplicate-rows.csv');
    expect(planned.map((p) => p.line)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const duplicates = planned.filter(
      (p) => p.kind === 'settled' && p.record.errorCode === 'duplicate_row',
    );
    // 005, " 5 " and USER5@Example.COM are the same pair as line 2; "5," twice is one pair.
    expect(duplicates.map((p) => p.line)).toEqual([3, 4, 5, 6, 8]);
    for (const p of duplicates) {
      expect(p.kind === 'settled' && p.record.status).toBe('rejected');
    }
    expect(duplicates.map((p) => p.kind === 'settled' && p.record.errorMessage)).toEqual([
      expect.stringContaining('line 2'),
      expect.stringContaining('line 2'),
      expect.stringContaining('line 2'),
      expect.stringContaining('line 2'),
      expect.stringContaining('line 7'),
    ]);
    const sent = planned.flatMap((p) => (p.kind === 'send' ? [p] : []));
    expect(sent.map((p) => [p.line, p.row.orderId, p.row.recipient])).toEqual([
      [2, 5, 'user5@example.com'],
      [7, 5, undefined],
      [9, 6, 'user5@example.com'],
      [10, 5, 'user6@example.com'],
    ]);
    expect(asked, 'only first occurrences are checked against already-sent markers').toBe(4);
  });

  it('settles every rejected row as invalid_row with its reason and sends only valid rows', async () => {
    const { planned } = await plan('recipient-nul.csv');
    const invalid = planned.filter(
      (p) => p.kind === 'settled' && p.record.errorCode === 'invalid_row',
    );
    expect(invalid.map((p) => p.line)).toEqual([3, 4, 5, 6, 7]);
    for (const p of invalid) {
      if (p.kind !== 'settled') continue;
      expect(p.record.status).toBe('rejected');
      expect(p.record.errorMessage).toBeTruthy();
      expect(p.record.orderId).not.toMatch(CONTROL);
      expect(p.record.recipient).not.toMatch(CONTROL);
    }
    expect(planned.flatMap((p) => (p.kind === 'send' ? [p.row.orderId] : []))).toEqual([1, 7]);
  });
});
