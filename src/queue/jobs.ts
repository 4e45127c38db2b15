import type { JobsOptions } from 'bullmq';
import type { Config } from '../config.js';
import type { OrderId } from '../order-id.js';
import { jobSchema, type SealJobInput } from './job-schema.js';
import { jobIdFor } from './keys.js';
import { type Lane, laneFor } from './lanes.js';

export interface JobSpec {
  readonly batch: string;
  readonly line: number;
  readonly orderId: OrderId;
  readonly recipient: string | undefined;
  readonly resend?: boolean | undefined;
}

/** One row as a BullMQ job of its lane, checked against the job schema before it is queued. */
export function buildJob(
  config: Config,
  spec: JobSpec,
): { lane: Lane; job: { name: string; data: SealJobInput; opts: JobsOptions } } {
  const data: SealJobInput = {
    batch: spec.batch,
    line: spec.line,
    orderId: spec.orderId,
    ...(spec.recipient === undefined ? {} : { recipient: spec.recipient }),
    ...(spec.resend ? { resend: true } : {}),
  };
  jobSchema.parse(data);
  return {
    lane: laneFor(spec.recipient),
    job: {
      name: 'email-seal',
      data,
      opts: {
        jobId: jobIdFor(spec.batch, spec.line),
        attempts: config.maxAttempts,
        backoff: { type: 'custom' },
        // Outcomes live in the batch records: finished jobs are kept only for the job dashboard.
        removeOnComplete: { age: 3_600, count: 200 },
        removeOnFail: { age: 7 * 86_400, count: 5_000 },
      },
    },
  };
}
