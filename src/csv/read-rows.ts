import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { type CsvError, parse } from 'csv-parse';
import { UsageError } from '../errors.js';
import { mapColumns } from './columns.js';
import { preview, rowSchema, type ValidRow } from './row-schema.js';

/** One data row of the file, by the line it ends on (1 is the header). */
export type ParsedRow =
  | { readonly line: number; readonly kind: 'valid'; readonly row: ValidRow }
  | {
      readonly line: number;
      readonly kind: 'rejected';
      readonly reason: string;
      /** The raw cells, made printable and short, for the report. */
      readonly orderCell: string;
      readonly recipientCell: string;
    };

/** Longest record accepted; a longer one is rejected, the rest of the file still read. */
export const MAX_RECORD_BYTES = 64 * 1024;

/**
 * Streams a CSV of orders row by row: constant memory whatever the file size.
 * Throws UsageError when the file cannot be read or has no usable header; a bad row is
 * yielded as `rejected` with its reason and never stops the rows after it.
 */
export async function* readRows(input: string | Readable): AsyncGenerator<ParsedRow> {
  const source = typeof input === 'string' ? openFile(input) : input;
  const parser = source.pipe(
    parse({
      bom: true,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      max_record_size: MAX_RECORD_BYTES,
    }),
  );
  const skipped: ParsedRow[] = [];
  parser.on('skip', (error: CsvError) => {
    skipped.push({
      line: Number(error.lines ?? 0),
      kind: 'rejected',
      reason: `malformed CSV: ${describeCsvError(error)}`,
      orderCell: '',
      recipientCell: '',
    });
  });
  // pipe() does not forward a read error (a missing file): hand it to the parser.
  source.once('error', (error) => parser.destroy(error));
  // Skipped records are reported in line order with the good ones around them.
  const skippedBefore = (line: number) => {
    const ready = skipped.filter((row) => row.line < line);
    skipped.splice(0, ready.length);
    return ready;
  };

  let columns: { order: number; recipient: number | undefined } | undefined;
  try {
    for await (const { record, info } of parser as AsyncIterable<{
      record: string[];
      info: { lines: number };
    }>) {
      if (!columns) {
        const mapped = mapColumns(record);
        if ('error' in mapped) throw new UsageError(`${describe(input)}: ${mapped.error}`);
        columns = mapped;
        continue;
      }
      yield* skippedBefore(info.lines);
      yield toRow(record, info.lines, columns);
    }
    if (columns) yield* skipped.splice(0);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`${describe(input)}: ${readableError(error)}`, { cause: error });
  }
  if (!columns) throw new UsageError(`${describe(input)}: the file is empty (no header row)`);
}

function toRow(
  record: string[],
  line: number,
  columns: { order: number; recipient: number | undefined },
): ParsedRow {
  const orderCell = record[columns.order] ?? '';
  const recipientCell = columns.recipient === undefined ? '' : (record[columns.recipient] ?? '');
  const parsed = rowSchema.safeParse({ orderId: orderCell, recipient: recipientCell });
  if (parsed.success) {
    return {
      line,
      kind: 'valid',
      row: { orderId: parsed.data.orderId, recipient: parsed.data.recipient },
    };
  }
  return {
    line,
    kind: 'rejected',
    reason: parsed.error.issues.map((issue) => issue.message).join('; '),
    orderCell: preview(orderCell, 40),
    recipientCell: preview(recipientCell, 80),
  };
}

function openFile(path: string): Readable {
  return createReadStream(path);
}

function describe(input: string | Readable): string {
  return typeof input === 'string' ? input : 'input';
}

function describeCsvError(error: CsvError): string {
  switch (error.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'a quoted field is never closed';
    case 'CSV_INVALID_CLOSING_QUOTE':
      return 'unexpected character after a closing quote';
    case 'CSV_MAX_RECORD_SIZE':
      return `row longer than ${MAX_RECORD_BYTES} bytes`;
    default:
      return error.message.replace(/\s+/g, ' ').slice(0, 120);
  }
}

function readableError(error: unknown): string {
  const e = error as NodeJS.ErrnoException & { code?: string };
  if (e?.code === 'ENOENT') return 'no such file';
  if (e?.code === 'EACCES') return 'permission denied';
  if (e?.code === 'EISDIR') return 'is a directory, not a CSV file';
  if (e?.code?.startsWith('CSV_')) return `malformed CSV: ${describeCsvError(e as CsvError)}`;
  return e?.message ?? String(error);
}
