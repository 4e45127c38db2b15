import { createHash } from 'node:crypto';
import type { OrderId } from '../order-id.js';
import type { Lane } from './lanes.js';

/**
 * Every Redis key sealmail writes outside BullMQ's own. BullMQ's keys are
 * `{prefix}:{lane}:…`; ours never use a lane name as their second segment.
 */
export function redisKeys(prefix: string) {
  return {
    prefix,
    /** Sorted set: batch id → creation time. */
    batches: `${prefix}:batches`,
    /** Hash: a batch's record and counters. */
    batch: (batchId: string) => `${prefix}:batch:${batchId}`,
    /** Hash: line number → encoded row record. */
    batchRows: (batchId: string) => `${prefix}:batch:${batchId}:rows`,
    /** Sorted set: the lines of failed and rejected rows, for the dashboard and retries. */
    batchProblems: (batchId: string) => `${prefix}:batch:${batchId}:problems`,
    /** Hash: `{10 s bucket}:{s|f|r}` → sends, failures and 429s in that bucket. */
    batchTimeline: (batchId: string) => `${prefix}:batch:${batchId}:timeline`,
    /** Hash: counters over every batch, for metrics (`s`, `a`, `f:{error code}`). */
    stats: `${prefix}:stats`,
    /**
     * Where "this order's seal was sent to this recipient" is remembered: a field of a hash
     * shared by 100 consecutive order ids, valued with its expiry (epoch seconds). Small hashes
     * are stored compactly by Redis: about 30 bytes a row where a key of its own took 130.
     */
    sent: (orderId: OrderId, recipient: string | undefined): SentMarker => ({
      key: `${prefix}:sent:${Math.floor(orderId / 100)}`,
      field: `${orderId % 100}:${recipientDigest(recipient)}`,
    }),
    /** Hash: a lane's 429 backoff, halt and counters. */
    lane: (lane: Lane) => `${prefix}:lane:${lane}`,
    /** Sorted set: the lane's requests over the longest window, for the rolling limiter. */
    laneLog: (lane: Lane) => `${prefix}:lane:${lane}:log`,
    /** BullMQ's own limiter key for the lane's queue: set to pause fetching lane-wide. */
    bullLimiter: (lane: Lane) => `${prefix}:${lane}:limiter`,
  };
}

export type RedisKeys = ReturnType<typeof redisKeys>;

/** A sent marker: one field of a bucket hash. */
export interface SentMarker {
  readonly key: string;
  readonly field: string;
}

/** Recipients are compared case-insensitively, and never appear in key names. */
function recipientDigest(recipient: string | undefined): string {
  if (recipient === undefined) return '-';
  return createHash('sha256').update(recipient.toLowerCase()).digest('base64url').slice(0, 16);
}

/** Batch ids go into key names: a short, plain token. */
export const BATCH_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function newBatchId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${createHash('sha256').update(`${now.getTime()}${Math.random()}`).digest('hex').slice(0, 6)}`;
}

/** BullMQ job id of a row: re-enqueueing the same batch never creates a second job. */
export function jobIdFor(batchId: string, line: number): string {
  return `${batchId}#${line}`;
}
