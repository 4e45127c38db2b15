import { writeReport } from '../batches/report.js';
import type { BatchRecord } from '../batches/store.js';
import { UsageError } from '../errors.js';
import { type LaneStats, readLaneStats } from '../limits/lane-limiter.js';
import { LANES, type Lane } from '../queue/lanes.js';
import { withRuntime } from './context.js';
import { existingBatchId } from './options.js';
import { progressLine } from './progress.js';

/** `sealmail status BATCH [--json]`. */
export async function statusCommand(id: string, flags: { json?: boolean }): Promise<number> {
  const batchId = existingBatchId(id);
  return withRuntime('stderr', async ({ store, redis, keys, config }) => {
    const batch = await store.get(batchId);
    if (!batch) throw new UsageError(`no batch "${batchId}"`, { code: 'not_found' });
    const lanes = Object.fromEntries(
      await Promise.all(
        LANES.map(
          async (l) => [l, await readLaneStats(redis, keys, l, config.adaptive.windowMs)] as const,
        ),
      ),
    ) as Record<Lane, LaneStats>;
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({ ...batch, lanes }, null, 2)}\n`);
    } else {
      process.stdout.write(describeBatch(batch, lanes));
    }
    return 0;
  });
}

function describeBatch(batch: BatchRecord, lanes: Record<Lane, LaneStats>): string {
  const time = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : '-');
  const lines = [
    `batch     ${batch.id}  (${batch.source})`,
    `state     ${batch.state}`,
    `created   ${time(batch.createdAt)}   started ${time(batch.startedAt)}   finished ${time(batch.finishedAt)}`,
    `progress  ${progressLine(batch, 0)}`,
    ...LANES.map((lane) => {
      const s = lanes[lane];
      const paused =
        s.pausedUntil > Date.now()
          ? `, paused ${Math.ceil((s.pausedUntil - Date.now()) / 1000)}s more`
          : '';
      const halt = s.halt ? `, STOPPED: key refused (${s.halt.reason})` : '';
      const adaptive = s.adaptive ? `, adapted to ${s.adaptive.max}/${s.adaptive.windowMs}ms` : '';
      return `${`lane ${lane}`.padEnd(16)}429s ${s.rateLimited}, pauses ${s.pauses}${adaptive}${paused}${halt}`;
    }),
  ];
  return `${lines.join('\n')}\n`;
}

/** `sealmail report BATCH --out FILE`. */
export async function reportCommand(id: string, flags: { out: string }): Promise<number> {
  const batchId = existingBatchId(id);
  return withRuntime('stderr', async ({ store }) => {
    if (!(await store.get(batchId)))
      throw new UsageError(`no batch "${batchId}"`, { code: 'not_found' });
    const count = await writeReport(flags.out, await store.rows(batchId));
    process.stderr.write(`report: ${count} rows written to ${flags.out}\n`);
    return 0;
  });
}
