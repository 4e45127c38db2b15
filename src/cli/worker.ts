import { UsageError } from '../errors.js';
import { startLaneWorkers } from '../queue/lane-workers.js';
import { parseLaneOption } from '../queue/lanes.js';
import { untilSignal, withRuntime } from './context.js';
import { EXIT } from './run.js';

/** `sealmail worker`: works the lanes until SIGINT/SIGTERM, or until the key is refused. */
export async function workerCommand(flags: { lane: string }): Promise<number> {
  let lanes: ReturnType<typeof parseLaneOption>;
  try {
    lanes = parseLaneOption(flags.lane);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return withRuntime('stdout', async (runtime) => {
    const workers = await startLaneWorkers(runtime, lanes);
    const stopped = await Promise.race([
      untilSignal().then((signal) => ({ signal }) as const),
      workers.halted.then((halted) => ({ halted }) as const),
    ]);
    runtime.logger.info(stopped, 'stopping: finishing in-flight requests');
    await workers.close();
    if ('halted' in stopped) {
      process.stderr.write(
        `sealmail: CertCentral refused the API key (HTTP ${stopped.halted.halt.status} ${stopped.halted.halt.reason}); ` +
          'every lane is stopped and its jobs kept. Fix CERTCENTRAL_API_KEY and start the worker again.\n',
      );
      return EXIT.keyRefused;
    }
    return 0;
  });
}
