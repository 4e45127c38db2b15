import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Job, RateLimitError, UnrecoverableError, WaitingError } from 'bullmq';
import type { LimitFunction } from 'p-limit';
import type { RowRecord } from '../batches/row-record.js';
import type { BatchStore } from '../batches/store.js';
import type { CertCentralClient } from '../certcentral/client.js';
import type { Outcome } from '../certcentral/outcome.js';
import type { Config } from '../config.js';
import type { LaneLimiter, PauseDecision } from '../limits/lane-limiter.js';
import type { Logger } from '../logger.js';
import { jobSchema, type SealJob } from './job-schema.js';
import type { RedisKeys, SentMarker } from './keys.js';
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
  readonly limiter: LaneLimiter;
  /** Whether the lane has configured windows (else only the adaptive one can hold it). */
  readonly paced: boolean;
  /**
   * The lane's request slots in this process. BullMQ hands out a few more jobs than there
   * are slots; a job waits here for one, so the queue's round trips overlap other calls.
   */
  readonly inFlight: LimitFunction;
  /**
   * Unless `running`, a job still waiting for a request slot goes back unsent: `halted` once
   * CertCentral refused the key (set before the lanes are stopped in Redis), `closing` once the
   * worker stops taking jobs. `cut` once the grace period is over and calls in flight were cut
   * off: their jobs go back too, without counting an attempt (CertCentral may have sent them:
   * at least once, as after a crash).
   */
  readonly state: () => WorkerState;
  /** Called when CertCentral refuses the key: the caller stops every lane, everywhere. */
  readonly onHalt: (denied: Extract<Outcome, { kind: 'denied' }>) => Promise<void>;
}

export type WorkerState = 'running' | 'halted' | 'closing' | 'cut';

/** What a processed job returns to BullMQ (kept small: it is stored with completed jobs). */
export type JobResult = { status: 'sent' | 'already_sent'; http?: number };

