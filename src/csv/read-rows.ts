import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { type CsvError, parse } from 'csv-parse';
import { UsageError } from '../errors.js';
import { type ColumnMap, mapColumns } from './columns.js';
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

/**
 * Longest record read. A longer one is no row of orders (a row is a few hundred bytes; a
 * 10 MB line is still read and rejected like any bad row): the file is refused whole.
 */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

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
      // Any mix of CRLF, LF and CR ends a row (spreadsheets and scripts mix them).
      record_delimiter: ['\r\n', '\n', '\r'],
      // A quote inside an unquoted field, or text after a closing quote, stays in the cell:
      // the row is then rejected by validation and the rows after it are read as usual.
      relax_quotes: true,
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      max_record_size: MAX_RECORD_BYTES,
    }),
  );
  const skipped: ParsedRow[] = [];
  let columns: ColumnMap | undefined;
  // csv-parse counts a CRLF inside a quoted cell as two lines: this many so far.
  let extraLines = 0;
  parser.on('skip', (error: CsvError) => {
    const line = Number(error.lines ?? 0) - extraLines;
    const isHeader = Number((error as { records?: number }).records ?? 0) === 0;
    if (isHeader || error.code === 'CSV_MAX_RECORD_SIZE') {
      const what = isHeader ? 'the header row' : `line ${line}`;
      parser.destroy(
        new UsageError(`${describe(input)}: ${what} is malformed: ${describeCsvError(error)}`),
      );
      return;
    }
    skipped.push({
      line,
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
      for (const cell of record) extraLines += cell.split('\r\n').length - 1;
      const line = info.lines - extraLines;
      yield* skippedBefore(line);
      yield toRow(record, line, columns);
    }
    if (columns) yield* skipped.splice(0);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`${describe(input)}: ${readableError(error)}`, { cause: error });
  }
  if (!columns) throw new UsageError(`${describe(input)}: the file is empty (no header row)`);
}

function toRow(record: string[], line: number, columns: ColumnMap): ParsedRow {
  const orderCell = record[columns.order] ?? '';
  const recipientCell = columns.recipient === undefined ? '' : (record[columns.recipient] ?? '');
  // More cells than the header means an unquoted comma somewhere: the cells after it have
  // shifted, so neither the order nor the recipient can be trusted. Empty extras are harmless.
  const extra = record.slice(columns.width).filter((cell) => cell.trim() !== '').length;
  if (extra > 0) {
    return {
      line,
      kind: 'rejected',
      reason: `${record.length} cells where the header has ${columns.width}: quote any cell that contains a comma (a recipient is one address)`,
      orderCell: preview(orderCell, 40),
      recipientCell: preview(recipientCell, 80),
    };
  }
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
      return `longer than ${MAX_RECORD_BYTES / 1024 / 1024} MiB (is this a CSV of orders?)`;
    case 'INVALID_OPENING_QUOTE':
      return 'a quote opens in the middle of a field';
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
