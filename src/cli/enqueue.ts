import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { loadConfig } from '../config.js';
import { UsageError } from '../errors.js';
import { redisKeys } from '../queue/keys.js';
import { type EnqueueSummary, enqueueBatch, planRows } from '../queue/producer.js';
import { connectRedis } from '../redis.js';
import { withRuntime } from './context.js';
import { batchIdOption } from './options.js';

export interface EnqueueFlags {
  readonly batch?: string;
  readonly resend?: boolean;
  readonly dryRun?: boolean;
}

/** Fails early, with one line, on a file that cannot be read. */
export async function assertReadable(file: string): Promise<void> {
  try {
    const info = await stat(file);
    if (info.isDirectory()) throw new UsageError(`${file}: is a directory, not a CSV file`);
    await access(file, constants.R_OK);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code;
    throw new UsageError(`${file}: ${reason}`, { cause: error });
  }
}

/** `sealmail enqueue FILE`: validate and queue; prints the batch id on stdout. */
export async function enqueueCommand(file: string, flags: EnqueueFlags): Promise<number> {
  if (flags.dryRun) return dryRun(file, flags);
  const batchId = batchIdOption(flags.batch);
  await assertReadable(file);
  const summary = await withRuntime('stderr', (runtime) =>
    enqueueBatch(runtime, {
      input: file,
      batchId,
      source: basename(file),
      resend: flags.resend ?? false,
    }),
  );
  printSummary(summary);
  process.stdout.write(`${summary.batchId}\n`);
  return 0;
}

export function printSummary(summary: EnqueueSummary): void {
  const err = process.stderr;
  err.write(
    `batch ${summary.batchId}: ${summary.rows} rows, ${summary.queued.throttled} queued with a recipient (throttled lane), ` +
      `${summary.queued.direct} without (direct lane), ${summary.alreadySent} already sent, ${summary.rejected} rejected\n`,
  );
  for (const row of summary.rejectedRows) err.write(`  line ${row.line}: ${row.reason}\n`);
  if (summary.rejected > summary.rejectedRows.length) {
    err.write(`  … and ${summary.rejected - summary.rejectedRows.length} more (see the report)\n`);
  }
}

/** Validates and prints every row that would be sent; queues nothing. */
async function dryRun(file: string, flags: EnqueueFlags): Promise<number> {
  await assertReadable(file);
  const config = loadConfig();
  const redis = flags.resend
    ? undefined
    : await connectRedis(config.redisUrl, { cluster: config.redisCluster });
  const keys = redisKeys(config.prefix);
  const counts = { send: 0, rejected: 0, alreadySent: 0 };
  try {
    const out = process.stdout;
    out.write('line\torder_id\trecipient_email\tlane_or_status\treason\n');
    for await (const chunk of planRows(file, async (rows) => {
      if (!redis) return rows.map(() => false);
      const results = await Promise.all(
        rows.map(async (r) => {
          const marker = keys.sent(r.orderId, r.recipient);
          return Number((await redis.hget(marker.key, marker.field)) ?? 0) > Date.now() / 1000
            ? 1
            : 0;
        }),
      );
      return results.map((n) => n === 1);
    })) {
      for (const planned of chunk) {
        if (planned.kind === 'send') {
          counts.send++;
          out.write(
            `${planned.line}\t${planned.row.orderId}\t${planned.row.recipient ?? ''}\t${planned.lane}\t\n`,
          );
        } else {
          const r = planned.record;
          if (r.status === 'already_sent') counts.alreadySent++;
          else counts.rejected++;
          out.write(
            `${r.line}\t${r.orderId}\t${r.recipient}\t${r.status}\t${r.errorMessage ?? ''}\n`,
          );
        }
      }
    }
  } finally {
    redis?.disconnect();
  }
  process.stderr.write(
    `dry run: ${counts.send} would be sent, ${counts.alreadySent} already sent, ${counts.rejected} rejected; nothing queued\n`,
  );
  return 0;
}
