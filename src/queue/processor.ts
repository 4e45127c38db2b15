import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Job, RateLimitError, UnrecoverableError } from 'bullmq';
import type { BatchStore } from '../batches/store.js';
import type { CertCentralClient } from '../certcentral/client.js';
import type { Outcome } from '../certcentral/outcome.js';
import type { Config } from '../config.js';
import type { LaneState } from '../limits/lane-state.js';
import type { RollingLimiter } from '../limits/rolling-limiter.js';
import { withMargin } from '../limits/windows.js';
import type { Logger } from '../logger.js';
import { jobSchema, type SealJob } from './job-schema.js';
import type { RedisKeys } from './keys.js';
import type { Lane } from './lanes.js';

/** A limiter wait this short is slept through in place; a longer one releases the job. */
const SHORT_WAIT_MS = 25;

export interface ProcessorDeps {
  readonly lane: Lane;
  readonly config: Config;
  readonly logger: Logger;
  readonly client: CertCentralClient;
  readonly store: BatchStore;
  readonly keys: RedisKeys;
  readonly sentMarkerExists: (key: string) => Promise<boolean>;
  readonly limiter: RollingLimiter;
  readonly laneState: LaneState;
  /** Called when CertCentral refuses the key: the caller stops every lane, everywhere. */
  readonly onHalt: (denied: Extract<Outcome, { kind: 'denied' }>) => Promise<void>;
}

/** What a processed job returns to BullMQ (kept small: it is stored with completed jobs). */
export type JobResult = { status: 'sent' | 'already_sent'; http?: number };

/** Builds the BullMQ processor of one lane: one row in, one paced API call, one outcome out. */
export function createProcessor(deps: ProcessorDeps) {
  const { config, lane, store, keys, limiter, laneState } = deps;
  const windows = withMargin(config.limits[lane], config.limitMargin);

  return async function processSealJob(job: Job): Promise<JobResult> {
    const parsed = jobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError('job data failed validation');
    const data = parsed.data;
    const log = deps.logger.child({
      batch: data.batch,
      line: data.line,
      order: data.orderId,
      lane,
    });
    const sentKey = keys.sent(data.orderId, data.recipient);

    if (!data.resend && (await deps.sentMarkerExists(sentKey))) {
      await store.settle(data.batch, record(data, 'already_sent', job), sentKey, 0);
      log.info('already sent by an earlier batch: skipped');
      return { status: 'already_sent' };
    }

    const slot = `${job.id}:${randomUUID()}`;
    await takeSlot(slot);
    let outcome: Outcome;
    try {
      outcome = await deps.client.emailSeal(data.orderId, data.recipient);
    } finally {
      if (windows.length) await limiter.settle(slot);
    }

    const attempts = job.attemptsMade + 1;
    switch (outcome.kind) {
      case 'sent': {
        await store.settle(
          data.batch,
          { ...record(data, 'sent', job), httpStatus: outcome.status, attempts },
          sentKey,
          config.sentTtlSeconds,
        );
        await laneState.recordSuccess();
        log.info({ status: outcome.status, attempts }, 'seal emailed');
        return { status: 'sent', http: outcome.status };
      }
      case 'rateLimited': {
        const pause = await laneState.pauseAfter429(outcome.retryAfterMs, config.backoff429);
        if (pause.started) {
          log.warn(
            { pauseMs: pause.delayMs, streak: pause.streak },
            'rate limited (429): lane paused',
          );
        }
        throw new RateLimitError();
      }
      case 'denied': {
        log.error(
          { status: outcome.status, code: outcome.error.code },
          'CertCentral refused the request: lanes stopped',
        );
        await deps.onHalt(outcome);
        throw new RateLimitError();
      }
      case 'permanent': {
        await store.settle(data.batch, failure(data, job, outcome, attempts), sentKey, 0);
        log.warn({ status: outcome.status, code: outcome.error.code }, 'row failed permanently');
        throw new UnrecoverableError(`${outcome.error.code}: ${outcome.error.message}`);
      }
      case 'transient': {
        const final = attempts >= config.maxAttempts;
        log.warn(
          { status: outcome.status, code: outcome.error.code, attempts, final },
          'transient failure',
        );
        if (final) {
          await store.settle(data.batch, failure(data, job, outcome, attempts), sentKey, 0);
          throw new UnrecoverableError(`${outcome.error.code}: ${outcome.error.message}`);
        }
        throw new Error(`${outcome.error.code}: ${outcome.error.message}`);
      }
    }
  };

  /** Waits briefly for a slot in every window, or releases the job and holds the lane. */
  async function takeSlot(slot: string): Promise<void> {
    if (windows.length === 0) return;
    for (;;) {
      const reservation = await limiter.reserve(slot, windows);
      if (reservation.granted) return;
      if (reservation.waitMs > SHORT_WAIT_MS) {
        await laneState.hold(reservation.waitMs);
        throw new RateLimitError();
      }
      await sleep(reservation.waitMs);
    }
  }
}

function record(data: SealJob, status: 'sent' | 'already_sent', job: Job) {
  return {
    line: data.line,
    status,
    orderId: String(data.orderId),
    recipient: data.recipient ?? '',
    attempts: status === 'sent' ? job.attemptsMade + 1 : 0,
    finishedAt: Date.now(),
  };
}

function failure(
  data: SealJob,
  job: Job,
  outcome: Extract<Outcome, { kind: 'permanent' | 'transient' }>,
  attempts: number,
) {
  return {
    line: data.line,
    status: 'failed' as const,
    orderId: String(data.orderId),
    recipient: data.recipient ?? '',
    httpStatus: outcome.status,
    errorCode: outcome.error.code,
    errorMessage: outcome.error.message,
    attempts: Math.max(attempts, job.attemptsMade + 1),
    finishedAt: Date.now(),
  };
}
