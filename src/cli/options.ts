import { UsageError } from '../errors.js';
import { BATCH_ID, newBatchId } from '../queue/keys.js';

/** A batch id from `--batch`, checked, or a new one. */
export function batchIdOption(value: string | undefined): string {
  if (value === undefined) return newBatchId();
  if (!BATCH_ID.test(value)) {
    throw new UsageError(
      `--batch must be 1 to 64 letters, digits, dots, dashes or underscores (got "${value.slice(0, 70)}")`,
    );
  }
  return value;
}

/** A positional batch id, checked before it goes near a Redis key. */
export function existingBatchId(value: string): string {
  if (!BATCH_ID.test(value)) throw new UsageError(`"${value.slice(0, 70)}" is not a batch id`);
  return value;
}
