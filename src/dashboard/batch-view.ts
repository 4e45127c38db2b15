import type { BatchRecord, ProblemPage, TimelinePoint } from '../batches/store.js';
import { sustainedRate } from '../limits/adaptive.js';
import { type LaneStats, readLaneStats } from '../limits/lane-limiter.js';
import { withMargin } from '../limits/windows.js';
import { LANES, type Lane } from '../queue/lanes.js';
import type { Runtime } from '../runtime.js';

/** A batch as the dashboard and `status --json` show it. */
export interface BatchView extends BatchRecord {
  /** Share of rows settled, 0 to 1. */
  readonly progress: number;
  /** Rows settled per second over the last minute. */
  readonly pacePerSecond: number;
  /** Seconds until every pending row is settled at the current pace (or at the lanes' rate). */
  readonly etaSeconds: number | null;
}

export interface BatchDetail extends BatchView {
  readonly lanes: Record<Lane, LaneStats & { readonly effectiveRatePerSecond: number | null }>;
  readonly timeline: TimelinePoint[];
  /** The first page of failed and rejected rows; `GET …/problems` gives the others. */
  readonly problems: ProblemPage;
}

export async function batchView(runtime: Runtime, batch: BatchRecord): Promise<BatchView> {
  // Over the last minute, or since the batch started if that is shorter.
  const since = batch.startedAt ? Date.now() - batch.startedAt : 0;
  const pace =
    batch.state === 'done' || !batch.startedAt
      ? 0
      : await runtime.store.pace(batch.id, Math.min(60_000, Math.max(1_000, since)));
  const pending = batch.counts.pending;
  const settled = batch.total - pending;
  let eta: number | null = null;
  if (pending === 0) eta = 0;
  else if (pace > 0) eta = Math.round(pending / pace);
  else {
    const rate = await effectiveRate(runtime, 'throttled');
    if (rate !== null && Number.isFinite(rate) && rate > 0) eta = Math.round(pending / rate);
  }
  return {
    ...batch,
    progress: batch.total ? settled / batch.total : 1,
    pacePerSecond: Math.round(pace * 100) / 100,
    etaSeconds: eta,
  };
}

export async function batchDetail(runtime: Runtime, batch: BatchRecord): Promise<BatchDetail> {
  const [view, timeline, problems, lanes] = await Promise.all([
    batchView(runtime, batch),
    runtime.store.timeline(batch.id),
    runtime.store.problems(batch.id),
    laneViews(runtime),
  ]);
  return { ...view, lanes, timeline, problems };
}

export async function laneViews(runtime: Runtime) {
  return Object.fromEntries(
    await Promise.all(
      LANES.map(async (lane) => {
        const stats = await readLaneStats(
          runtime.redis,
          runtime.keys,
          lane,
          runtime.config.adaptive.windowMs,
        );
        return [lane, { ...stats, effectiveRatePerSecond: rateOf(runtime, lane, stats) }] as const;
      }),
    ),
  ) as BatchDetail['lanes'];
}

/** Requests per second a lane may sustain now: its windows and adaptive window, or null (no limit). */
export async function effectiveRate(runtime: Runtime, lane: Lane): Promise<number | null> {
  const stats = await readLaneStats(
    runtime.redis,
    runtime.keys,
    lane,
    runtime.config.adaptive.windowMs,
  );
  return rateOf(runtime, lane, stats);
}

function rateOf(runtime: Runtime, lane: Lane, stats: LaneStats): number | null {
  const windows = withMargin(runtime.config.limits[lane], runtime.config.limitMargin);
  const rate = sustainedRate(stats.adaptive ? [...windows, stats.adaptive] : windows);
  return Number.isFinite(rate) ? Math.round(rate * 100) / 100 : null;
}
