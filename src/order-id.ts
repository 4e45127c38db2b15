declare const orderIdBrand: unique symbol;

/** A CertCentral order id: a positive safe integer, the only thing ever placed in the URL path. */
export type OrderId = number & { readonly [orderIdBrand]: true };

export type OrderIdResult = { ok: true; orderId: OrderId } | { ok: false; reason: string };

const DIGITS = /^[0-9]+$/;

/**
 * Parses an order id cell. Accepts decimal digits only (surrounding spaces allowed):
 * no sign, exponent, hex, fraction or separators, and nothing above 2^53 - 1.
 */
export function parseOrderId(raw: unknown): OrderIdResult {
  if (typeof raw === 'number') return checkNumber(raw);
  if (typeof raw !== 'string') return { ok: false, reason: 'order id is missing' };
  const text = raw.trim();
  if (text === '') return { ok: false, reason: 'order id is empty' };
  if (!DIGITS.test(text)) return { ok: false, reason: 'order id must be a positive integer' };
  if (text.replace(/^0+/, '').length > 16) return { ok: false, reason: 'order id is too large' };
  return checkNumber(Number(text));
}

function checkNumber(value: number): OrderIdResult {
  if (!Number.isSafeInteger(value)) return { ok: false, reason: 'order id is too large' };
  if (value <= 0) return { ok: false, reason: 'order id must be a positive integer' };
  return { ok: true, orderId: value as OrderId };
}

/** Re-checks an id at the edge where it becomes part of a URL. */
export function assertOrderId(value: number): OrderId {
  const parsed = checkNumber(value);
  if (!parsed.ok) throw new TypeError(`refusing to use ${String(value)} as an order id`);
  return parsed.orderId;
}
