import { loadConfig } from '../config.js';
import { UsageError } from '../errors.js';
import { parseWindows } from '../limits/windows.js';
import { parseOrderSet } from '../simulator/order-set.js';
import { DOCUMENTED_LIMITS, type SimulatorOptions, startSimulator } from '../simulator/server.js';
import { commandLogger, untilSignal } from './context.js';

export interface SimulateFlags {
  readonly port: string;
  readonly host: string;
  readonly key?: string;
  readonly orders: string;
  readonly limits?: string;
  readonly recipientLimits?: string;
  readonly failRate: string;
  readonly resetRate: string;
  readonly slowRate: string;
  readonly slowMs: string;
  readonly latencyMs: string;
  readonly record?: string;
}

/** `sealmail simulate`: a local CertCentral stand-in, until SIGINT/SIGTERM. */
export async function simulateCommand(flags: SimulateFlags): Promise<number> {
  const config = loadConfig();
  const logger = commandLogger(config, 'stdout');
  const options = simulatorOptions(flags, config.apiKey);
  const port = integer('--port', flags.port, 0, 65_535);
  const sim = await startSimulator(options, { port, host: flags.host });
  logger.info(
    {
      baseUrl: sim.baseUrl,
      orders: options.orders?.text,
      recipientLimits: flags.recipientLimits ?? 'none',
      failRate: options.failRate,
      resetRate: options.resetRate,
      slowRate: options.slowRate,
    },
    'CertCentral simulator listening: set CERTCENTRAL_BASE_URL to baseUrl',
  );
  await untilSignal();
  logger.info(sim.stats(), 'simulator stopped');
  await sim.close();
  return 0;
}

export function simulatorOptions(
  flags: SimulateFlags,
  fallbackKey: string | undefined,
): SimulatorOptions {
  const rate = (name: string, value: string) => {
    const n = Number(value);
    if (!(n >= 0 && n <= 1))
      throw new UsageError(`${name} must be between 0 and 1 (got "${value}")`);
    return n;
  };
  const windows = (name: string, value: string) => {
    try {
      return parseWindows(value);
    } catch (error) {
      throw new UsageError(`${name}: ${(error as Error).message}`);
    }
  };
  let orders: SimulatorOptions['orders'];
  try {
    orders = parseOrderSet(flags.orders);
  } catch (error) {
    throw new UsageError(`--orders: ${(error as Error).message}`);
  }
  return {
    apiKey: flags.key ?? fallbackKey ?? 'demo-key',
    orders,
    limits: flags.limits === undefined ? DOCUMENTED_LIMITS : windows('--limits', flags.limits),
    recipientLimits: flags.recipientLimits
      ? windows('--recipient-limits', flags.recipientLimits)
      : [],
    failRate: rate('--fail-rate', flags.failRate),
    resetRate: rate('--reset-rate', flags.resetRate),
    slowRate: rate('--slow-rate', flags.slowRate),
    slowMs: integer('--slow-ms', flags.slowMs, 0, 3_600_000),
    latencyMs: integer('--latency-ms', flags.latencyMs, 0, 60_000),
    ...(flags.record ? { recordFile: flags.record } : {}),
  };
}

function integer(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`${name} must be a whole number from ${min} to ${max} (got "${value}")`);
  }
  return n;
}
