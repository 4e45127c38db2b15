import type { RedisKeys, SentMarker } from '../queue/keys.js';
import type { Lane } from '../queue/lanes.js';
import type { RedisClient } from '../redis.js';
import {
  decodeRow,
  encodeRow,
  ROW_STATUSES,
  type RowRecord,
  type RowStatus,
} from './row-record.js';

/** A batch as stored: its source, its clock, its counters by row status and its 429s. */
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
  /** 429s answered to this batch's requests, and the lane pauses they started. */
  readonly rateLimited: number;
  readonly pauses: number;
}

export type RegisterResult = 'queue' | 'already_sent' | 'settled';

/** A page of a batch's failed and rejected rows. */
export interface ProblemPage {
  readonly rows: RowRecord[];
  /** Failed and rejected rows in the batch. */
  readonly total: number;
  /** The `after` line of the next page; null when this page is the last. */
  readonly next: number | null;
}

/** Sends, failures and 429s of a batch per 10-second bucket. */
export interface TimelinePoint {
  readonly at: number;
  readonly sent: number;
  readonly failed: number;
  readonly rateLimited: number;
}

export const TIMELINE_BUCKET_MS = 10_000;

// A finished batch is kept for the retention period (its keys expire together); a batch
// that gets rows again is kept until it is done again.
const expireDone = (keys: string, ttl: string) =>
  `for _, key in ipairs({${keys}}) do redis.call('EXPIRE', key, ${ttl}) end`;

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

// Adds rows not seen before (a re-run of the same batch keeps what it knows) and counts them.
// A new pending row whose (order, recipient) pair was sent before becomes already_sent, unless
// resending. KEYS batch, rows, problems, then one sent-marker hash per row; ARGV resend (1/0),
// then line/record/marker-field triples. Returns per row: 1 new and pending, 2 already there and still pending,
// 3 new and already sent, 4 new and settled (rejected), 0 already there and settled.
const REGISTER = `${NOW}
local batch, rows, problems = KEYS[1], KEYS[2], KEYS[3]
local resend = ARGV[1] == '1'
local result = {}
local maxLine = tonumber(redis.call('HGET', batch, 'maxLine') or 0)
for i = 2, #ARGV, 3 do
  local line, record, field = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local status = record:sub(1, 1)
  if redis.call('HEXISTS', rows, line) == 1 then
    result[#result + 1] = redis.call('HGET', rows, line):sub(1, 1) == 'p' and 2 or 0
  else
    local marker = KEYS[3 + (i + 1) / 3]
    if status == 'p' and not resend and tonumber(redis.call('HGET', marker, field) or 0) > now / 1000 then
      status = 'a'
      record = 'a' .. record:sub(2)
    end
    redis.call('HSET', rows, line, record)
    redis.call('HINCRBY', batch, 'total', 1)
    redis.call('HINCRBY', batch, status, 1)
    if status == 'r' then redis.call('ZADD', problems, line, line) end
    if tonumber(line) > maxLine then maxLine = tonumber(line) end
    result[#result + 1] = (status == 'p' and 1) or (status == 'a' and 3) or 4
  end
end
redis.call('HSET', batch, 'maxLine', maxLine)
return result
`;

// Settles a pending row once: a second outcome for the same row (a job run twice) is ignored.
// A sent row marks its (order, recipient) pair as sent and ends its lane's 429 streak.
// KEYS batch, rows, sent-marker hash, lane, timeline, stats, problems;
// ARGV line, record, ttl, error code, sent-marker field, batch retention (seconds).
const SETTLE = `${NOW}
local batch, rows, sent, lane, timeline, stats = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local problems = KEYS[7]
local line, record, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
local current = redis.call('HGET', rows, line)
if current and current:sub(1, 1) ~= 'p' then return 0 end
local status = record:sub(1, 1)
redis.call('HSET', rows, line, record)
if current then redis.call('HINCRBY', batch, 'p', -1) else redis.call('HINCRBY', batch, 'total', 1) end
redis.call('HINCRBY', batch, status, 1)
redis.call('HSETNX', batch, 'startedAt', now)
local bucket = math.floor(now / ${TIMELINE_BUCKET_MS}) * ${TIMELINE_BUCKET_MS}
if status == 's' then
  if ttl > 0 then
    redis.call('HSET', sent, ARGV[5], math.floor(now / 1000) + ttl)
    if redis.call('TTL', sent) < ttl then redis.call('EXPIRE', sent, ttl) end
  end
  redis.call('HSET', lane, 'streak', 0)
  redis.call('HINCRBY', timeline, bucket .. ':s', 1)
  redis.call('HINCRBY', stats, 's', 1)
elseif status == 'f' then
  redis.call('HINCRBY', timeline, bucket .. ':f', 1)
  redis.call('ZADD', problems, line, line)
  redis.call('HINCRBY', stats, 'f:' .. ARGV[4], 1)
elseif status == 'a' then
  redis.call('HINCRBY', stats, 'a', 1)
end
if redis.call('HGET', batch, 'state') == 'queued' and tonumber(redis.call('HGET', batch, 'p') or 0) <= 0 then
  redis.call('HSET', batch, 'state', 'done', 'finishedAt', now)
  ${expireDone('KEYS[1], KEYS[2], KEYS[5], KEYS[7]', 'ARGV[6]')}
end
return 1
`;

