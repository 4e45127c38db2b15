import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { reportText } from '../../batches/report.js';
import { retryFailed } from '../../batches/retry.js';
import { UsageError } from '../../errors.js';
import { BATCH_ID, newBatchId } from '../../queue/keys.js';
import { enqueueBatch } from '../../queue/producer.js';
import type { Runtime } from '../../runtime.js';
import { batchDetail, batchView } from '../batch-view.js';
import { errorResult, type HandlerResult, ok } from '../http.js';

/** GET /api/batches: the latest batches, newest first. */
export async function listBatches(runtime: Runtime, limit = 100): Promise<HandlerResult> {
  const ids = await runtime.store.list(Math.min(Math.max(limit, 1), 1000));
  const batches = [];
  for (const id of ids) {
    const batch = await runtime.store.get(id);
    if (batch) batches.push(await batchView(runtime, batch));
  }
  return ok({ batches });
}

/** GET /api/batches/:id */
export async function getBatch(runtime: Runtime, id: string): Promise<HandlerResult> {
  return withBatch(runtime, id, async (batch) => ok(await batchDetail(runtime, batch)));
}

/** GET /api/batches/:id/problems?after=LINE&limit=N: failed and rejected rows, a page at a time. */
export async function batchProblems(
  runtime: Runtime,
  id: string,
  query: { after?: string | undefined; limit?: string | undefined },
): Promise<HandlerResult> {
  const digits = (text: string | undefined, fallback: number) =>
    text === undefined ? fallback : /^\d{1,9}$/.test(text) ? Number(text) : Number.NaN;
  const after = digits(query.after, 0);
  const limit = digits(query.limit, 100);
  if (Number.isNaN(after))
    return errorResult(400, 'invalid_after', 'after must be a line number (0 for the first page)');
  if (Number.isNaN(limit) || limit < 1 || limit > 1_000)
    return errorResult(400, 'invalid_limit', 'limit must be between 1 and 1000');
  return withBatch(runtime, id, async (batch) =>
    ok(await runtime.store.problems(batch.id, after, limit)),
  );
}

/** GET /api/batches/:id/report.csv */
export async function batchReport(runtime: Runtime, id: string): Promise<HandlerResult> {
  return withBatch(runtime, id, async (batch) => {
    return {
      status: 200,
      // Streamed: a report of a million rows is never held whole.
      body: Readable.from(reportText(runtime.store.rows(batch.id))),
      headers: {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="sealmail-${batch.id}.csv"`,
      },
    };
  });
}

/** POST /api/batches/:id/retry: re-queues failed rows, never sent ones. */
export async function retryBatch(runtime: Runtime, id: string): Promise<HandlerResult> {
  return withBatch(runtime, id, async (batch) =>
    ok({ batchId: batch.id, requeued: await retryFailed(runtime, batch.id) }),
  );
}

export interface CreateBatchInput {
  /** The CSV; a multipart file stream says `truncated` when it hit its size limit. */
  readonly csv: Readable & { readonly truncated?: boolean };
  /** The largest CSV taken, in bytes. @defaultValue no limit */
  readonly maxBytes?: number;
  readonly batchId?: string | undefined;
  readonly source?: string | undefined;
  readonly resend?: boolean;
}

/**
 * POST /api/batches: a CSV in, a queued batch out, with the rows it rejected. The upload is
 * saved to a private temporary file first, so that the producer can read it again if Redis
 * loses rows while they are queued, as it does for a file.
 */
export async function createBatch(
  runtime: Runtime,
  input: CreateBatchInput,
): Promise<HandlerResult> {
  const batchId = input.batchId ?? newBatchId();
  if (!BATCH_ID.test(batchId))
    return errorResult(
      400,
      'invalid_batch_id',
      'batch id must be 1 to 64 letters, digits, dots, dashes or underscores',
    );
  const source = (input.source ?? 'upload').replace(/[^\w .-]/g, '_').slice(0, 100) || 'upload';
  const dir = await mkdtemp(join(tmpdir(), 'sealmail-upload-'));
  const file = join(dir, 'upload.csv');
  const tooLarge = () =>
    errorResult(413, 'too_large', `the CSV is larger than ${input.maxBytes} bytes`);
  try {
    let bytes = 0;
    const limit = input.maxBytes ?? Number.POSITIVE_INFINITY;
    const counted = async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        bytes += chunk.length;
        if (bytes > limit) throw new UploadTooLarge();
        yield chunk;
      }
    };
    await pipeline(input.csv, counted, createWriteStream(file, { mode: 0o600 }));
    // A multipart stream stops quietly at its limit: the last row may be cut short.
    if (input.csv.truncated) return tooLarge();
    const summary = await enqueueBatch(runtime, {
      input: file,
      batchId,
      source,
      resend: input.resend ?? false,
    });
    return ok(summary, 201);
  } catch (error) {
    if (error instanceof UploadTooLarge) return tooLarge();
    // The file's name is ours, not the caller's: keep it out of the answer.
    if (error instanceof UsageError)
      return errorResult(400, 'invalid_csv', error.message.replace(`${file}: `, ''));
    throw error;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

class UploadTooLarge extends Error {}

async function withBatch(
  runtime: Runtime,
  id: string,
  handle: (
    batch: NonNullable<Awaited<ReturnType<Runtime['store']['get']>>>,
  ) => Promise<HandlerResult>,
): Promise<HandlerResult> {
  // Checked before it goes near a Redis key: no other key can be reached from the URL.
  if (!BATCH_ID.test(id)) return errorResult(404, 'not_found|batch', 'no such batch');
  const batch = await runtime.store.get(id);
  if (!batch) return errorResult(404, 'not_found|batch', 'no such batch');
  return handle(batch);
}
