import type { Readable } from 'node:stream';
import type { RowRecord } from '../batches/row-record.js';
import type { RegisterResult } from '../batches/store.js';
import { type ParsedRow, readRows } from '../csv/read-rows.js';
import { rowIdentity, type ValidRow } from '../csv/row-schema.js';
import { SeenRows } from '../csv/seen-rows.js';
import type { Runtime } from '../runtime.js';
import { buildJob } from './jobs.js';
import { LANES, type Lane, laneFor } from './lanes.js';

export interface EnqueueOptions {
  readonly input: string | Readable;
  readonly batchId: string;
  /** Shown in `status` and reports. @defaultValue the file name */
  readonly source: string;
  /** Send rows whose (order, recipient) pair was already sent. @defaultValue false */
  readonly resend?: boolean;
  /** Called after each chunk with the rows read so far. */
  readonly onProgress?: (rowsRead: number) => void;
}

export interface RejectedRow {
  readonly line: number;
  readonly reason: string;
}

export interface EnqueueSummary {
  readonly batchId: string;
  readonly rows: number;
  readonly queued: Record<Lane, number>;
  readonly rejected: number;
  readonly alreadySent: number;
  /** The first rejected rows with their reasons (all of them are in the report). */
  readonly rejectedRows: RejectedRow[];
}

/** Rows written to Redis per round trip. */
const CHUNK = 500;
const REJECTS_KEPT = 100;

/** A row after validation, de-duplication and the already-sent check. */
export type PlannedRow =
  | { readonly line: number; readonly kind: 'send'; readonly row: ValidRow; readonly lane: Lane }
  | { readonly line: number; readonly kind: 'settled'; readonly record: RowRecord };

/**
 * Reads a CSV and queues one job per valid row, in chunks, keeping memory flat.
 * Re-running it for the same batch id adds only the rows the batch does not have yet.
 */
export async function enqueueBatch(
  runtime: Runtime,
  options: EnqueueOptions,
): Promise<EnqueueSummary> {
  const summary = emptySummary(options.batchId);
  await enqueueChunks(runtime, options, summary);
  await repairIfRedisLostWrites(runtime, options, summary.rows);
  await runtime.store.seal(options.batchId);
  return summary;
}

/** Chunks written to Redis at once: the next chunk is read while the last ones are stored. */
const CHUNKS_IN_FLIGHT = 2;

