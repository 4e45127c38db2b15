import { Counter, Gauge, Registry } from 'prom-client';
import { LANES } from '../queue/lanes.js';
import type { Runtime } from '../runtime.js';
import { laneViews } from './batch-view.js';

const JOB_STATES = ['waiting', 'active', 'delayed', 'failed', 'paused'] as const;

/**
 * Prometheus metrics, read from Redis at each scrape: they cover every worker process,
 * not just this one.
 */
export function createMetrics(runtime: Runtime): Registry {
  const registry = new Registry();
  // Metrics are collected in parallel: each scrape reads the lanes and the stats once.
  const lanes = oncePerScrape(() => laneViews(runtime));
  const stats = oncePerScrape(() => runtime.store.stats());

  new Counter({
    name: 'sealmail_seals_sent_total',
    help: 'Site seal emails CertCentral accepted (2xx)',
    registers: [registry],
    async collect() {
      this.reset();
      this.inc((await stats()).sent);
    },
  });
  new Counter({
    name: 'sealmail_rows_failed_total',
    help: 'Rows failed for good, by CertCentral error code',
    labelNames: ['code'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [code, count] of Object.entries((await stats()).failed)) this.inc({ code }, count);
    },
  });
  const perLane = (
    name: string,
    help: string,
    kind: typeof Counter | typeof Gauge,
    value: (view: Awaited<ReturnType<typeof laneViews>>['throttled']) => number,
  ) =>
    new kind({
      name,
      help,
      labelNames: ['lane'],
      registers: [registry],
      async collect(this: Counter | Gauge) {
        const views = await lanes();
        this.reset();
        for (const lane of LANES) {
          if (this instanceof Counter) this.inc({ lane }, value(views[lane]));
          else this.set({ lane }, value(views[lane]));
        }
      },
    });
  perLane(
    'sealmail_rate_limited_total',
    'Requests CertCentral answered 429, by lane',
    Counter,
    (v) => v.rateLimited,
  );
  perLane('sealmail_lane_pauses_total', 'Lane pauses started by a 429', Counter, (v) => v.pauses);
  perLane(
    'sealmail_effective_rate',
    'Requests per second the lane may sustain now (configured and adaptive windows); -1: unlimited',
    Gauge,
    (v) => v.effectiveRatePerSecond ?? -1,
  );
  perLane(
    'sealmail_lane_stopped',
    '1 when the lane is stopped because CertCentral refused the key',
    Gauge,
    (v) => (v.halt ? 1 : 0),
  );
  new Gauge({
    name: 'sealmail_queue_jobs',
    help: 'Jobs in each lane by state',
    labelNames: ['lane', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const lane of LANES) {
        const counts = await runtime.queues[lane].getJobCounts(...JOB_STATES);
        for (const state of JOB_STATES) this.set({ lane, state }, counts[state] ?? 0);
      }
    },
  });
  return registry;
}

/** Shares one read between the collectors of a scrape. */
function oncePerScrape<T>(read: () => Promise<T>, ttlMs = 500): () => Promise<T> {
  let cached: { at: number; value: Promise<T> } | undefined;
  return () => {
    if (!cached || Date.now() - cached.at > ttlMs) cached = { at: Date.now(), value: read() };
    return cached.value;
  };
}
