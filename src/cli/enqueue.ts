import { basename } from 'node:path';
import { loadConfig } from '../config.js';
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

/** `sealmail enqueue FILE`: validate and queue; prints the batch id on stdout. */
export async function enqueueCommand(file: string, flags: EnqueueFlags): Promise<number> {
  if (flags.dryRun) return dryRun(file, flags);
  const batchId = batchIdOption(flags.batch);
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
  const config = loadConfig();
  const redis = flags.resend ? undefined : await connectRedis(config.redisUrl);
  const keys = redisKeys(config.prefix);
  const counts = { send: 0, rejected: 0, alreadySent: 0 };
  try {
    const out = process.stdout;
    out.write('line\torder_id\trecipient_email\tlane_or_status\treason\n');
    for await (const chunk of planRows(file, async (rows) => {
      if (!redis) return rows.map(() => false);
      const results = await Promise.all(
        rows.map((r) => redis.exists(keys.sent(r.orderId, r.recipient))),
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
