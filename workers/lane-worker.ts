/**
 * Process entry point of a lane worker, for process managers that start a script:
 * config → logger → Redis and queues → workers, until SIGINT/SIGTERM.
 * Same as `sealmail worker --lane LANE`, with the lane (default all) as the first argument.
 */
import { reportFailure } from '../src/cli/context.js';
import { workerCommand } from '../src/cli/worker.js';

const lane = process.argv[2] ?? 'all';
workerCommand({ lane }).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.exitCode = reportFailure(error);
  },
);
