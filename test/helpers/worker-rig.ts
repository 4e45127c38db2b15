import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import {
  type Simulator,
  type SimulatorOptions,
  startSimulator,
} from '../../src/simulator/server.js';
import { startWorkerProcess, stopProcess } from './cli.js';
import { dropPrefix, redisUrl, testConfig, testPrefix } from './redis.js';

/**
 * What a test of `sealmail worker` processes needs: a simulator, a runtime on a key prefix of
 * its own (to enqueue and to read the batch), and one worker process at a time. Registers its
 * own set-up and clean-up in the enclosing `describe`.
 */
export interface WorkerRig {
  readonly sim: Simulator;
  readonly runtime: Runtime;
  /** A worker process's environment: this rig's Redis prefix, key and simulator, plus `extra`. */
  env(extra?: Record<string, string>): Record<string, string>;
  /** Starts a worker process with `env(extra)`; it is killed at clean-up if still running. */
  startWorker(extra?: Record<string, string>): Promise<ChildProcess>;
  /** Stops the running worker process and waits for its exit code. */
  stopWorker(signal?: NodeJS.Signals): Promise<number | null>;
}

export function workerRig(name: string, simulator: Omit<SimulatorOptions, 'apiKey'>): WorkerRig {
  const key = `${name}-test-key`;
  const prefix = testPrefix(name);
  let sim: Simulator | undefined;
  let runtime: Runtime | undefined;
  let worker: ChildProcess | undefined;

  beforeAll(async () => {
    sim = await startSimulator({ limits: [], ...simulator, apiKey: key });
    runtime = await openRuntime(testConfig({ SEAL_PREFIX: prefix }), silentLogger());
  });
  afterAll(async () => {
    if (worker) await stopProcess(worker, 'SIGKILL');
    if (runtime) {
      await dropPrefix(runtime.redis, prefix);
      await runtime.close();
    }
    await sim?.close();
  });

  const rig: WorkerRig = {
    get sim() {
      if (!sim) throw new Error('the rig is used before its set-up ran');
      return sim;
    },
    get runtime() {
      if (!runtime) throw new Error('the rig is used before its set-up ran');
      return runtime;
    },
    env: (extra = {}) => ({
      REDIS_URL: redisUrl(),
      SEAL_PREFIX: prefix,
      CERTCENTRAL_API_KEY: key,
      CERTCENTRAL_BASE_URL: rig.sim.baseUrl,
      ...extra,
    }),
    async startWorker(extra = {}) {
      worker = await startWorkerProcess(rig.env(extra));
      return worker;
    },
    async stopWorker(signal) {
      if (!worker) throw new Error('no worker process is running');
      const code = await stopProcess(worker, signal);
      worker = undefined;
      return code;
    },
  };
  return rig;
}
