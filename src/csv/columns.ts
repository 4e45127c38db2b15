/** Header names accepted for each column, in order of preference, compared case-insensitively. */
export const ORDER_COLUMNS = ['order_id', 'orderId', 'order', 'id'] as const;
export const RECIPIENT_COLUMNS = ['recipient_email', 'recipient', 'email'] as const;

export interface ColumnMap {
  readonly order: number;
  /** Absent when the file has no recipient column: every row then goes without a recipient. */
  readonly recipient: number | undefined;
  /** How many cells the header has. */
  readonly width: number;
}

/** Finds the order id and recipient columns of a header row, or explains what is missing. */
export function mapColumns(header: readonly string[]): ColumnMap | { error: string } {
  const names = header.map((h) => h.trim().toLowerCase());
  const find = (candidates: readonly string[]) => {
    for (const candidate of candidates) {
      const index = names.indexOf(candidate.toLowerCase());
      if (index >= 0) return index;
    }
    return undefined;
  };
  const order = find(ORDER_COLUMNS);
  if (order === undefined) {
    const shown = header.slice(0, 8).map((h) => JSON.stringify(truncate(h, 40)));
    return {
      error: `no order id column: the header must name one of ${ORDER_COLUMNS.join(', ')} (found ${
        shown.join(', ') || 'nothing'
      })`,
    };
  }
  const recipient = find(RECIPIENT_COLUMNS);
  if (recipient === undefined) {
    // A misspelt recipient column would send every seal to the key's owner: refuse it.
    const lookalike = header.find((h) => /recip/i.test(h));
    if (lookalike !== undefined) {
      return {
        error: `column ${JSON.stringify(truncate(lookalike, 40))} looks like a recipient column but is not one of ${RECIPIENT_COLUMNS.join(', ')}: rename it (or remove it to send every seal to the key's owner)`,
      };
    }
  }
  return { order, recipient, width: header.length };
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
