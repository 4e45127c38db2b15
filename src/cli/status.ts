import { setTimeout as sleep } from 'node:timers/promises';
import { writeReport } from '../batches/report.js';
import { retryFailed } from '../batches/retry.js';
import { type BatchView, batchView, laneViews } from '../dashboard/batch-view.js';
import { UsageError } from '../errors.js';
import { LANES } from '../queue/lanes.js';
import type { Runtime } from '../runtime.js';
import { untilSignal, withRuntime } from './context.js';
import { existingBatchId } from './options.js';
import { ProgressReporter, progressLine } from './progress.js';

async function findBatch(runtime: Runtime, batchId: string) {
  const batch = await runtime.store.get(batchId);
  if (!batch) throw new UsageError(`no batch "${batchId}"`, { code: 'not_found' });
  return batch;
}

/** `sealmail status BATCH [--json] [--watch]`. */
export async function statusCommand(
  id: string,
  flags: { json?: boolean; watch?: boolean },
): Promise<number> {
  const batchId = existingBatchId(id);
  return withRuntime('stderr', async (runtime) => {
    if (flags.watch) return watch(runtime, batchId);
    const view = await batchView(runtime, await findBatch(runtime, batchId));
    const lanes = await laneViews(runtime);
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({ ...view, lanes }, null, 2)}\n`);
      return 0;
    }
    const time = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : '-');
    const lines = [
      `batch     ${view.id}  (${view.source})`,
      `state     ${view.state}`,
      `created   ${time(view.createdAt)}   started ${time(view.startedAt)}   finished ${time(view.finishedAt)}`,
      `progress  ${progressLine(view, view.pacePerSecond)}`,
      `429s      ${view.rateLimited} (${view.pauses} lane pauses)`,
      ...LANES.map((lane) => {
        const s = lanes[lane];
        const rate =
          s.effectiveRatePerSecond === null ? 'no limit' : `${s.effectiveRatePerSecond} req/s`;
        const paused =
          s.pausedUntil > Date.now()
            ? `, paused ${Math.ceil((s.pausedUntil - Date.now()) / 1000)}s more`
            : '';
        const adaptive = s.adaptive
          ? `, adapted to ${s.adaptive.max}/${s.adaptive.windowMs}ms`
          : '';
        const halt = s.halt ? `, STOPPED: key refused (${s.halt.reason})` : '';
        return `${`lane ${lane}`.padEnd(16)}${rate}, 429s ${s.rateLimited}${adaptive}${paused}${halt}`;
      }),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  });
}

/** Follows a batch until it is done (or until SIGINT): a live bar on a terminal, lines otherwise. */
async function watch(runtime: Runtime, batchId: string): Promise<number> {
  const progress = new ProgressReporter(process.stderr);
  let stopped = false;
  void untilSignal().then(() => {
    stopped = true;
  });
  let view: BatchView;
  for (;;) {
    view = await batchView(runtime, await findBatch(runtime, batchId));
    if (view.state === 'done' || stopped) break;
    progress.update(view);
    await sleep(500);
  }
  progress.finish(view);
  return 0;
}

/** `sealmail batches`: the latest batches, newest first. */
export async function batchesCommand(flags: { limit: string; json?: boolean }): Promise<number> {
  const limit = Number(flags.limit);
  if (!Number.isInteger(limit) || limit < 1)
    throw new UsageError(`--limit must be a positive whole number`);
  return withRuntime('stderr', async (runtime) => {
    const views: BatchView[] = [];
    for (const id of await runtime.store.list(limit)) {
      const batch = await runtime.store.get(id);
      if (batch) views.push(await batchView(runtime, batch));
    }
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(views, null, 2)}\n`);
      return 0;
    }
    const rows = views.map((v) =>
      [
        v.id,
        v.state,
        `${Math.floor(v.progress * 100)}%`,
        `${v.counts.sent}/${v.total}`,
        String(v.counts.failed),
        String(v.counts.rejected),
        new Date(v.createdAt).toISOString().slice(0, 19),
        v.source,
      ].join('\t'),
    );
    process.stdout.write(
      ['batch\tstate\tdone\tsent/total\tfailed\trejected\tcreated\tsource', ...rows].join('\n') +
        '\n',
    );
    return 0;
  });
}

/** `sealmail report BATCH --out FILE`. */
export async function reportCommand(id: string, flags: { out: string }): Promise<number> {
  const batchId = existingBatchId(id);
  return withRuntime('stderr', async (runtime) => {
    await findBatch(runtime, batchId);
    const count = await writeReport(flags.out, runtime.store.rows(batchId));
    process.stderr.write(`report: ${count} rows written to ${flags.out}\n`);
    return 0;
  });
}

/** `sealmail retry BATCH [--failed]`: queues failed rows again; sent rows never. */
export async function retryCommand(id: string): Promise<number> {
  const batchId = existingBatchId(id);
  return withRuntime('stderr', async (runtime) => {
    await findBatch(runtime, batchId);
    const requeued = await retryFailed(runtime, batchId);
    process.stderr.write(`batch ${batchId}: ${requeued} failed rows queued again\n`);
    return 0;
  });
}
