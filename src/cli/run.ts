import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeReport } from '../batches/report.js';
import type { BatchRecord } from '../batches/store.js';
import { startLaneWorkers } from '../queue/lane-workers.js';
import { LANES } from '../queue/lanes.js';
import { enqueueBatch } from '../queue/producer.js';
import type { Runtime } from '../runtime.js';
import { untilSignal, withRuntime } from './context.js';
import { assertReadable, printSummary } from './enqueue.js';
import { batchIdOption } from './options.js';
import { ProgressReporter } from './progress.js';

export interface RunFlags {
  readonly batch?: string;
  readonly report?: string;
  readonly resend?: boolean;
}

/** Exit codes of `run`, as documented in the README. */
export const EXIT = { ok: 0, rowsNotSent: 3, keyRefused: 4, interrupted: 1 } as const;

/** `sealmail run FILE`: enqueue, work both lanes in this process, exit when the batch is done. */
export async function runCommand(file: string, flags: RunFlags): Promise<number> {
  const batchId = batchIdOption(flags.batch);
  await assertReadable(file);
  return withRuntime('stderr', (runtime) =>
    runBatch(runtime, { file, batchId, resend: flags.resend ?? false, reportPath: flags.report }),
  );
}

export interface RunBatchOptions {
  readonly file: string;
  readonly batchId: string;
  readonly resend: boolean;
  readonly reportPath: string | undefined;
}

export async function runBatch(runtime: Runtime, options: RunBatchOptions): Promise<number> {
  const { store } = runtime;
  const err = process.stderr;
  const workers = await startLaneWorkers(runtime, LANES);
  const run: { stop: 'done' | 'halted' | 'signal' } = { stop: 'done' };
  const halted = workers.halted.then((h) => {
    run.stop = 'halted';
    return h;
  });
  const signalled = untilSignal().then((signal) => {
    run.stop = 'signal';
    return signal;
  });
  let batch: BatchRecord | undefined;
  try {
    const summary = await enqueueBatch(runtime, {
      input: options.file,
      batchId: options.batchId,
      source: basename(options.file),
      resend: options.resend,
    });
    printSummary(summary);
    const progress = new ProgressReporter(process.stderr);
    for (;;) {
      batch = await store.get(options.batchId);
      if (!batch) throw new Error(`batch ${options.batchId} disappeared from Redis`);
      if (batch.state === 'done' || run.stop !== 'done') break;
      progress.update(batch);
      await Promise.race([sleep(250), halted, signalled]);
    }
    progress.finish(batch);
  } finally {
    await workers.close();
  }

  if (options.reportPath) {
    const count = await writeReport(options.reportPath, store.rows(options.batchId));
    err.write(`report: ${count} rows written to ${options.reportPath}\n`);
  }
  if (run.stop === 'halted') {
    const { halt } = await halted;
    err.write(
      `sealmail: CertCentral refused the API key (HTTP ${halt.status} ${halt.reason}). ` +
        `Nothing was lost: the remaining rows stay queued. Fix CERTCENTRAL_API_KEY and run again ` +
        `(sealmail run ${options.file} --batch ${options.batchId}, or sealmail worker).\n`,
    );
    return EXIT.keyRefused;
  }
  if (run.stop === 'signal') {
    err.write(
      `stopped: batch ${options.batchId} keeps its queued rows; \`sealmail worker\` continues it\n`,
    );
    return EXIT.interrupted;
  }
  const c = batch.counts;
  err.write(
    `batch ${batch.id} done: ${c.sent} sent, ${c.already_sent} already sent, ${c.failed} failed, ${c.rejected} rejected\n`,
  );
  return c.failed + c.rejected > 0 ? EXIT.rowsNotSent : EXIT.ok;
}
