import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BatchRecord } from '../../src/batches/store.js';
import type { Runtime } from '../../src/runtime.js';

export function csv(text: string): Readable {
  return Readable.from([Buffer.from(text)]);
}

/** Waits until a batch is done (or the deadline passes) and returns its record. */
export async function waitForBatch(
  runtime: Runtime,
  batchId: string,
  timeoutMs = 30_000,
): Promise<BatchRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const batch = await runtime.store.get(batchId);
    if (batch?.state === 'done') return batch;
    if (Date.now() > deadline)
      throw new Error(`batch ${batchId} not done: ${JSON.stringify(batch)}`);
    await sleep(50);
  }
}

/** All items of an async iterable, in order. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}
