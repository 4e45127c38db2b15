import { parseOrderId } from '../order-id.js';
import { buildJob } from '../queue/jobs.js';
import { jobIdFor } from '../queue/keys.js';
import { LANES } from '../queue/lanes.js';
import type { Runtime } from '../runtime.js';

/**
 * Queues a batch's failed rows again; sent, already-sent and rejected rows are never touched.
 * Returns how many rows were re-queued.
 */
export async function retryFailed(runtime: Runtime, batchId: string): Promise<number> {
  const { store, queues, config } = runtime;
  const reopened = await store.reopenFailed(batchId);
  const jobs = reopened.flatMap((row) => {
    const orderId = parseOrderId(row.orderId);
    if (!orderId.ok) return [];
    return [
      buildJob(config, {
        batch: batchId,
        line: row.line,
        orderId: orderId.orderId,
        recipient: row.recipient || undefined,
      }),
    ];
  });
  for (const lane of LANES) {
    const laneJobs = jobs.filter((j) => j.lane === lane).map((j) => j.job);
    // The failed job still holds the row's job id: remove it so the row can be queued again.
    for (const job of laneJobs) {
      const previous = await queues[lane].getJob(jobIdFor(batchId, job.data.line));
      if (previous && (await previous.isFailed())) await previous.remove();
    }
    if (laneJobs.length) await queues[lane].addBulk(laneJobs);
  }
  if (jobs.length === 0) await store.seal(batchId);
  return jobs.length;
}
