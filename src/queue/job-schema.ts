import { z } from 'zod';
import { recipientProblem } from '../csv/row-schema.js';
import type { OrderId } from '../order-id.js';
import { BATCH_ID } from './keys.js';

/**
 * A job: one row to send. Checked by the producer before it is queued and by the worker
 * before it is sent. It never holds the API key.
 */
export const jobSchema = z.object({
  batch: z.string().regex(BATCH_ID),
  line: z.number().int().positive(),
  orderId: z
    .number()
    .int()
    .positive()
    .max(Number.MAX_SAFE_INTEGER)
    .transform((n) => n as OrderId),
  recipient: z
    .string()
    .refine((r) => recipientProblem(r) === undefined, 'invalid recipient')
    .optional(),
  /** Send even when the (order, recipient) pair was sent before. */
  resend: z.boolean().optional(),
});

export type SealJob = z.infer<typeof jobSchema>;
export type SealJobInput = z.input<typeof jobSchema>;