// The producer has queued every row: the batch is done as soon as nothing is pending.
// KEYS batch, rows, timeline, problems; ARGV batch retention (seconds).
const SEAL = `${NOW}
local batch = KEYS[1]
if tonumber(redis.call('HGET', batch, 'p') or 0) <= 0 then
  redis.call('HSET', batch, 'state', 'done', 'finishedAt', now)
  ${expireDone('KEYS[1], KEYS[2], KEYS[3], KEYS[4]', 'ARGV[1]')}
else
  redis.call('HSET', batch, 'state', 'queued')
end
return redis.call('HGET', batch, 'state')
`;

// Puts failed rows back to pending for a retry; returns the lines it reopened.
// KEYS batch, rows, problems, timeline; ARGV lines.
const REOPEN = `
local batch, rows, problems = KEYS[1], KEYS[2], KEYS[3]
local reopened = {}
for i = 1, #ARGV do
  local current = redis.call('HGET', rows, ARGV[i])
  if current and current:sub(1, 1) == 'f' then
    redis.call('HSET', rows, ARGV[i], 'p' .. current:sub(2))
    redis.call('HINCRBY', batch, 'f', -1)
    redis.call('HINCRBY', batch, 'p', 1)
    redis.call('ZREM', problems, ARGV[i])
    reopened[#reopened + 1] = ARGV[i]
  end
end
if #reopened > 0 then
  redis.call('HSET', batch, 'state', 'queued')
  redis.call('HDEL', batch, 'finishedAt')
  for _, key in ipairs(KEYS) do redis.call('PERSIST', key) end
end
return reopened
`;

// A 429 answered to one of the batch's requests; `started` when it began a lane pause.
const RATE_LIMITED = `${NOW}
local bucket = math.floor(now / ${TIMELINE_BUCKET_MS}) * ${TIMELINE_BUCKET_MS}
redis.call('HINCRBY', KEYS[1], 'rateLimited', 1)
if ARGV[1] == '1' then redis.call('HINCRBY', KEYS[1], 'pauses', 1) end
redis.call('HINCRBY', KEYS[2], bucket .. ':r', 1)
return 1
`;

interface BatchCommands {
  sealmailRegisterRows(numKeys: number, ...keysAndArgs: string[]): Promise<number[]>;
  sealmailSettleRow(...keysAndArgs: (string | number)[]): Promise<number>;
  sealmailSealBatch(
    batch: string,
    rows: string,
    timeline: string,
    problems: string,
    ttl: number,
  ): Promise<string>;
  sealmailReopenRows(
    batch: string,
    rows: string,
    problems: string,
    timeline: string,
    ...lines: string[]
  ): Promise<string[]>;
  sealmailBatchRateLimited(batch: string, timeline: string, started: string): Promise<number>;
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

