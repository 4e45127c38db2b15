import { Worker } from 'bullmq';
import pLimit from 'p-limit';
import { createClient } from '../certcentral/client.js';
import type { ApiError } from '../certcentral/outcome.js';
import { requireApiKey } from '../config.js';
import { backoffDelay } from '../limits/backoff.js';
import { type LaneHalt, LaneLimiter, laneHalt } from '../limits/lane-limiter.js';
import { formatWindows, withMargin } from '../limits/windows.js';
import type { Runtime } from '../runtime.js';
import { LANES, type Lane } from './lanes.js';
import { createProcessor, recordFailedJob, type WorkerState } from './processor.js';

export interface LaneWorkers {
  /** Settles when a lane is stopped because CertCentral refused the key. */
  readonly halted: Promise<{ lane: Lane; halt: LaneHalt }>;
  /** Finishes in-flight calls (up to the grace period), returns the rest to the queue. */
  close(): Promise<void>;
}

/**
 * BullMQ's limiter, set so high that it never limits by itself, makes workers honour the
 * lane-wide holds that 429s and the rolling limiter put on the queue's limiter key.
 */
const HOLDS_ONLY = { max: 1_000_000_000, duration: 1_000 };

/** Starts one BullMQ worker per lane in this process. */
export async function startLaneWorkers(
  runtime: Runtime,
  lanes: readonly Lane[],
): Promise<LaneWorkers> {
  const { config, logger, redis, keys, store, queues } = runtime;
  const client = createClient({
    baseUrl: config.baseUrl,
    apiKey: requireApiKey(config),
    timeoutMs: config.requestTimeoutMs,
    maxSockets: config.concurrency * lanes.length * 2,
  });
  let signalHalt: (value: { lane: Lane; halt: LaneHalt }) => void = () => undefined;
  const halted = new Promise<{ lane: Lane; halt: LaneHalt }>((resolve) => {
    signalHalt = resolve;
  });

  const limiters = Object.fromEntries(
    LANES.map((lane) => [
      lane,
      new LaneLimiter(redis, keys, lane, {
        windows: withMargin(config.limits[lane], config.limitMargin),
        adaptive: config.adaptive,
        backoff: config.backoff429,
      }),
    ]),
  ) as Record<Lane, LaneLimiter>;
  // A refused key stops every lane (they share the key); starting again means it was fixed.
  const haltAll = async (status: number, error: ApiError) => {
    const halts: LaneHalt[] = [];
    for (const lane of LANES) {
      halts.push(await limiters[lane].halt(status, error));
      await queues[lane].pause();
    }
    return halts[0] as LaneHalt;
  };
  for (const lane of LANES) {
    const cleared = await limiters[lane].clearHalt();
    if (cleared) {
      logger.info(
        { lane, was: cleared.reason },
        'lane had been stopped by a refused key: resuming',
      );
      await queues[lane].resume();
    }
  }

  const workers: Worker[] = [];
  const recordings = new Set<Promise<void>>();
  let state: WorkerState = 'running';
  for (const lane of lanes) {
    const processor = createProcessor({
      lane,
      config,
      logger,
      client,
      store,
      keys,
      limiter: limiters[lane],
      paced: config.limits[lane].length > 0,
      inFlight: pLimit(config.concurrency),
      state: () => state,
      onHalt: async (denied) => {
        // Before any round trip: no job of this process starts another request.
        if (state === 'running') state = 'halted';
        try {
          signalHalt({ lane, halt: await haltAll(denied.status, denied.error) });
        } catch (error) {
          // The process stops all the same; the next start finds the lanes running.
          logger.error(
            { lane, err: (error as Error).message },
            'could not record the refused key in Redis',
          );
          signalHalt({ lane, halt: laneHalt(denied.status, denied.error) });
        }
      },
    });
    const worker = new Worker(lane, processor, {
      connection: redis,
      prefix: config.prefix,
      concurrency: config.concurrency + config.prefetch,
      limiter: HOLDS_ONLY,
      lockDuration: config.lockMs,
      stalledInterval: config.lockMs,
      maxStalledCount: config.maxStalls,
      settings: {
        backoffStrategy: (attemptsMade: number) => backoffDelay(attemptsMade, config.retry),
      },
    });
    worker.on('error', (error) => logger.warn({ lane, err: error.message }, 'worker error'));
    worker.on('failed', (job, error) => {
      // A retry is not final; a final failure the processor decided was recorded already.
      if (!job?.finishedOn) return;
      const recording = recordFailedJob({ lane, store, keys }, job, error)
        .then((recorded) => {
          if (recorded) {
            logger.warn(
              { lane, batch: job.data.batch, line: job.data.line, reason: error.message },
              'row failed by the queue',
            );
          }
        })
        .catch((cause: Error) =>
          logger.error({ lane, err: cause.message }, 'could not record a failed row'),
        )
        .finally(() => recordings.delete(recording));
      recordings.add(recording);
    });
    workers.push(worker);
    // Closing a worker whose connections are still initialising makes BullMQ emit an
    // unhandled error: be ready before anyone can ask us to close.
    await worker.waitUntilReady();
    logger.info(
      {
        lane,
        concurrency: config.concurrency,
        prefetch: config.prefetch,
        limits: formatWindows(config.limits[lane]),
      },
      'lane worker started',
    );
  }

  return {
    halted,
    async close() {
      state = 'closing';
      const graceful = Promise.all(workers.map((w) => w.close()));
      // BullMQ's close waits for every job in progress; past the grace period the calls still
      // in flight are cut off, and their jobs go back to the queue.
      const timer = setTimeout(() => {
        logger.warn(
          { graceMs: config.shutdownGraceMs },
          'grace period over: cutting off the calls in flight, their jobs go back to the queue',
        );
        state = 'cut';
        client.abortAll();
      }, config.shutdownGraceMs);
      try {
        await graceful;
        await Promise.all(recordings);
      } finally {
        clearTimeout(timer);
        client.close();
      }
    },
  };
}
