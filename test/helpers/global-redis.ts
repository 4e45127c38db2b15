import type { TestProject } from 'vitest/node';
import { redisServerInstalled, startRedisServer } from './redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/**
 * Finds a real Redis for the tests, in this order: REDIS_URL; a testcontainers Redis
 * where Docker runs; a `redis-server` from PATH on a free port. Each test file then
 * works under its own key prefix.
 */
export default async function setup(project: TestProject) {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv) {
    project.provide('redisUrl', fromEnv);
    return;
  }
  const container = await tryContainer();
  if (container) {
    project.provide('redisUrl', container.url);
    return container.stop;
  }
  const local = await tryRedisServer();
  if (local) {
    project.provide('redisUrl', local.url);
    return local.stop;
  }
  throw new Error(
    'no Redis for the tests: set REDIS_URL, start Docker, or install redis-server (apt-get install redis-server)',
  );
}

async function tryContainer(): Promise<{ url: string; stop: () => Promise<void> } | undefined> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await withTimeout(getContainerRuntimeClient(), 5_000);
  } catch {
    return undefined; // no Docker engine here
  }
  const { RedisContainer } = await import('@testcontainers/redis');
  const started = await new RedisContainer('redis:7-alpine').start();
  return {
    url: started.getConnectionUrl(),
    stop: async () => {
      await started.stop();
    },
  };
}

async function tryRedisServer(): Promise<{ url: string; stop: () => Promise<void> } | undefined> {
  if (!redisServerInstalled()) return undefined;
  const server = await startRedisServer();
  return { url: server.url, stop: () => server.stop() };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms)),
  ]);
}