/** Builds the BullMQ processor of one lane: one row in, one paced API call, one outcome out. */
export function createProcessor(deps: ProcessorDeps) {
  const { config, lane, store, keys, limiter } = deps;

  return async function processSealJob(job: Job, token?: string): Promise<JobResult> {
    const parsed = jobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError('job data failed validation');
    const data = parsed.data;
    const log = deps.logger.child({
      batch: data.batch,
      line: data.line,
      order: data.orderId,
      lane,
    });
    const where = { sent: keys.sent(data.orderId, data.recipient), lane };

    const member = `${job.id}:${randomUUID()}`;
    // The marker is checked again when the job starts: another batch may have sent this pair.
    const reserve = () => takeSlot(member, data.resend ? undefined : where.sent);
    // A paced lane takes its place in the windows once it holds a request slot, so that the
    // reservation is the send time. An unpaced lane (the marker and, after a 429, the adaptive
    // window) checks before it waits, and that round trip overlaps other calls.
    const early = deps.paced ? undefined : await reserve();
    let pause: PauseDecision | undefined;
    const outcome = await deps.inFlight(async (): Promise<Outcome | 'already_sent'> => {
      // Fetched ahead and not started: back to the queue as it was.
      if (deps.state() !== 'running') await giveBack(job, token);
      // Checked before it waited, it may have waited into a pause after a 429: it goes back.
      if (early === 'granted' && limiter.pausedFor() > 0) throw new RateLimitError();
      const slot = early ?? (await reserve());
      if (slot === 'already_sent') return slot;
      try {
        const answer = await deps.client.emailSeal(data.orderId, data.recipient);
        // A refused key or a 429 stops the next requests before the slot goes to another job.
        if (answer.kind === 'denied') await deps.onHalt(answer);
        if (answer.kind === 'rateLimited') pause = await limiter.pauseAfter429(answer.retryAfterMs);
        return answer;
      } finally {
        // The request counts from its answer on, before the slot goes to the next job.
        if (deps.paced) await limiter.settle(member);
      }
    });
    if (outcome === 'already_sent') {
      await store.settle(data.batch, row(data, 'already_sent', 0), where, 0);
      log.info('already sent by an earlier batch: skipped');
      return { status: 'already_sent' };
    }

    if (outcome.kind === 'transient' && deps.state() === 'cut') await giveBack(job, token);

    const attempts = job.attemptsMade + 1;
    switch (outcome.kind) {
      case 'sent': {
        const sent = { ...row(data, 'sent', attempts), httpStatus: outcome.status };
        await store.settle(data.batch, sent, where, config.sentTtlSeconds);
        log.debug({ status: outcome.status, attempts }, 'seal emailed');
        return { status: 'sent', http: outcome.status };
      }
      case 'rateLimited': {
        if (!pause) throw new Error('a 429 without its pause');
        await store.countRateLimited(data.batch, pause.started);
        if (pause.started) {
          log.warn(
            { pauseMs: pause.delayMs, streak: pause.streak, adaptiveMax: pause.adaptiveMax },
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
        throw new RateLimitError();
      }
      case 'permanent': {
        await store.settle(data.batch, failure(data, outcome, attempts), where, 0);
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
          await store.settle(data.batch, failure(data, outcome, attempts), where, 0);
          throw new UnrecoverableError(`${outcome.error.code}: ${outcome.error.message}`);
        }
        throw new Error(`${outcome.error.code}: ${outcome.error.message}`);
      }
    }
  };

  /** Waits briefly for a slot in every window, or releases the job and holds the lane. */
  async function takeSlot(
    member: string,
    sent: SentMarker | undefined,
  ): Promise<'granted' | 'already_sent'> {
    for (;;) {
      const reservation = await limiter.reserve(member, sent);
      if (reservation.granted) return 'granted';
      if ('alreadySent' in reservation) return 'already_sent';
      if (reservation.waitMs > SHORT_WAIT_MS) {
        await limiter.hold(reservation.waitMs);
        throw new RateLimitError();
      }
      await sleep(reservation.waitMs);
    }
  }
}

/**
 * Records a row whose job BullMQ failed for good without the processor deciding it: taken
 * back from dead workers more than `SEAL_MAX_STALLS` times, or out of attempts under a worker
 * configured with fewer. Rows the processor already recorded stay as they are (only pending
 * rows settle). Returns whether the row was pending.
 */
export async function recordFailedJob(
  deps: Pick<ProcessorDeps, 'lane' | 'store' | 'keys'>,
  job: Job,
  error: Error,
): Promise<boolean> {
  const parsed = jobSchema.safeParse(job.data);
  if (!parsed.success) return false;
  const data = parsed.data;
  const record: RowRecord = {
    line: data.line,
    status: 'failed',
    orderId: String(data.orderId),
    recipient: data.recipient ?? '',
    errorCode: 'job_failed',
    errorMessage: error.message,
    attempts: job.attemptsMade,
    finishedAt: Date.now(),
  };
  const where = { sent: deps.keys.sent(data.orderId, data.recipient), lane: deps.lane };
  return deps.store.settle(data.batch, record, where, 0);
}

/** Returns an active job to the queue as it was, without counting an attempt. */
async function giveBack(job: Job, token: string | undefined): Promise<never> {
  await job.moveToWait(token);
  throw new WaitingError();
}

function row(data: SealJob, status: 'sent' | 'already_sent', attempts: number): RowRecord {
  return {
    line: data.line,
    status,
    orderId: String(data.orderId),
    recipient: data.recipient ?? '',
    attempts,
    finishedAt: Date.now(),
  };
}

function failure(
  data: SealJob,
  outcome: Extract<Outcome, { kind: 'permanent' | 'transient' }>,
  attempts: number,
): RowRecord {
  return {
    line: data.line,
    status: 'failed',
    orderId: String(data.orderId),
    recipient: data.recipient ?? '',
    httpStatus: outcome.status,
    errorCode: outcome.error.code,
    errorMessage: outcome.error.message,
    attempts,
    finishedAt: Date.now(),
  };
}
