import type { Readable } from 'node:stream';
import { type ParsedRow, readRows } from '../../src/csv/read-rows.js';

/** Every row readRows yielded, and the error that ended the read early, if one did. */
export interface ReadOutcome {
  rows: ParsedRow[];
  error: unknown;
}

/**
 * Drains readRows, keeping the rows yielded before any error. A read that takes longer than
 * `hangMs` fails the test instead of stalling the run; `what` names the input in that failure.
 */
export async function readAllRows(
  input: string | Readable,
  hangMs: number,
  what: string,
): Promise<ReadOutcome> {
  const rows: ParsedRow[] = [];
  let timer: NodeJS.Timeout | undefined;
  const hang = new Error(`readRows hung on ${what}`);
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(hang), hangMs);
  });
  const read = (async () => {
    for await (const row of readRows(input)) rows.push(row);
  })();
  try {
    await Promise.race([read, hung]);
    return { rows, error: undefined };
  } catch (error) {
    if (error === hang) throw error;
    return { rows, error };
  } finally {
    clearTimeout(timer);
  }
}
