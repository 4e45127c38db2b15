import { z } from 'zod';
import { type OrderId, parseOrderId } from '../order-id.js';

/** RFC 5321 caps a forward path at 254 characters. */
export const MAX_EMAIL_LENGTH = 254;

// One mailbox: a dot-atom local part, an @, and a domain of dot-separated labels with a TLD.
const MAILBOX =
  /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/;
// Built from a string: a control-character class is the point here, not a typo.
// Bidirectional overrides are included: they make a report show another text than it holds.
const CONTROL_CLASS =
  '[\\u0000-\\u001f\\u007f-\\u009f\\u200e\\u200f\\u2028-\\u202e\\u2066-\\u2069]';
const CONTROL = new RegExp(CONTROL_CLASS);
const CONTROL_ALL = new RegExp(CONTROL_CLASS, 'g');

/** Why a recipient cell is unusable, or undefined when it is one valid address. */
export function recipientProblem(value: string): string | undefined {
  if (value.length > MAX_EMAIL_LENGTH) {
    return `recipient is longer than ${MAX_EMAIL_LENGTH} characters`;
  }
  if (CONTROL.test(value)) return 'recipient contains control characters (line breaks, tabs…)';
  if (/[,;]/.test(value) || (value.match(/@/g)?.length ?? 0) > 1) {
    return 'recipient must be exactly one email address, not a list';
  }
  if (/\s/.test(value)) return 'recipient contains whitespace';
  if (!MAILBOX.test(value)) return `recipient "${preview(value, 80)}" is not a valid email address`;
  return undefined;
}

const recipient = z
  .string()
  .transform((raw) => raw.replace(/^ +| +$/g, ''))
  .superRefine((value, ctx) => {
    if (value === '') return;
    const problem = recipientProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .transform((value) => (value === '' ? undefined : value));

const orderId = z.string().transform((raw, ctx): OrderId => {
  const parsed = parseOrderId(raw);
  if (!parsed.ok) {
    ctx.addIssue({ code: 'custom', message: `${parsed.reason} (got "${preview(raw)}")` });
    return z.NEVER;
  }
  return parsed.orderId;
});

/** A CSV row as its two cells of interest. */
export const rowSchema = z.object({
  orderId,
  recipient: recipient.optional(),
});

export type ValidRow = { orderId: OrderId; recipient: string | undefined };

/** Shows a bad cell safely: printable, short. */
export function preview(raw: string, max = 40): string {
  const printable = raw.replace(
    CONTROL_ALL,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
  return printable.length > max ? `${printable.slice(0, max)}…` : printable;
}

/** The identity used for de-duplication: the same order to the same mailbox (case-insensitive). */
export function rowIdentity(row: ValidRow): string {
  return `${row.orderId}|${row.recipient?.toLowerCase() ?? ''}`;
}
