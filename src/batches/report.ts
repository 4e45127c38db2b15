import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { RowRecord } from './row-record.js';

export const REPORT_COLUMNS = [
  'line',
  'order_id',
  'recipient_email',
  'status',
  'http_status',
  'error_code',
  'error_message',
  'attempts',
  'finished_at',
] as const;

/** One report line, cells escaped for CSV and defused for spreadsheets. */
export function reportLine(row: RowRecord): string {
  const cells = [
    String(row.line),
    row.orderId,
    row.recipient,
    row.status,
    row.httpStatus === undefined ? '' : String(row.httpStatus),
    row.errorCode ?? '',
    row.errorMessage ?? '',
    row.attempts === undefined ? '' : String(row.attempts),
    row.finishedAt === undefined ? '' : new Date(row.finishedAt).toISOString(),
  ];
  return cells.map(csvCell).join(',');
}

/**
 * A cell a spreadsheet would read as a formula (=, +, -, @, tab, CR) gets a leading
 * apostrophe; quotes, commas and line breaks are quoted per RFC 4180.
 */
export function csvCell(value: string): string {
  const defused = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(defused) ? `"${defused.replace(/"/g, '""')}"` : defused;
}

export async function writeReport(
  path: string,
  rows: Iterable<RowRecord> | AsyncIterable<RowRecord>,
): Promise<number> {
  const out = createWriteStream(path);
  let count = 0;
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  await write(`${REPORT_COLUMNS.join(',')}\n`);
  for await (const row of rows) {
    await write(`${reportLine(row)}\n`);
    count++;
  }
  out.end();
  await once(out, 'finish');
  return count;
}

/** The report as a stream of CSV text, for HTTP downloads. */
export async function* reportText(rows: AsyncIterable<RowRecord>): AsyncGenerator<string> {
  yield `${REPORT_COLUMNS.join(',')}\n`;
  let chunk = '';
  for await (const row of rows) {
    chunk += `${reportLine(row)}\n`;
    if (chunk.length > 64 * 1024) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}
