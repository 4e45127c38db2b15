/** Where a row of a batch stands. */
export const ROW_STATUSES = ['pending', 'sent', 'failed', 'rejected', 'already_sent'] as const;
export type RowStatus = (typeof ROW_STATUSES)[number];

/** What the report says of one row. */
export interface RowRecord {
  readonly line: number;
  readonly status: RowStatus;
  readonly orderId: string;
  readonly recipient: string;
  readonly httpStatus?: number | undefined;
  readonly errorCode?: string | undefined;
  readonly errorMessage?: string | undefined;
  readonly attempts?: number | undefined;
  /** Epoch milliseconds. */
  readonly finishedAt?: number | undefined;
}

// Stored compactly, one hash field per line: a status letter, then a JSON array
// [order, recipient, attempts, finished (epoch seconds), http status, error code, message]
// without its trailing empty fields; a sent row's 204 is implied. The batch scripts read
// only the letter ('p' = pending).
const LETTER: Record<RowStatus, string> = {
  pending: 'p',
  sent: 's',
  failed: 'f',
  rejected: 'r',
  already_sent: 'a',
};
const STATUS_OF = Object.fromEntries(Object.entries(LETTER).map(([s, l]) => [l, s])) as Record<
  string,
  RowStatus
>;

export function encodeRow(record: RowRecord): string {
  const http =
    record.status === 'sent' && record.httpStatus === 204 ? null : (record.httpStatus ?? null);
  const fields = [
    record.orderId,
    record.recipient,
    record.attempts ?? null,
    record.finishedAt === undefined ? null : Math.round(record.finishedAt / 1000),
    http,
    record.errorCode ?? null,
    record.errorMessage ?? null,
  ];
  while (fields.length > 2 && fields[fields.length - 1] === null) fields.pop();
  return `${LETTER[record.status]}${JSON.stringify(fields)}`;
}

export function decodeRow(line: number, encoded: string): RowRecord {
  const status = STATUS_OF[encoded.charAt(0)];
  if (!status) throw new Error(`row ${line}: unknown record "${encoded.slice(0, 20)}"`);
  const [orderId, recipient, attempts, finished, http, errorCode, errorMessage] = JSON.parse(
    encoded.slice(1),
  ) as [string, string, number?, number?, number?, string?, string?];
  return {
    line,
    status,
    orderId,
    recipient,
    httpStatus: http ?? (status === 'sent' ? 204 : undefined),
    errorCode: errorCode ?? undefined,
    errorMessage: errorMessage ?? undefined,
    attempts: attempts ?? undefined,
    finishedAt: finished == null ? undefined : finished * 1000,
  };
}
