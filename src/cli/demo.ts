import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config.js';
import { newBatchId } from '../queue/keys.js';
import { deleteByPrefix } from '../redis.js';
import { openRuntime } from '../runtime.js';
import { startSimulator } from '../simulator/server.js';
import { commandLogger } from './context.js';
import { EXIT, runBatch } from './run.js';

export const DEMO_CSV = fileURLToPath(new URL('../../../examples/orders.csv', import.meta.url));
const DEMO_KEY = 'demo-key-not-a-real-key';

/**
 * `sealmail demo`: a rehearsal on built-in defaults. Starts the simulator (with 5% of
 * requests failing 500/503 and CertCentral's documented limits), then runs the sample batch
 * against it under a Redis prefix of its own, deleted afterwards, so no real data is touched.
 */
export async function demoCommand(flags: { file?: string; report: string }): Promise<number> {
  const sim = await startSimulator({ apiKey: DEMO_KEY, failRate: 0.05 });
  const base = loadConfig();
  const batchId = `demo-${newBatchId()}`;
  const config = {
    ...base,
    apiKey: DEMO_KEY,
    baseUrl: sim.baseUrl,
    // A prefix of its own, removed afterwards: a rehearsal leaves nothing behind in Redis.
    prefix: `${base.prefix}-${batchId}`,
    log: { ...base.log, level: base.log.level === 'info' ? 'warn' : base.log.level },
  };
  const file = flags.file ?? DEMO_CSV;
  process.stderr.write(`demo: CertCentral simulator at ${sim.baseUrl}, batch from ${file}\n`);
  const runtime = await openRuntime(config, commandLogger(config, 'stderr'));
  try {
    const code = await runBatch(runtime, {
      file,
      batchId,
      resend: true,
      reportPath: flags.report,
    });
    const stats = sim.stats();
    process.stderr.write(
      `demo: the simulator saw ${stats.requests} requests (${JSON.stringify(stats.byStatus)}) ` +
        `and delivered ${stats.deliveries} seal emails\n`,
    );
    // The sample batch holds bad rows on purpose: a finished rehearsal is a success.
    return code === EXIT.rowsNotSent ? EXIT.ok : code;
  } finally {
    await deleteByPrefix(runtime.redis, config.prefix);
    await runtime.close();
    await sim.close();
  }
}
