import type { Redis } from 'ioredis';
import type { RedisKeys } from '../queue/keys.js';
import type { Lane } from '../queue/lanes.js';
import {
  decodeRow,
  encodeRow,
  ROW_STATUSES,
  type RowRecord,
  type RowStatus,
} from './row-record.js';

/** A batch as stored: its source, its clock and its counters by row status. */
export interface BatchRecord {
  readonly id: string;
  readonly source: string;
  /** `enqueuing` while the producer still reads the file, then `queued`, then `done`. */
  readonly state: 'enqueuing' | 'queued' | 'done';
  readonly createdAt: number;
  readonly startedAt: number | undefined;
  readonly finishedAt: number | undefined;
  readonly total: number;
  readonly counts: Record<RowStatus, number>;
}

// Adds rows not seen before (a re-run of the same batch keeps what it knows) and counts them.
// Returns, per row: 1 added, 2 already there and still pending, 0 already there and finished.
const REGISTER = `
local batch, rows = KEYS[1], KEYS[2]
local result = {}
for i = 1, #ARGV, 2 do
  local line, record = ARGV[i], ARGV[i + 1]
  if redis.call('HSETNX', rows, line, record) == 1 then
    redis.call('HINCRBY', batch, 'total', 1)
    redis.call('HINCRBY', batch, ARGV[i + 1]:sub(1, 1), 1)
    result[#result + 1] = 1
  elseif redis.call('HGET', rows, line):sub(1, 1) == 'p' then
    result[#result + 1] = 2
  else
    result[#result + 1] = 0
  end
end
return result
`;

// Settles a pending row once: a second outcome for the same row (a job run twice) is ignored.
// A sent row marks its (order, recipient) pair as sent.
const SETTLE = `
local batch, rows, sent, lane = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local line, record, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
local current = redis.call('HGET', rows, line)
if current and current:sub(1, 1) ~= 'p' then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', rows, line, record)
if current then redis.call('HINCRBY', batch, 'p', -1) else redis.call('HINCRBY', batch, 'total', 1) end
redis.call('HINCRBY', batch, record:sub(1, 1), 1)
redis.call('HSETNX', batch, 'startedAt', now)
if record:sub(1, 1) == 's' then
  if ttl > 0 then redis.call('SET', sent, ARGV[4], 'EX', ttl) end
  -- A success ends the lane's 429 streak.
  redis.call('HSET', lane, 'streak', 0)
end
if redis.call('HGET', batch, 'state') == 'queued' and tonumber(redis.call('HGET', batch, 'p') or 0) <= 0 then
  redis.call('HSET', batch, 'state', 'done', 'finishedAt', now)
end
return 1
`;

// The producer has queued every row: the batch is done as soon as nothing is pending.
const SEAL = `
local batch = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if tonumber(redis.call('HGET', batch, 'p') or 0) <= 0 then
  redis.call('HSET', batch, 'state', 'done', 'finishedAt', now)
else
  redis.call('HSET', batch, 'state', 'queued')
end
return redis.call('HGET', batch, 'state')
`;

interface BatchCommands {
  sealmailRegisterRows(batch: string, rows: string, ...args: string[]): Promise<number[]>;
  sealmailSettleRow(
    batch: string,
    rows: string,
    sent: string,
    lane: string,
    line: string,
    record: string,
    ttl: number,
    marker: string,
  ): Promise<number>;
  sealmailSealBatch(batch: string): Promise<string>;
}

const LETTERS: Record<RowStatus, string> = {
  pending: 'p',
  sent: 's',
  failed: 'f',
  rejected: 'r',
  already_sent: 'a',
};

/** Batch records and row outcomes in Redis: correct with any number of workers on them. */
export class BatchStore {
  private readonly commands: BatchCommands;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {
    if (!('sealmailRegisterRows' in redis)) {
      redis.defineCommand('sealmailRegisterRows', { numberOfKeys: 2, lua: REGISTER });
      redis.defineCommand('sealmailSettleRow', { numberOfKeys: 4, lua: SETTLE });
      redis.defineCommand('sealmailSealBatch', { numberOfKeys: 1, lua: SEAL });
    }
    this.commands = redis as unknown as BatchCommands;
  }

  /** Creates the batch, or re-opens it for more rows when the id exists. */
  async open(batchId: string, source: string): Promise<void> {
    const key = this.keys.batch(batchId);
    const now = Date.now();
    await this.redis
      .multi()
      .hsetnx(key, 'createdAt', now)
      .hset(key, 'source', source, 'state', 'enqueuing')
      .zadd(this.keys.batches, 'NX', now, batchId)
      .exec();
  }

  /** Stores rows; answers, per row, whether it still needs a job (new or still pending). */
  async register(batchId: string, rows: readonly RowRecord[]): Promise<boolean[]> {
    if (rows.length === 0) return [];
    const args = rows.flatMap((row) => [String(row.line), encodeRow(row)]);
    const result = await this.commands.sealmailRegisterRows(
      this.keys.batch(batchId),
      this.keys.batchRows(batchId),
      ...args,
    );
    return result.map((flag, i) => flag !== 0 && rows[i]?.status === 'pending');
  }

  /** Marks the end of enqueueing. */
  async seal(batchId: string): Promise<void> {
    await this.commands.sealmailSealBatch(this.keys.batch(batchId));
  }

  /**
   * Records a row's final outcome once. A `sent` row also marks the (order, recipient) pair
   * as sent for `sentTtlSeconds` and ends its lane's 429 streak. Returns false when the row
   * had already been settled.
   */
  async settle(
    batchId: string,
    record: RowRecord,
    where: { readonly sentKey: string; readonly lane: Lane },
    sentTtlSeconds: number,
  ): Promise<boolean> {
    const settled = await this.commands.sealmailSettleRow(
      this.keys.batch(batchId),
      this.keys.batchRows(batchId),
      where.sentKey,
      this.keys.lane(where.lane),
      String(record.line),
      encodeRow(record),
      sentTtlSeconds,
      batchId,
    );
    return settled === 1;
  }

  async get(batchId: string): Promise<BatchRecord | undefined> {
    const hash = await this.redis.hgetall(this.keys.batch(batchId));
    if (!hash.createdAt) return undefined;
    const counts = Object.fromEntries(
      ROW_STATUSES.map((status) => [status, Number(hash[LETTERS[status]] ?? 0)]),
    ) as Record<RowStatus, number>;
    return {
      id: batchId,
      source: hash.source ?? '',
      state: (hash.state as BatchRecord['state']) ?? 'enqueuing',
      createdAt: Number(hash.createdAt),
      startedAt: hash.startedAt ? Number(hash.startedAt) : undefined,
      finishedAt: hash.finishedAt ? Number(hash.finishedAt) : undefined,
      total: Number(hash.total ?? 0),
      counts,
    };
  }

  /** Batch ids, newest first. */
  async list(limit = 100): Promise<string[]> {
    return this.redis.zrevrange(this.keys.batches, 0, limit - 1);
  }

  /** Every row of a batch, in line order. */
  async rows(batchId: string): Promise<RowRecord[]> {
    const rows: RowRecord[] = [];
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(
        this.keys.batchRows(batchId),
        cursor,
        'COUNT',
        1000,
      );
      cursor = next;
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const line = Number(flat[i]);
        rows.push(decodeRow(line, flat[i + 1] as string));
      }
    } while (cursor !== '0');
    return rows.sort((a, b) => a.line - b.line);
  }
}
