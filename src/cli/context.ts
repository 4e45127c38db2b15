import { type Config, loadConfig } from '../config.js';
import { SealmailError } from '../errors.js';
import { createLogger, type Logger } from '../logger.js';
import { openRuntime, type Runtime } from '../runtime.js';

/** Where a command's logs go: stdout for services, stderr for commands whose stdout is a result. */
export type LogTarget = 'stdout' | 'stderr';

export function commandLogger(config: Config, target: LogTarget): Logger {
  return createLogger({
    level: config.log.level,
    pretty: config.log.pretty,
    secrets: [config.apiKey, config.dashboard.token],
    destination: target === 'stdout' ? process.stdout : process.stderr,
  });
}

/** Config → logger → Redis and queues → the command; resources released in `finally`. */
export async function withRuntime<T>(
  target: LogTarget,
  command: (runtime: Runtime) => Promise<T>,
  overrides: (config: Config) => Config = (c) => c,
): Promise<T> {
  const config = overrides(loadConfig());
  const logger = commandLogger(config, target);
  const runtime = await openRuntime(config, logger);
  try {
    return await command(runtime);
  } finally {
    await runtime.close();
  }
}

/** Prints a user-facing failure on one line and sets the exit code. */
export function reportFailure(error: unknown): number {
  if (error instanceof SealmailError) {
    process.stderr.write(`sealmail: ${error.message}\n`);
    return error.exitCode;
  }
  // Not something a user can fix: the stack is what a bug report needs.
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`sealmail: unexpected error: ${detail}\n`);
  return 1;
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handler = (signal: NodeJS.Signals) => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      resolve(signal);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}
