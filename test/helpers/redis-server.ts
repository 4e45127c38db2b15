import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

/** A private `redis-server` of a test or benchmark, never the shared one. */
export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** Its working directory (AOF, cluster config). */
  readonly dir: string;
  /** Stops it (SIGKILL for a crash) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface RedisServerOptions {
  /** @defaultValue a free port */
  readonly port?: number;
  /** @defaultValue a new temporary directory */
  readonly dir?: string;
  /** Extra arguments, after the defaults (no persistence): later ones win. */
  readonly args?: readonly string[];
}

export function redisServerInstalled(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Starts `redis-server` and resolves once it answers PING (after loading its data). */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'sealmail-redis-'));
  const child: ChildProcess = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      ...(options.args ?? []),
    ],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  for (let tries = 0; ; tries++) {
    const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null });
    probe.on('error', () => undefined);
    const ready = await probe
      .connect()
      .then(() => probe.ping())
      .then(
        (answer) => answer === 'PONG',
        () => false,
      );
    probe.disconnect();
    if (ready) break;
    if (tries > 200 || child.exitCode !== null)
      throw new Error(`redis-server did not start on port ${port}`);
    await sleep(50);
  }
  return {
    url,
    port,
    dir,
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}