async function enqueueChunks(runtime: Runtime, options: EnqueueOptions, summary: EnqueueSummary) {
  const { store, queues, config, keys } = runtime;
  const resend = options.resend ?? false;
  // The batch is created once the header has proved usable: a bad file leaves nothing behind.
  let opened = false;
  const open = async () => {
    if (!opened) await store.open(options.batchId, options.source);
    opened = true;
  };

  const storeChunk = async (chunk: PlannedRow[]) => {
    const results = await store.register(
      options.batchId,
      chunk.map((planned) => ({
        record: toRecord(planned),
        // The register script checks the sent marker of the rows to send.
        sent:
          planned.kind === 'send'
            ? keys.sent(planned.row.orderId, planned.row.recipient)
            : undefined,
      })),
      resend,
    );
    const jobs = chunk.flatMap((planned, i) =>
      planned.kind === 'send' && results[i] === 'queue'
        ? [
            buildJob(config, {
              batch: options.batchId,
              line: planned.line,
              orderId: planned.row.orderId,
              recipient: planned.row.recipient,
              resend,
            }),
          ]
        : [],
    );
    await Promise.all(
      LANES.map((lane) => {
        const laneJobs = jobs.filter((j) => j.lane === lane).map((j) => j.job);
        return laneJobs.length ? queues[lane].addBulk(laneJobs) : undefined;
      }),
    );
    tally(summary, chunk, results);
    options.onProgress?.(summary.rows);
  };

  const inFlight = new Set<Promise<void>>();
  try {
    // Already-sent markers are checked by the register script, in the same round trip.
    for await (const chunk of planRows(options.input, async (rows) => rows.map(() => false))) {
      await open();
      const work = storeChunk(chunk);
      inFlight.add(work);
      work.then(
        () => inFlight.delete(work),
        () => undefined,
      );
      if (inFlight.size >= CHUNKS_IN_FLIGHT) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  } finally {
    await Promise.allSettled(inFlight);
  }
  await open();
}

/**
 * Redis with `appendfsync everysec` can lose the last second of writes when it crashes. If the
 * batch holds fewer rows than were read, the file is read again: registering is idempotent, so
 * this only restores the missing rows and the jobs of rows still pending.
 */
async function repairIfRedisLostWrites(
  runtime: Runtime,
  options: EnqueueOptions,
  rowsRead: number,
) {
  const stored = (await runtime.store.get(options.batchId))?.total ?? 0;
  if (stored >= rowsRead) return;
  if (typeof options.input !== 'string') {
    runtime.logger.error(
      { batch: options.batchId, rowsRead, stored },
      'Redis lost rows of this batch: enqueue it again',
    );
    return;
  }
  runtime.logger.warn(
    { batch: options.batchId, rowsRead, stored },
    'Redis lost rows while enqueueing: reading the file again',
  );
  await enqueueChunks(runtime, options, emptySummary(options.batchId));
}

/**
 * Validates, de-duplicates and checks the already-sent markers, chunk by chunk.
 * Also serves `enqueue --dry-run`.
 */
export async function* planRows(
  input: string | Readable,
  alreadySent: (rows: ValidRow[]) => Promise<boolean[]>,
): AsyncGenerator<PlannedRow[]> {
  const seen = new SeenRows();
  let pending: ParsedRow[] = [];
  const flush = async (): Promise<PlannedRow[]> => {
    const rows = pending;
    pending = [];
    const planned: PlannedRow[] = [];
    const fresh: { line: number; row: ValidRow }[] = [];
    for (const parsed of rows) {
      if (parsed.kind === 'rejected') {
        planned.push({ line: parsed.line, kind: 'settled', record: rejectedRecord(parsed) });
        continue;
      }
      const first = seen.firstLine(rowIdentity(parsed.row), parsed.line);
      if (first !== undefined) {
        planned.push({
          line: parsed.line,
          kind: 'settled',
          record: {
            ...baseRecord(parsed.line, parsed.row),
            status: 'rejected',
            errorCode: 'duplicate_row',
            errorMessage: `same order and recipient as line ${first}: sent once`,
          },
        });
        continue;
      }
      fresh.push({ line: parsed.line, row: parsed.row });
    }
    const sent = await alreadySent(fresh.map((f) => f.row));
    fresh.forEach(({ line, row }, i) => {
      planned.push(
        sent[i]
          ? {
              line,
              kind: 'settled',
              record: { ...baseRecord(line, row), status: 'already_sent', finishedAt: Date.now() },
            }
          : { line, kind: 'send', row, lane: laneFor(row.recipient) },
      );
    });
    return planned;
  };

  for await (const parsed of readRows(input)) {
    pending.push(parsed);
    if (pending.length >= CHUNK) yield await flush();
  }
  if (pending.length) yield await flush();
}

function baseRecord(line: number, row: ValidRow) {
  return { line, orderId: String(row.orderId), recipient: row.recipient ?? '' };
}

function rejectedRecord(parsed: Extract<ParsedRow, { kind: 'rejected' }>): RowRecord {
  return {
    line: parsed.line,
    status: 'rejected',
    orderId: parsed.orderCell,
    recipient: parsed.recipientCell,
    errorCode: 'invalid_row',
    errorMessage: parsed.reason,
  };
}

function toRecord(planned: PlannedRow): RowRecord {
  if (planned.kind === 'settled') return planned.record;
  return { ...baseRecord(planned.line, planned.row), status: 'pending' };
}

function emptySummary(batchId: string): EnqueueSummary {
  return {
    batchId,
    rows: 0,
    queued: { throttled: 0, direct: 0 },
    rejected: 0,
    alreadySent: 0,
    rejectedRows: [],
  };
}

function tally(
  summary: EnqueueSummary,
  chunk: readonly PlannedRow[],
  results: readonly RegisterResult[],
): void {
  const s = summary as { -readonly [K in keyof EnqueueSummary]: EnqueueSummary[K] };
  chunk.forEach((planned, i) => {
    s.rows += 1;
    if (planned.kind === 'send') {
      if (results[i] === 'already_sent') s.alreadySent += 1;
      else s.queued[planned.lane] += 1;
    } else if (planned.record.status === 'already_sent') {
      s.alreadySent += 1;
    } else {
      s.rejected += 1;
      if (s.rejectedRows.length < REJECTS_KEPT) {
        s.rejectedRows.push({ line: planned.line, reason: planned.record.errorMessage ?? '' });
      }
    }
  });
}