  /**
   * @param retentionSeconds - how long a finished batch is kept. @defaultValue 90 days
   */
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly retentionSeconds = 90 * 86_400,
  ) {
    if (!('sealmailRegisterRows' in redis)) {
      redis.defineCommand('sealmailRegisterRows', { lua: REGISTER });
      redis.defineCommand('sealmailSettleRow', { numberOfKeys: 7, lua: SETTLE });
      redis.defineCommand('sealmailSealBatch', { numberOfKeys: 4, lua: SEAL });
      redis.defineCommand('sealmailReopenRows', { numberOfKeys: 4, lua: REOPEN });
      redis.defineCommand('sealmailBatchRateLimited', { numberOfKeys: 2, lua: RATE_LIMITED });
    }
    this.commands = redis as unknown as BatchCommands;
  }

  /** Creates the batch, or re-opens it for more rows when the id exists. */
  async open(batchId: string, source: string): Promise<void> {
    const key = this.keys.batch(batchId);
    const now = Date.now();
    await this.redis
      .multi()
      .persist(key)
      .persist(this.keys.batchRows(batchId))
      .persist(this.keys.batchTimeline(batchId))
      .persist(this.keys.batchProblems(batchId))
      .hsetnx(key, 'createdAt', now)
      .hset(key, 'source', source, 'state', 'enqueuing')
      .zadd(this.keys.batches, 'NX', now, batchId)
      .exec();
  }

  /**
   * Stores rows the batch does not have yet. Answers, per row: `queue` when it needs a job
   * (new, or still pending from an earlier run), `already_sent` when its (order, recipient)
   * pair was sent before (and not `resend`), `settled` otherwise.
   */
  async register(
    batchId: string,
    rows: readonly { record: RowRecord; sent: SentMarker | undefined }[],
    resend: boolean,
  ): Promise<RegisterResult[]> {
    if (rows.length === 0) return [];
    const rowsKey = this.keys.batchRows(batchId);
    const result = await this.commands.sealmailRegisterRows(
      3 + rows.length,
      this.keys.batch(batchId),
      rowsKey,
      this.keys.batchProblems(batchId),
      // Rows with nothing to check point at a key that exists, in the same slot.
      ...rows.map((row) => row.sent?.key ?? rowsKey),
      resend ? '1' : '0',
      ...rows.flatMap((row) => [
        String(row.record.line),
        encodeRow(row.record),
        row.sent?.field ?? '',
      ]),
    );
    return result.map((code) =>
      code === 1 || code === 2 ? 'queue' : code === 3 ? 'already_sent' : 'settled',
    );
  }

  /** Marks the end of enqueueing. */
  async seal(batchId: string): Promise<void> {
    await this.commands.sealmailSealBatch(
      this.keys.batch(batchId),
      this.keys.batchRows(batchId),
      this.keys.batchTimeline(batchId),
      this.keys.batchProblems(batchId),
      this.retentionSeconds,
    );
  }

  /**
   * Records a row's final outcome once. A `sent` row also marks the (order, recipient) pair
   * as sent for `sentTtlSeconds` and ends its lane's 429 streak. Returns false when the row
   * had already been settled.
   */
  async settle(
    batchId: string,
    record: RowRecord,
    where: { readonly sent: SentMarker; readonly lane: Lane },
    sentTtlSeconds: number,
  ): Promise<boolean> {
    const settled = await this.commands.sealmailSettleRow(
      this.keys.batch(batchId),
      this.keys.batchRows(batchId),
      where.sent.key,
      this.keys.lane(where.lane),
      this.keys.batchTimeline(batchId),
      this.keys.stats,
      this.keys.batchProblems(batchId),
      String(record.line),
      encodeRow(record),
      sentTtlSeconds,
      record.errorCode ?? '',
      where.sent.field,
      this.retentionSeconds,
    );
    return settled === 1;
  }

  /** Counts a 429 answered to one of the batch's requests. */
  async countRateLimited(batchId: string, startedPause: boolean): Promise<void> {
    await this.commands.sealmailBatchRateLimited(
      this.keys.batch(batchId),
      this.keys.batchTimeline(batchId),
      startedPause ? '1' : '0',
    );
  }

  /** Puts the batch's failed rows back to pending; returns the rows reopened. */
  async reopenFailed(batchId: string): Promise<RowRecord[]> {
    const reopened: RowRecord[] = [];
    for await (const chunk of this.problemChunks(batchId)) {
      const failed = chunk.filter((r) => r.status === 'failed');
      if (failed.length === 0) continue;
      const lines = await this.commands.sealmailReopenRows(
        this.keys.batch(batchId),
        this.keys.batchRows(batchId),
        this.keys.batchProblems(batchId),
        this.keys.batchTimeline(batchId),
        ...failed.map((r) => String(r.line)),
      );
      const done = new Set(lines.map(Number));
      reopened.push(...failed.filter((r) => done.has(r.line)));
    }
    return reopened;
  }

  /**
   * Failed and rejected rows by line, a page at a time: up to `limit` rows after line `after`,
   * how many there are in all, and the `after` of the next page (null on the last one).
   */
  async problems(batchId: string, after = 0, limit = 100): Promise<ProblemPage> {
    const key = this.keys.batchProblems(batchId);
    const [lines, total] = await Promise.all([
      this.redis.zrangebyscore(key, `(${after}`, '+inf', 'LIMIT', 0, limit + 1),
      this.redis.zcard(key),
    ]);
    const page = lines.slice(0, limit).map(Number);
    return {
      rows: await this.rowsAt(batchId, page),
      total,
      next: lines.length > limit ? (page.at(-1) ?? null) : null,
    };
  }

  /** Failed and rejected rows in chunks, read before any of them changes. */
  private async *problemChunks(batchId: string): AsyncGenerator<RowRecord[]> {
    const lines = (await this.redis.zrange(this.keys.batchProblems(batchId), 0, -1)).map(Number);
    for (let i = 0; i < lines.length; i += 1_000)
      yield this.rowsAt(batchId, lines.slice(i, i + 1_000));
  }

  private async rowsAt(batchId: string, lines: number[]): Promise<RowRecord[]> {
    if (lines.length === 0) return [];
    const values = await this.redis.hmget(this.keys.batchRows(batchId), ...lines.map(String));
    return lines.flatMap((line, i) => {
      const value = values[i];
      return value ? [decodeRow(line, value)] : [];
    });
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
      rateLimited: Number(hash.rateLimited ?? 0),
      pauses: Number(hash.pauses ?? 0),
    };
  }

  /** Batch ids, newest first. */
  async list(limit = 100): Promise<string[]> {
    return this.redis.zrevrange(this.keys.batches, 0, limit - 1);
  }

  /** Sends, failures and 429s per 10-second bucket, oldest first. */
  async timeline(batchId: string): Promise<TimelinePoint[]> {
    const hash = await this.redis.hgetall(this.keys.batchTimeline(batchId));
    const points = new Map<number, { sent: number; failed: number; rateLimited: number }>();
    for (const [field, value] of Object.entries(hash)) {
      const [at, kind] = field.split(':');
      const point = points.get(Number(at)) ?? { sent: 0, failed: 0, rateLimited: 0 };
      if (kind === 's') point.sent = Number(value);
      else if (kind === 'f') point.failed = Number(value);
      else if (kind === 'r') point.rateLimited = Number(value);
      points.set(Number(at), point);
    }
    return [...points.entries()].sort(([a], [b]) => a - b).map(([at, p]) => ({ at, ...p }));
  }

  /** Rows finished per second over the last `windowMs` (from the timeline). */
  async pace(batchId: string, windowMs = 60_000, now = Date.now()): Promise<number> {
    const points = await this.timeline(batchId);
    const since = now - windowMs;
    const recent = points.filter((p) => p.at + TIMELINE_BUCKET_MS > since);
    const finished = recent.reduce((sum, p) => sum + p.sent + p.failed, 0);
    return (finished * 1000) / windowMs;
  }

  /** Every row of a batch in line order, read 1,000 lines at a time (constant memory). */
  async *rows(batchId: string): AsyncGenerator<RowRecord> {
    const maxLine = Number((await this.redis.hget(this.keys.batch(batchId), 'maxLine')) ?? 0);
    for (let from = 1; from <= maxLine; from += 1_000) {
      const lines = Array.from({ length: Math.min(1_000, maxLine - from + 1) }, (_, i) => from + i);
      yield* await this.rowsAt(batchId, lines);
    }
  }

  /** Global counters: sent, already sent, failures by CertCentral error code. */
  async stats(): Promise<{ sent: number; alreadySent: number; failed: Record<string, number> }> {
    const hash = await this.redis.hgetall(this.keys.stats);
    const failed: Record<string, number> = {};
    for (const [field, value] of Object.entries(hash)) {
      if (field.startsWith('f:')) failed[field.slice(2) || 'unknown'] = Number(value);
    }
    return { sent: Number(hash.s ?? 0), alreadySent: Number(hash.a ?? 0), failed };
  }
}
